"""Synthetic real-page references for the tests: team-written texts, urls on example.org, a tmp cache
(``$NARRATIVES_REAL_CACHE``). The ``rp`` fixture hands the helpers to a test."""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from narratives.train.realpages import page_id, split_for, text_sha256


def url_in(split: str, stem: str) -> str:
    """An example.org url that falls in ``split`` under the split rule."""
    for i in range(1000):
        url = f"https://example.org/{stem}/{i}"
        if split_for(url) == split:
            return url
    raise AssertionError("no url found")


def reference(url: str, text: str, labels: dict | None = None, lang: str = "en", outlet: str = "Example",
              hard_negative: bool = False, **over) -> dict:
    ref = {"id": page_id(outlet, url), "url": url, "query": "example query", "outlet": outlet,
           "outlet_kind": "news", "lang": lang, "date": "2024-05", "labels": labels or {},
           "hard_negative": hard_negative, "split": split_for(url), "sha256": text_sha256(text), "chars": len(text),
           "rationale": "written by the team for a test"}
    ref.update(over)
    return ref


def write_refs(path: Path, refs: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in refs), encoding="utf-8")
    return path


def cache(cache_dir: Path, ref: dict, text: str) -> None:
    cache_dir.mkdir(parents=True, exist_ok=True)
    (cache_dir / f"{ref['id']}.txt").write_text(text, encoding="utf-8", newline="")


@pytest.fixture()
def rp(tmp_path, monkeypatch) -> SimpleNamespace:
    """Helpers plus ``real`` (a reference folder) and ``cache_dir`` (the page cache, set in the environment)."""
    cache_dir = tmp_path / "cache"
    monkeypatch.setenv("NARRATIVES_REAL_CACHE", str(cache_dir))
    return SimpleNamespace(url_in=url_in, reference=reference, write_refs=write_refs,
                           cache=lambda ref, text: cache(cache_dir, ref, text), real=tmp_path / "real",
                           cache_dir=cache_dir)
