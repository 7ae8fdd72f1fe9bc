"""benchmarks/pool_cv.py: the folds are dealt within each language, and a fold's tree holds the rest of the pool
as its pool and the fold as a hold-out file that the reference checks accept."""
from __future__ import annotations

import json
import runpy
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[2]


def _module() -> SimpleNamespace:
    return SimpleNamespace(**runpy.run_path(str(ROOT / "benchmarks" / "pool_cv.py")))  # not run as __main__


def _page(i: int, split: str, lang: str = "ru") -> dict:
    from narratives.train.realpages import page_id, split_for, text_sha256

    url = f"https://example.org/{split}/{i}"
    while split in ("dev", "test") and split_for(url) != split:
        url += "x"
    return {"id": page_id("ex", url), "url": url, "query": "q", "outlet": "ex", "outlet_kind": "news", "lang": lang,
            "date": None, "labels": {}, "hard_negative": True, "split": split, "sha256": text_sha256(str(i)),
            "chars": len(str(i)), "rationale": "r"}


def test_every_page_lands_in_one_fold_and_each_fold_has_each_language():
    mod = _module()
    pages = [_page(i, "train", ["ru", "en", "sr-Cyrl"][i % 3]) for i in range(30)]
    folds = mod.deal_folds(pages, 5, seed=1)
    assert sorted(p["id"] for f in folds for p in f) == sorted(p["id"] for p in pages)
    assert all(sorted({p["lang"] for p in f}) == ["en", "ru", "sr-Cyrl"] and len(f) == 6 for f in folds)
    assert mod.deal_folds(pages, 5, seed=1) == folds and mod.deal_folds(pages, 5, seed=2) != folds


def test_a_fold_tree_holds_the_rest_of_the_pool_and_the_fold_as_hold_out(tmp_path):
    from narratives.train.realpages import load_references

    mod = _module()
    real, labels = tmp_path / "real", tmp_path / "labels"
    real.mkdir()
    labels.mkdir()
    pool = [_page(i, "train") for i in range(6)]
    write = lambda name, rows: (real / name).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    write("train_a.jsonl", pool[:3])
    write("train_b.jsonl", pool[3:])
    write("pages.jsonl", [_page(10, "dev"), _page(11, "test")])
    write("check_a.jsonl", [_page(12, "check")])
    write("holdout_a.jsonl", [_page(13, "holdout")])
    root = mod.fold_tree(tmp_path / "work", real, labels, held=[pool[1], pool[4]])
    assert (root / "labels").resolve() == labels.resolve()
    refs = load_references(root / "real")  # a ReferenceError would name any line the checks refuse
    by_split: dict[str, list[str]] = {}
    for r in refs:
        by_split.setdefault(r.page.split, []).append(r.page.id)
    assert sorted(by_split["train"]) == sorted(p["id"] for p in pool if p not in (pool[1], pool[4]))
    assert sorted(by_split["holdout"]) == sorted([pool[1]["id"], pool[4]["id"]])
    assert sorted(by_split) == ["dev", "holdout", "test", "train"]  # the other held-out sets stay out


def test_a_rebuilt_fold_tree_keeps_its_heads_only_when_asked_and_their_key_follows_the_pool(tmp_path):
    mod = _module()
    real, labels = tmp_path / "real", tmp_path / "labels"
    real.mkdir()
    labels.mkdir()
    (labels / "team.jsonl").write_text("{}\n", encoding="utf-8")
    pool = [_page(i, "train") for i in range(6)]
    (real / "train_a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in pool), encoding="utf-8")
    root = mod.fold_tree(tmp_path / "work", real, labels, held=pool[:2])
    key = mod.heads_key(root, [])
    (root / "heads").mkdir()
    (root / "heads" / "config.json").write_text("{}", encoding="utf-8")
    (root / mod.HEADS_KEY).write_text(key, encoding="utf-8")
    root = mod.fold_tree(tmp_path / "work", real, labels, held=pool[:2], keep=("heads", mod.HEADS_KEY))
    assert (root / "heads" / "config.json").is_file() and (root / mod.HEADS_KEY).read_text(encoding="utf-8") == key
    assert mod.heads_key(root, []) == key
    assert mod.heads_key(root, ["--set", "C=8"]) != key  # other training arguments: other heads
    other = mod.fold_tree(tmp_path / "work", real, labels, held=pool[2:4], keep=("heads", mod.HEADS_KEY))
    assert mod.heads_key(other, []) != key  # another fold: the key tells the kept heads are not its own
    (labels / "team.jsonl").write_text("{}\n{}\n", encoding="utf-8")
    assert mod.heads_key(mod.fold_tree(tmp_path / "work", real, labels, held=pool[:2]), []) != key  # labels changed
    assert not (tmp_path / "work" / "heads").exists()  # not asked to keep: a fresh tree
