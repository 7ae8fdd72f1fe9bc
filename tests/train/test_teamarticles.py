"""Team-written article files: schema errors name file and line; the shipped file is valid and split by
source; the decider fits on article rows and is refused when a class is missing."""
from __future__ import annotations

import json

import pytest

from narratives.train.decider import fit_decider, presence_rows
from narratives.train.teamarticles import ArticleError, load_articles

NARR = ("a", "b")


def _row(i, **kw):
    r = {"id": f"A-{i}", "text": f"Headline {i}\n\nBody {i}.", "lang": "en", "labels": {}, "source": "s1",
         "split": "train"}
    r.update(kw)
    return r


def _write(tmp_path, rows):
    f = tmp_path / "arts.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return f


@pytest.mark.parametrize("row, message", [
    (_row(2, labels={"zz": "promotes"}), "unknown narrative 'zz'"),
    (_row(2, labels={"a": "maybe"}), "stance of 'a'"),
    (_row(2, lang="de"), "field 'lang'"),
    (_row(2, split="test"), "field 'split'"),
    (_row(2, extra=1), "unknown field(s) extra"),
    (_row(2, text="  "), "field 'text' must be a non-empty string"),
    (_row(2, labels=["a"]), "field 'labels' must be an object (narrative -> stance)"),
    (_row(1, text="Other text"), "id 'A-1' repeats"),
    (_row(2, split="dev"), "source 's1' is in both splits"),
])
def test_problems_name_file_and_line(tmp_path, row, message):
    f = _write(tmp_path, [_row(1), row])
    with pytest.raises(ArticleError) as exc:
        load_articles(f, NARR)
    assert f"{f}:2: {message}" in str(exc.value)


def test_shipped_articles_are_valid_and_split_by_source():
    arts = load_articles()
    assert len(arts) >= 30 and {a.split for a in arts} == {"train", "dev"}
    assert {a.lang for a in arts} == {"en", "ru", "sr-Cyrl", "sr-Latn", "bs", "hr"}
    assert sum(not a.labels for a in arts) >= 10  # whole on-topic articles without narrative
    by_source: dict[str, set[str]] = {}
    for a in arts:
        by_source.setdefault(a.source, set()).add(a.split)
    assert all(len(s) == 1 for s in by_source.values())


def test_fit_needs_both_classes():
    rec = [{"scores": {"a": 0.9, "b": 0.1}, "stance_score": 0.9}]
    X, y = presence_rows([(rec, [0], {"a": "promotes"})], ["a", "b"], {"a": 0.5, "b": 0.5})
    assert y == [1]  # b, which no article carries, has no rows
    assert presence_rows([(rec, [0], {})], ["a", "b"], {"a": 0.5, "b": 0.5}) == ([], [])
    with pytest.raises(ValueError, match="both classes"):
        fit_decider([(rec, [0], {})], ["a", "b"], {"a": 0.5, "b": 0.5}, stance=False)
