"""``narratives labels check``: validate every label file and the dataset's bar.

Errors (exit 1): schema problems, unknown ids, stance/narrative mismatch, duplicate ids, duplicate or
near-duplicate texts, a source in several splits, a changed frozen test split, counts below target.

>>> r = check_labels()               # doctest: +SKIP
>>> r.errors                         # doctest: +SKIP
[]
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from narratives.model.paths import corpus_dir, labels_dir
from narratives.model.taxonomy import Taxonomy, TaxonomyError, load_taxonomy
from narratives.model.textfiles import MAX_CONFIG_BYTES, load_yaml, read_small_text

from .data import SEED_FILE, Passage, duplicate_ids, load_passage_file, load_seed_spans, passage_files
from .datacard import START, card_is_current
from .ls_interface import interface_problems
from .passage_rule import bounds, word_problem
from .splits import lock_problems, source_conflicts

NEAR_DUP = 0.85  # cosine of character 3-5-gram TF-IDF vectors


@dataclass
class CheckResult:
    errors: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    counts: dict = field(default_factory=dict)


def _norm(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


def near_duplicates(passages: list[Passage], threshold: float = NEAR_DUP) -> list[tuple[int, int, float]]:
    """Index pairs of passages whose character n-gram TF-IDF cosine is at least ``threshold``."""
    if len(passages) < 2:
        return []
    from sklearn.feature_extraction.text import TfidfVectorizer

    x = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True).fit_transform(
        [_norm(p.text) for p in passages])
    sim = (x @ x.T).tocoo()
    return sorted((int(i), int(j), float(v)) for i, j, v in zip(sim.row, sim.col, sim.data) if i < j and v >= threshold)


def _load_targets(labels: Path, errors: list[tuple[str, str]]) -> dict:
    """``targets.yaml`` as a dict ({} when absent); a malformed file is reported (file and field), not raised."""
    import yaml

    f = labels / "targets.yaml"
    if not f.exists():
        return {}
    try:
        t = load_yaml(read_small_text(f, MAX_CONFIG_BYTES))
    except ValueError as exc:  # too large or not UTF-8; the message names the file (and line)
        errors.append((str(f), str(exc).removeprefix(f"{f}: ")))
        return {}
    except (OSError, yaml.YAMLError, RecursionError) as exc:
        errors.append((str(f), f"cannot parse: {exc}"))
        return {}
    if t is None:
        return {}
    ints = ("multi_label", "hard_negatives", "non_english", "total")
    ok = (isinstance(t, dict) and isinstance(t.get("narratives", []), list)
          and isinstance(t.get("per_narrative", {}), dict) and isinstance(t.get("words", {}), dict)
          and all(isinstance(t.get(k, 0), int) for k in ints)
          and isinstance(t.get("keyword_free_promotes", 0), (int, float)))
    if not ok:
        errors.append((str(f), "expected a mapping: narratives (list), per_narrative (mapping), words (mapping), "
                               f"{', '.join(ints)} (integers), keyword_free_promotes (number)"))
        return {}
    bad = [f"per_narrative.{k}" for k, v in t.get("per_narrative", {}).items()
           if k not in ("promotes", "reports") or not _is_int(v)]
    bad += [f"words.{k}" for k, v in t.get("words", {}).items() if k not in ("min", "max") or not _is_int(v)]
    bad += [f"narratives[{i}]" for i, n in enumerate(t.get("narratives", [])) if not isinstance(n, str)]
    hl = t.get("headlines", {})
    if not (isinstance(hl, dict) and set(hl) <= {"files", "words"} and isinstance(hl.get("files", []), list)
            and all(isinstance(x, str) and x for x in hl.get("files", []))
            and isinstance(hl.get("words", {}), dict)
            and all(k in ("min", "max") and _is_int(v) for k, v in hl.get("words", {}).items())):
        errors.append((str(f), "headlines takes files (a list of label file names) and words (min/max integers)"))
        return {}
    if bad:
        errors.append((str(f), f"field(s) {', '.join(bad)}: per_narrative takes promotes/reports and words takes "
                               "min/max, each an integer; narratives is a list of ids"))
        return {}
    return t


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def dataset_counts(passages: list[Passage], tax: Taxonomy) -> dict:
    c: Counter = Counter()
    kw_free: Counter = Counter()
    for p in passages:
        for n in p.narratives:
            c[(n, p.stance)] += 1
            if p.stance == "promotes" and p.lang == "en":
                c[(n, "promotes_en")] += 1
                if not any(k in p.text.lower() for k in tax.get(n).keywords):
                    kw_free[n] += 1
    return {
        "total": len(passages),
        "per_narrative": {n: {"promotes": c[(n, "promotes")], "reports": c[(n, "reports")]} for n in tax.ids},
        "multi_label": sum(len(p.narratives) > 1 for p in passages),
        "hard_negatives": sum(not p.narratives for p in passages),
        "non_english": sum(p.lang != "en" for p in passages),
        "languages": dict(sorted(Counter(p.lang for p in passages).items())),
        "splits": dict(sorted(Counter(p.split or "unassigned" for p in passages).items())),
        "keyword_free_promotes": {n: round(kw_free[n] / c[(n, "promotes_en")], 3) if c[(n, "promotes_en")] else None
                                  for n in tax.ids},
    }


def check_labels(labels: str | Path | None = None, corpus: str | Path | None = None,
                 targets: bool = True) -> CheckResult:
    """Validate the label folder; never raises on bad data, everything lands in the result."""
    labels = Path(labels) if labels is not None else labels_dir()
    corpus = Path(corpus) if corpus is not None else corpus_dir()
    res = CheckResult()
    try:
        tax = load_taxonomy(labels / "taxonomy.yaml")
    except TaxonomyError as exc:
        res.errors.append((str(labels / "taxonomy.yaml"), str(exc)))
        return res
    by_file = {f.name: load_passage_file(f, tax, res.errors) for f in passage_files(labels)}
    team: list[Passage] = [p for ps in by_file.values() for p in ps]
    seeds = load_seed_spans(labels / SEED_FILE, corpus, tax, res.errors) if (labels / SEED_FILE).exists() else []
    passages = team + seeds
    res.passages = passages
    res.errors.extend(duplicate_ids(passages))
    res.errors.extend(source_conflicts(passages))
    goals = _load_targets(labels, res.errors) if targets else {}
    hl = goals.get("headlines", {})
    for name, file_passages in by_file.items():
        # Headline files (targets.yaml `headlines.files`) have their own word bounds; the rule is the one
        # `suggest` and `labels import` apply (passage_rule).
        headline = name in hl.get("files", [])
        limits = bounds(goals, headline=headline)
        for p in file_passages:
            problem = word_problem(p.text, limits, "headline" if headline else "passage")
            if problem:
                res.errors.append((p.where, problem))
    seen: dict[str, Passage] = {}
    seed_ids = {p.id for p in seeds}
    for p in passages:
        key = _norm(p.text)
        if key in seen:
            first = seen[key]
            # Boilerplate repeated inside one third-party article ("Documents to download") cannot leak;
            # anywhere else a repeated text is an error (it may even carry contradictory labels).
            seed_boilerplate = (first.source == p.source and first.id in seed_ids and p.id in seed_ids
                                and (first.narratives, first.stance) == (p.narratives, p.stance))
            (res.warnings if seed_boilerplate else res.errors).append((p.where, f"duplicate text of {first.where}"))
        else:
            seen[key] = p
    for i, j, sim in near_duplicates(passages):
        a, b = passages[i], passages[j]
        if _norm(a.text) == _norm(b.text):
            continue
        msg = f"near-duplicate of {a.where} (cosine {sim:.2f})"
        if a.split != b.split:
            res.errors.append((b.where, msg + f" across splits {a.split}/{b.split}"))
        else:
            res.warnings.append((b.where, msg))
    res.errors.extend(lock_problems(labels, passages))
    res.errors.extend(interface_problems(labels, list(tax.ids)))
    card = labels / "README.md"
    if card.exists() and START in card.read_text(encoding="utf-8") and not card_is_current(card, passages):
        res.errors.append((str(card), "the data card's counts are out of date; run `narratives labels card`"))
    res.counts = dataset_counts(passages, tax)
    if targets:
        res.errors.extend(_target_errors(res.counts, goals, str(labels / "targets.yaml")))
    return res


def _target_errors(counts: dict, t: dict, where: str) -> list[tuple[str, str]]:
    errs = []
    for n in t.get("narratives", []):
        for stance, need in t.get("per_narrative", {}).items():
            have = counts["per_narrative"].get(n, {}).get(stance, 0)
            if have < need:
                errs.append((where, f"{n}: {have} passages that {stance.rstrip('s')} it, target {need}"))
        share = counts["keyword_free_promotes"].get(n)
        need_share = t.get("keyword_free_promotes")
        if need_share and (share is None or share < need_share):
            errs.append((where, f"{n}: {share} of English promoting passages avoid its keywords, target {need_share}"))
    for key in ("multi_label", "hard_negatives", "non_english", "total"):
        if key in t and counts[key] < t[key]:
            errs.append((where, f"{key}: {counts[key]}, target {t[key]}"))
    return errs
