"""Out-of-fold figures on the real training pool: the whole `e5-real` recipe refitted without each fold.

    python benchmarks/pool_cv.py [--folds 5] [--seed 0] [--cutoff 0.5 ...] [--set KEY=VALUE ...] [--positives-top K]
        [--decider-variant ARGS ...] [--work DIR] [--out pool_cv.json]

The benchmark's dev half has 122 pages and every held-out set costs a labelling round, so a choice between
two recipes has few pages to go on. The training pool has more than a thousand real pages labelled the same way.
Here each fold of the pool (pages dealt out at random within each language) is held out in turn. For each
fold, `e5-real` is built by the README's commands on the rest of the pool: its heads with the real negatives
and positives of the other folds, then its article decider (C 10, the article-text stance and the page
feature, both fitted on the other folds; the decider itself on the team articles and the dev half, as
shipped). The defaults are the recipe before 2026-12-07; the shipped one since is `--set C=16 --positives-top 2
--cutoff 0.55`. The held-out fold's pages are scored as `narratives score` scores articles. Each page is scored by a
model that never saw it, and the figures are computed once over every page, with
:func:`narratives.train.realeval.figures_with_slices`, per language as well.

Each fold runs in a temporary tree: the label folder linked, a copy of `data/real` whose pool file is the rest of
the pool and whose held-out file is the fold (``split: holdout``). A fold takes about 3.5 minutes on a 2-core
machine. With several ``--cutoff`` values or ``--decider-variant`` strings the heads are fitted once per fold and
only the decider again, once per cutoff and variant.
Read these figures as development figures. The pool's labels are the conservative reading: blind second
labellers added narratives more often than they removed them. So a figure here is no replacement for pages
nobody has fitted or chosen on.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADS_KEY = "heads.key"  # beside a fold's heads: what they were fitted from (heads_key)


def deal_folds(pages: list[dict], folds: int, seed: int) -> list[list[dict]]:
    """Pages dealt into ``folds`` groups at random within each language (so every fold has each language).

    >>> ps = [{"id": str(i), "lang": "en" if i % 2 else "ru"} for i in range(8)]
    >>> [sorted(p["lang"] for p in f) for f in deal_folds(ps, 2, 0)]
    [['en', 'en', 'ru', 'ru'], ['en', 'en', 'ru', 'ru']]
    """
    by_lang: dict[str, list[dict]] = defaultdict(list)
    for p in pages:
        by_lang[p["lang"]].append(p)
    out: list[list[dict]] = [[] for _ in range(folds)]
    rng, k = random.Random(seed), 0
    for lang in sorted(by_lang):
        group = by_lang[lang][:]
        rng.shuffle(group)
        for p in group:
            out[k % folds].append(p)
            k += 1
    return out


def fold_tree(work: Path, real: Path, labels: Path, held: list[dict], keep: tuple[str, ...] = ()) -> Path:
    """A tree for one fold: ``labels`` linked, ``real`` copied with the pool less ``held`` in one pool file and
    ``held`` in a hold-out file. Returns the tree's root (its ``real`` folder is ``root / "real"``). An earlier
    tree there is replaced, except its entries named in ``keep`` (the fold's heads and their key, to reuse them)."""
    from narratives.train.realpages import file_split

    held_ids = {p["id"] for p in held}
    aside = work.parent / f".{work.name}-kept"
    shutil.rmtree(aside, ignore_errors=True)
    for name in keep:
        if (work / name).exists():
            aside.mkdir(parents=True, exist_ok=True)
            (work / name).rename(aside / name)
    if work.exists():
        shutil.rmtree(work)
    (work / "real").mkdir(parents=True)
    if aside.exists():
        for entry in aside.iterdir():
            entry.rename(work / entry.name)
        aside.rmdir()
    (work / "labels").symlink_to(labels.resolve(), target_is_directory=True)
    pool: list[str] = []
    for f in sorted(real.glob("*.jsonl")):
        split = file_split(f)
        if split == "train":
            pool += [line for line in f.read_text(encoding="utf-8").splitlines()
                     if line.strip() and json.loads(line)["id"] not in held_ids]
        elif split is None:  # the benchmark's halves (the decider's dev half); the held-out sets stay out
            shutil.copy(f, work / "real" / f.name)
    (work / "real" / "train_cv.jsonl").write_text("\n".join(pool) + "\n", encoding="utf-8")
    (work / "real" / "holdout_cv.jsonl").write_text(
        "".join(json.dumps({**p, "split": "holdout"}, ensure_ascii=False) + "\n" for p in held), encoding="utf-8")
    return work


def heads_key(root: Path, train_args: list[str]) -> str:
    """What a fold's heads were fitted from: the fold tree's pool and hold-out files, every label file and the
    training arguments (sha256). Heads saved under the same key can be reused (``--reuse-heads``).

    >>> import tempfile
    >>> t = Path(tempfile.mkdtemp()); (t / "real").mkdir(); (t / "labels").mkdir()
    >>> heads_key(t, ["--set", "C=8"]) != heads_key(t, [])
    True
    """
    import hashlib

    h = hashlib.sha256(json.dumps(train_args).encode("utf-8"))
    for f in sorted([*(root / "real").glob("*.jsonl"), *(p for p in (root / "labels").rglob("*") if p.is_file())]):
        h.update(f"{f.relative_to(root)}\n".encode() + f.read_bytes())
    return h.hexdigest()


def _run(args: list[str], log) -> None:
    print("$ narratives " + " ".join(args), file=log, flush=True)
    r = subprocess.run([sys.executable, "-m", "narratives.serve.cli", *args], capture_output=True, text=True, cwd=ROOT)
    if r.returncode != 0:
        raise RuntimeError(f"narratives {' '.join(args)} failed ({r.returncode}):\n{r.stderr[-2000:]}")


def main(argv: list[str] | None = None) -> dict:
    """Run the pool cross-validation (arguments as on the command line); returns the figures per cutoff.

    >>> main(["--folds", "5"])["cutoffs"]["0.5"]["macro_f1"]  # doctest: +SKIP
    0.74
    """
    from tqdm import tqdm

    from narratives.model.loading import load_model
    from narratives.train.realcache import cached_texts
    from narratives.train.realeval import figures_with_slices, score_pages
    from narratives.train.realpages import load_references

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cutoff", type=float, action="append", default=None, help="decider cutoff(s) [0.5]")
    ap.add_argument("--real", type=Path, default=ROOT / "data" / "real")
    ap.add_argument("--labels", type=Path, default=ROOT / "data" / "labels")
    ap.add_argument("--positives-top", type=int, default=1, metavar="K",
                    help="the K best-scored passages per narrative of a page as positives (--real-positives-top) [1]")
    ap.add_argument("--set", dest="train_set", action="append", default=[], metavar="KEY=VALUE",
                    help="a training option passed to `narratives train --set` (repeat), to compare a variant")
    ap.add_argument("--decider-variant", dest="variants", action="append", default=None, metavar="ARGS",
                    help="arguments added to `narratives decider fit` (space-separated; repeat to compare several "
                         "over the same heads; '' is the shipped decider) [''], e.g. --decider-variant=--page-narratives")
    ap.add_argument("--work", type=Path, default=None, help="where the fold trees go [a temporary folder]")
    ap.add_argument("--reuse-heads", action="store_true",
                    help="with --work, keep each fold's heads from an earlier run when they were fitted on the same "
                         "pool, labels and training arguments (to compare decider variants in minutes)")
    ap.add_argument("--out", type=Path, default=None, help="write the figures (and every error) as JSON here")
    a = ap.parse_args(argv)
    if a.reuse_heads and a.work is None:
        ap.error("--reuse-heads needs --work (the folder whose fold trees hold the heads)")
    cutoffs = a.cutoff or [0.5]
    variants = a.variants or [""]
    settings = [(v, c) for v in variants for c in cutoffs]  # each keyed "cutoff" or "cutoff variant" in the output
    name_of = {s: f"{s[1]} {s[0]}".strip() for s in settings}
    pool = [r for r in load_references(a.real) if r.page.split == "train"]
    texts = cached_texts(pool)  # a partial cache fails here, naming every missing page
    pages = [r.page.model_dump() for r in pool]
    folds = deal_folds(pages, a.folds, a.seed)
    work = a.work or Path(tempfile.mkdtemp(prefix="pool_cv_"))
    by_id = {r.page.id: r for r in pool}
    records: dict[str, dict[str, dict]] = {name_of[s]: {} for s in settings}
    labels: list[str] = []
    reused = 0
    for k, held in enumerate(tqdm(folds, desc="folds", file=sys.stderr)):
        root = fold_tree(work / f"fold{k}", a.real, a.labels, held, keep=("heads", HEADS_KEY) if a.reuse_heads else ())
        heads = root / "heads"
        extra = [x for kv in a.train_set for x in ("--set", kv)] + ["--real-positives-top", str(a.positives_top)] * (
            a.positives_top != 1)
        fitted_from = heads_key(root, extra)
        if a.reuse_heads and (root / HEADS_KEY).is_file() and (root / HEADS_KEY).read_text() == fitted_from:
            reused += 1
        else:
            shutil.rmtree(heads, ignore_errors=True)
            _run(["train", "--kind", "e5", "--set", "onnx=int8", *extra, "--real-negatives", "--real-positives",
                  "--decider", "--reference", "baseline", "--labels", str(root / "labels"), "--real", str(root / "real"),
                  "--out", str(heads)], sys.stderr)
            (root / HEADS_KEY).write_text(fitted_from)
        held_refs = [by_id[p["id"]] for p in held]
        for n, (variant, c) in enumerate(settings):
            model = root / f"decided-{n}"
            _run(["decider", "fit", str(heads), "--C", "10", "--cutoff", str(c), "--stance-source", "article_text",
                  "--page-model", *variant.split(), "--real", str(root / "real"), "--out", str(model)], sys.stderr)
            clf = load_model(str(model))
            labels = list(clf.labels_)
            for ref, rec in zip(held_refs, score_pages(held_refs, texts, model=clf)):
                records[name_of[(variant, c)]][ref.page.id] = rec
    refs = [by_id[p["id"]] for fold in folds for p in fold]
    if reused:
        print(f"heads reused in {reused} of {a.folds} folds (--reuse-heads)", file=sys.stderr)
    out = {"pages": len(refs), "folds": a.folds, "seed": a.seed, "train_set": a.train_set, "cutoffs": {
        k: figures_with_slices(refs, [records[k][r.page.id] for r in refs], labels) for k in records}}
    if a.out:
        a.out.write_text(json.dumps(out, indent=1, ensure_ascii=False), encoding="utf-8")
    for c, f in out["cutoffs"].items():
        langs = ", ".join(f"{lang} {v['macro_f1']}" for lang, v in sorted(f["per_language"].items()))
        print(f"cutoff {c}: {len(refs)} pool pages out of fold: macro-F1 {f['macro_f1']}, negatives flagged "
              f"{f['negatives_flagged']}, stance {f['stance_accuracy']}; by language: {langs}")
    return out


if __name__ == "__main__":
    main()
