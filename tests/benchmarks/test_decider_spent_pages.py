"""benchmarks/decider_spent_pages.py: the spent sets' pages are read as articles from the cache, only those sets',
and a page missing from the cache is named, not skipped."""
from __future__ import annotations

import json
import runpy
from pathlib import Path

import pytest

from narratives.train.realpages import page_id, text_sha256

ROOT = Path(__file__).resolve().parents[2]
TEXT = "Moscow said the West wants to cut the Serbs off from their brothers, the minister told reporters today."


def _ref(url: str, split: str) -> dict:
    return {"id": page_id("Example", url), "url": url, "query": "q", "outlet": "Example", "outlet_kind": "news",
            "lang": "en", "date": None, "labels": {"slavic_brotherhood": "promotes"}, "hard_negative": False,
            "split": split, "sha256": text_sha256(TEXT), "chars": len(TEXT), "rationale": "A relay."}


def test_spent_pages_come_from_their_sets_with_the_cached_text(tmp_path, monkeypatch):
    mod = runpy.run_path(str(ROOT / "benchmarks" / "decider_spent_pages.py"))  # not run as __main__
    cache = tmp_path / "cache"
    monkeypatch.setenv("NARRATIVES_REAL_CACHE", str(cache))
    real = tmp_path / "real"
    real.mkdir()
    refs = {"holdout4": _ref("https://example.org/a", "holdout4"), "holdout5": _ref("https://example.org/b", "holdout5"),
            "holdout3": _ref("https://example.org/c", "holdout3")}
    for split, ref in refs.items():
        (real / f"{split}_x.jsonl").write_text(json.dumps(ref) + "\n", encoding="utf-8")
    cache.mkdir()
    for ref in refs.values():
        (cache / f"{ref['id']}.txt").write_text(TEXT, encoding="utf-8")
    arts = mod["spent_articles"](real, ["holdout4", "holdout5"])
    assert [a.id for a in arts] == [refs["holdout4"]["id"], refs["holdout5"]["id"]]  # not the third set's page
    assert {a.split for a in arts} == {"real-holdout4", "real-holdout5"} and arts[0].text == TEXT
    (cache / f"{refs['holdout5']['id']}.txt").unlink()
    from narratives.train.realcache import CacheError

    with pytest.raises(CacheError, match=refs["holdout5"]["id"]):
        mod["spent_articles"](real, ["holdout4", "holdout5"])
