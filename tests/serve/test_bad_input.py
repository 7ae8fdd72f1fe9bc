"""Hostile and broken input to the scoring path: every case yields a record or a clean CLI error."""
import json

import pytest
from click.testing import CliRunner

from narratives.model import load_model
from narratives.serve.articles import score_articles
from narratives.serve.cli import main
from narratives.serve.predict import predict
from narratives.serve.readers import read_articles


def _score(tiny_model, *args):
    return CliRunner().invoke(main, ["score", "--model", str(tiny_model), "--no-progress", *args])


def test_output_that_is_also_an_input_is_refused(tiny_model, tmp_path):
    f = tmp_path / "a.jsonl"
    f.write_text('{"id": "a", "text": "Rain in Sarajevo."}\n')
    r = _score(tiny_model, str(f), "-o", str(f))
    assert r.exit_code == 2 and "also an input" in r.output
    assert f.read_text().startswith('{"id": "a"')
    r = _score(tiny_model, str(tmp_path), "-o", str(f))  # inside an input folder too
    assert r.exit_code == 2


def test_lone_surrogates_are_escaped_not_fatal(tiny_model, tmp_path):
    f = tmp_path / "s.jsonl"
    f.write_text('{"id": "s1", "text": "Crimea did what Kosovo did.", "title": "\\ud800"}\n'
                 '{"id": "s2", "text": "Rain in Sarajevo."}\n')
    r = _score(tiny_model, str(f))
    assert r.exit_code == 0, r.output
    recs = [json.loads(line) for line in r.stdout.splitlines()]
    assert [x["id"] for x in recs] == ["s1", "s2"] and recs[0]["title"] == "\ud800"


def test_deep_nesting_nan_null_id_and_short_rows(tmp_path):
    (tmp_path / "deep.jsonl").write_text("[" * 100000 + "\n" + '{"id": null, "text": "ok", "x": NaN}\n')
    (tmp_path / "short.csv").write_text("id,text,outlet\nr1,hello\n")
    (tmp_path / "quote.csv").write_text('id,text\na,"unterminated\nb,next row\n')
    items = list(read_articles([str(tmp_path)]))
    by_source = {i["source"].rsplit("/", 1)[-1]: i for i in items}
    assert "nested too deeply" in by_source["deep.jsonl:1"]["error"]
    ok = by_source["deep.jsonl:2"]
    assert ok["id"] == ok["source"] and ok["extra"] == {"x": None}
    assert "fewer cells than the header" in by_source["short.csv:2"]["error"]
    assert any("unterminated quote" in i.get("error", "") for i in items if "quote.csv" in i["source"])


def test_bad_options_and_missing_model_are_clean_errors(tiny_model, articles_dir, tmp_path):
    r = _score(tiny_model, str(articles_dir / "neutral.txt"), "--max-evidence", "0")
    assert r.exit_code == 2 and "--max-evidence" in r.output
    out = tmp_path / "o.jsonl"
    r = CliRunner().invoke(main, ["score", str(articles_dir / "neutral.txt"), "--model", str(tmp_path / "nope"),
                                  "-o", str(out)])
    assert r.exit_code == 1 and "neither a model directory" in r.output and not out.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    r = _score(tiny_model, str(empty))
    assert r.exit_code == 1 and "no articles found" in r.stderr


def test_items_without_source_or_with_bad_text(tiny_model):
    recs = list(score_articles([{"id": "a", "text": "Rain in Sarajevo today."}, {"id": "b", "text": 5}],
                               model=tiny_model))
    assert recs[0]["errors"] == [] and recs[0]["source"] is None
    assert "'text' must be a string, got int" in recs[1]["errors"][0]


def test_article_decisions_use_exact_scores_like_predict(tiny_model, monkeypatch):
    clf = load_model(tiny_model)
    texts = [f"Kosovo and the West, part {i}: Crimea followed the same path as Pristina." for i in range(40)]
    for text in texts:
        raw, _ = clf.scores([text])
        for j, lab in enumerate(clf.labels_):
            r = float(raw[0, j])
            if round(r, 4) > r:  # rounding up would cross a threshold placed just above the exact score
                monkeypatch.setitem(clf.thresholds_, lab, (r + round(r, 4)) / 2)
                assert lab not in predict(text, model=tiny_model)["narratives"]
                (rec,) = score_articles([{"id": "x", "text": text}], model=tiny_model, min_words=1)
                assert lab not in rec["narratives"]
                return
    pytest.skip("no score rounded up in this sample")
