"""Train/dev/test splits by source (writing batch or document), stratified, with a frozen test split.

A source never feeds two splits. Sources without a split are assigned greedily to the split whose
label and language counts fall furthest short of its share. Once ``test_split.lock`` exists the test
split is frozen: new sources only go to train or dev, and the label checker fails if any test passage
changes.

>>> frozen_hash([]) [:12]
'e3b0c44298fc'
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

from narratives.model.artifact import atomic_write_text

from .data import SEED_FILE, Passage, passage_files, read_jsonl, sha256_text

RATIOS = {"train": 0.7, "dev": 0.15, "test": 0.15}
LOCK = "test_split.lock"


def _features(p: Passage) -> list[str]:
    return [f"n:{n}:{p.stance}" for n in p.narratives] + ([] if p.narratives else ["neg"]) + [f"lang:{p.lang}"]


def frozen_hash(passages: Iterable[Passage]) -> str:
    """sha256 over the test passages' ids, text hashes, labels, languages and sources, in id order."""
    rows = sorted(f"{p.id}\t{sha256_text(p.text)}\t{','.join(p.narratives)}\t{p.stance}\t{p.lang}\t{p.source}\n"
                  for p in passages)
    return hashlib.sha256("".join(rows).encode()).hexdigest()


class LockError(ValueError):
    """``test_split.lock`` exists but is unreadable."""


def read_lock(labels: Path) -> dict | None:
    """The frozen test split's record, or None before the first freeze; raises :class:`LockError`."""
    f = labels / LOCK
    if not f.exists():
        return None
    try:
        lock = json.loads(f.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        raise LockError(f"{f}: unreadable ({exc})") from None
    if not isinstance(lock, dict) or not isinstance(lock.get("sha256"), str):
        raise LockError(f"{f}: expected a JSON object with a 'sha256' string")
    return lock


def lock_problems(labels: Path, passages: Iterable[Passage]) -> list[tuple[str, str]]:
    """Problems with the frozen test split: an unreadable lock, or test passages that no longer hash to it."""
    where = str(labels / LOCK)
    try:
        lock = read_lock(labels)
    except LockError as exc:
        return [(where, str(exc))]
    if lock is not None and frozen_hash([p for p in passages if p.split == "test"]) != lock["sha256"]:
        return [(where, "the frozen test split changed (a test passage was added, removed, edited or relabelled)")]
    return []


def source_conflicts(passages: Iterable[Passage]) -> list[tuple[str, str]]:
    """Sources whose passages sit in more than one split."""
    seen: dict[str, set[str]] = defaultdict(set)
    where: dict[str, str] = {}
    for p in passages:
        if p.split:
            seen[p.source].add(p.split)
            where.setdefault(p.source, p.where)
    return [(where[s], f"source {s!r} feeds several splits: {', '.join(sorted(v))}") for s, v in seen.items() if len(v) > 1]


def assign_splits(passages: list[Passage], frozen_test: bool, ratios: dict[str, float] = RATIOS) -> dict[str, str]:
    """A split for every source that has none yet (existing assignments are kept).

    A passage without a split in a source that already has one joins that split, except a frozen test
    source, which takes no new passages (:class:`ValueError`): give new passages a new source.
    """
    total: Counter = Counter()
    cur: dict[str, Counter] = {s: Counter() for s in ratios}
    groups: dict[str, Counter] = defaultdict(Counter)
    fixed = {p.source: p.split for p in passages if p.split}
    out: dict[str, str] = {}
    for p in passages:
        if not p.split and p.source in fixed:
            if frozen_test and fixed[p.source] == "test":
                raise ValueError(f"{p.where}: source {p.source!r} is in the frozen test split and takes no new "
                                 "passages; give new passages a new source")
            out[p.source] = fixed[p.source]
    for p in passages:
        feats = _features(p) + ["size"]
        total.update(feats)
        if p.source in fixed:
            cur[fixed[p.source]].update(feats)
        else:
            groups[p.source].update(feats)
    allowed = [s for s in ratios if not (frozen_test and s == "test")]
    share = sum(ratios[s] for s in allowed)
    target = {s: {f: total[f] * ratios[s] / share for f in total} for s in allowed}
    order = sorted(groups, key=lambda g: (-groups[g]["size"], hashlib.sha256(g.encode()).hexdigest()))
    # Every language with enough sources gets at least one in each held-out split, so that per-language
    # figures exist; the greedy pass below balances everything else.
    for lang in sorted({f for g in groups.values() for f in g if f.startswith("lang:")}):
        mine = [g for g in order if groups[g][lang] and g not in out]
        for split in (s for s in allowed if s != "train" and not cur[s][lang]):
            if len(mine) >= 2:  # keep at least one source of the language for training
                g = min(mine, key=lambda g: (-groups[g][lang] / groups[g]["size"], hashlib.sha256(g.encode()).hexdigest()))
                mine.remove(g)
                out[g] = split
                cur[split].update(groups[g])
    # Iterative stratification over groups (after Sechidis et al., 2011): take the rarest feature still
    # unassigned, and give each source that has it to the split that most lacks that feature.
    left = [g for g in order if g not in out]
    while left:
        remaining: Counter = Counter()
        for g in left:
            remaining.update({f: c for f, c in groups[g].items() if f != "size"})
        rarest = min(remaining, key=lambda f: (remaining[f], f)) if remaining else None
        batch = [g for g in left if rarest is None or groups[g][rarest]]
        for g in batch:
            def need(s: str, g: str = g, rarest: str | None = rarest) -> tuple[float, float]:
                own = (target[s][rarest] - cur[s][rarest]) / total[rarest] if rarest else 0.0
                overall = sum(c * (target[s][f] - cur[s][f]) / total[f] for f, c in groups[g].items())
                return own, overall

            room = [s for s in allowed if cur[s]["size"] + groups[g]["size"] / 2 <= target[s]["size"]] or allowed
            best = max(room, key=lambda s: (*need(s), -allowed.index(s)))
            out[g] = best
            cur[best].update(groups[g])
            left.remove(g)
    return out


def write_splits(labels: Path, assignment: dict[str, str]) -> list[Path]:
    """Write the assigned splits into the label files (atomically, file by file); returns changed files."""
    changed = []
    files = passage_files(labels) + ([labels / SEED_FILE] if (labels / SEED_FILE).exists() else [])
    for f in files:
        lines, touched = [], False
        for _, rec, err in read_jsonl(f):
            if rec is None:
                raise ValueError(f"{f}: fix the label file before assigning splits ({err or 'not an object'})")
            src = rec.get("source", rec.get("doc"))
            if rec.get("split") is None and src in assignment:
                rec["split"] = assignment[src]
                touched = True
            lines.append(json.dumps(rec, ensure_ascii=False))
        if touched:
            atomic_write_text(f, "\n".join(lines) + "\n")
            changed.append(f)
    return changed


def freeze_test(labels: Path, passages: list[Passage]) -> dict:
    test = [p for p in passages if p.split == "test"]
    lock = {"sha256": frozen_hash(test), "n": len(test),
            "sources": sorted({p.source for p in test}),
            "note": "The frozen test split. Never tune on it; new sources go to train or dev only."}
    atomic_write_text(labels / LOCK, json.dumps(lock, indent=2) + "\n")
    return lock
