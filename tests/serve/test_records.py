"""One record schema: what predict and score_articles make is what the writers, --resume, the report and
the HTTP schema read; scores are rounded only in records, decisions and metrics use exact ones."""
import json

import pytest

from narratives.model import load_model
from narratives.serve.articles import score_articles
from narratives.serve.output import done_sources
from narratives.serve.predict import decide, score_passages
from narratives.serve.records import ArticleResult, PassageResult, article_fields, check_article_record
from narratives.serve.report import load_records

ARTICLES = [{"id": "a", "source": "f:1", "text": "NATO bases encircle Russia from the Balkans, as in 1999.\n\n"
                                             "The weather in Sarajevo was mild on Monday afternoon.",
             "extra": {"outlet": "Example", "scores": "an input field named like a record field"}},
            {"id": "b", "source": "f:2", "error": "f:2: not valid UTF-8"}]


def test_every_record_made_is_valid_under_the_schema(tiny_model):
    recs = list(score_articles([dict(a) for a in ARTICLES], model=tiny_model, min_words=1))
    for rec in recs:
        ArticleResult.model_validate(rec)
        assert set(article_fields()) <= set(rec)
    assert recs[0]["outlet"] == "Example" and recs[0]["input_scores"].startswith("an input")
    clf = load_model(tiny_model)
    for rec in score_passages(clf, ["Kosovo set the precedent for Crimea.", ""]):
        assert set(PassageResult.model_validate(rec).model_dump()) == set(rec)


def test_resume_and_report_read_records_through_the_schema(tiny_model, tmp_path):
    recs = list(score_articles([dict(a) for a in ARTICLES], model=tiny_model))
    out = tmp_path / "scores.jsonl"
    out.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    assert done_sources(out) == {"f:1", "f:2"} and len(load_records(out)) == 2
    broken = dict(recs[0])
    del broken["n_passages"]
    out.write_text(json.dumps(recs[0]) + "\n" + json.dumps(broken) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"scores.jsonl:2: not a record written by narratives score \(n_passages"):
        done_sources(out)
    with pytest.raises(ValueError, match=r"scores.jsonl:2: .*n_passages"):
        load_records(out)
    with pytest.raises(ValueError, match="stance"):
        check_article_record({**recs[0], "stance": "maybe"}, "x:1")


def test_records_round_decisions_do_not(tiny_model):
    clf = load_model(tiny_model)
    texts = ["NATO bases encircle Russia from the Balkans.", "Belgrade hosted a basketball final."]
    exact = decide(clf, texts)
    records = score_passages(clf, texts)
    p, s = clf.score(texts)
    for j, lab in enumerate(clf.labels_):
        assert exact[0]["scores"][lab] == float(p[0, j])
        assert records[0]["scores"][lab] == round(float(p[0, j]), 4)
    assert exact[1]["stance_score"] == float(s[1])
