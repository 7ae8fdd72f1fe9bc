"""The article decider: its features, its validation, and how `score` applies a decider found in the model's
config (a copy of a model with a decider is a new version; the decider changes article decisions only)."""
from __future__ import annotations

import json

import pytest

from narratives.serve.articles import aggregate, score_articles
from narratives.serve.decider import check_decider, presence_features, stance_probability


def _p(score, promo):
    return {"scores": {"x": score, "y": 0.1}, "stance_score": promo, "stance": "promotes" if promo >= .5 else "reports"}


def _decider(coef=(1.0, 0, 0, 0, 0), intercept=0.0, cutoff=0.5, stance=None):
    return {"version": 1, "presence": {"coef": list(coef), "intercept": intercept, "cutoff": cutoff}, "stance": stance}


TEXT = "aaa bbb ccc ddd"
SPANS = [(0, 3), (4, 7), (8, 11), (12, 15)]


def test_features_are_relative_to_the_threshold():
    # same margins whatever the threshold: a score at the threshold has margin 0
    assert presence_features([0.5, 0.5], [0, 1], 0.5)[:2] == presence_features([0.8, 0.8], [0, 1], 0.8)[:2] == [0, 0]
    best, second, n_over, headline, length = presence_features([0.1, 0.9, 0.6, 0.2], [1, 2, 3], 0.5)
    assert best > second > 0 > headline and n_over == pytest.approx(1.0986, abs=1e-3)


def test_decider_can_require_more_than_one_passage():
    # a decider that wants two passages over the threshold: one strong passage alone is not enough
    d = _decider(coef=(0, 2.0, 0, 0, 0))
    one = [_p(0.9, 0.9), _p(0.1, 0.9), _p(0.1, 0.9), _p(0.1, 0.9)]
    two = [_p(0.9, 0.9), _p(0.8, 0.9), _p(0.1, 0.9), _p(0.1, 0.9)]
    th = {"x": 0.5, "y": 0.5}
    assert aggregate(one, SPANS, TEXT, ["x", "y"], th, min_words=1)["narratives"] == ["x"]  # passage rule
    assert aggregate(one, SPANS, TEXT, ["x", "y"], th, min_words=1, decider=d)["narratives"] == []
    a = aggregate(two, SPANS, TEXT, ["x", "y"], th, min_words=1, decider=d)
    assert a["narratives"] == ["x"] and [e["text"] for e in a["evidence"]["x"]] == ["aaa", "bbb"]


def test_decider_below_threshold_keeps_best_passage_as_evidence():
    d = _decider(intercept=3.0)  # predicts x even when no passage crosses the threshold
    a = aggregate([_p(0.3, 0.9), _p(0.2, 0.1)], SPANS[:2], TEXT, ["x", "y"], {"x": 0.5, "y": 0.9}, min_words=1, decider=d)
    assert "x" in a["narratives"] and [e["text"] for e in a["evidence"]["x"]] == ["aaa"]


def test_stance_part_reads_the_last_mention():
    # claim quoted first (promotes-like passage), refuted later (reports-like): a stance part weighting the
    # last mention says reports, where the score-weighted passage rule says promotes
    d = _decider(stance={"coef": [0, 0, 1.0, 0], "intercept": 0.0, "mention_margin": -1.0})
    passages = [_p(0.95, 0.95), _p(0.1, 0.5), _p(0.1, 0.5), _p(0.6, 0.1)]
    th = {"x": 0.5, "y": 0.5}
    assert aggregate(passages, SPANS, TEXT, ["x", "y"], th, min_words=1)["stances"]["x"] == "promotes"
    assert aggregate(passages, SPANS, TEXT, ["x", "y"], th, min_words=1, decider=d)["stances"]["x"] == "reports"
    assert stance_probability(_decider(), [0.9], [0.9], [0], 0.5) is None  # no stance part: passage rule


@pytest.mark.parametrize("bad, field", [
    ({"version": 2}, "version 1"),
    ({"version": 1, "presence": {"coef": [1, 2], "intercept": 0, "cutoff": 0.5}}, "presence.coef"),
    ({"version": 1, "presence": {"coef": [0] * 5, "intercept": "x", "cutoff": 0.5}}, "presence.intercept"),
    ({"version": 1, "presence": {"coef": [0] * 5, "intercept": 0, "cutoff": 1.5}}, "presence.cutoff"),
    ({"version": 1, "presence": {"coef": [0] * 5, "intercept": 0, "cutoff": 0.5}, "stance": {"coef": [1]}}, "stance.coef"),
    ({"version": 1, "presence": {"coef": [0] * 5, "intercept": 0, "cutoff": 0.5, "offsets": {"x": "high"}}},
     "presence.offsets"),
    ({"version": 1, "presence": {"coef": [0] * 5, "intercept": 0, "cutoff": 0.5}, "stance": {"source": "title"}},
     "stance.source"),
    ({"version": 1, "presence": {"coef": [0] * 5, "intercept": 0, "cutoff": 0.5}, "stance": [1]}, "stance"),
])
def test_bad_decider_names_the_field(bad, field):
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        check_decider(bad)


def test_a_stance_part_that_reads_the_article_text_needs_no_coefficients_and_takes_its_probability():
    d = check_decider({"version": 1, "presence": {"coef": [0] * 5, "intercept": 0, "cutoff": 0.5},
                       "stance": {"source": "article_text"}})
    assert stance_probability(d, [0.9], [0.1], [0], 0.5, article_promotes=0.7) == 0.7  # not the passages' 0.1
    # no probability (the article holds none of the model's n-grams): the passage rule decides
    assert stance_probability(d, [0.9], [0.1], [0], 0.5) is None
    assert stance_probability(d, [0.9], [0.1], [0], 0.5, article_promotes=float("nan")) is None


def test_attached_decider_is_a_new_version_and_changes_score(tiny_model, tmp_path):
    from narratives.model import load_model
    from narratives.train.decider import attach_decider

    out = tmp_path / "with-decider"
    strict = _decider(intercept=-30.0)  # never predicts: every article comes out with no narrative
    h = attach_decider(tiny_model, strict, out)
    base, dec = load_model(str(tiny_model)), load_model(str(out))
    assert h == dec.model_hash_ != base.model_hash_
    assert json.loads((out / "config.json").read_text())["article_decider"]["presence"]["intercept"] == -30.0
    items = [{"id": "a", "text": "Kosovo was the precedent for Crimea, the West made it so.\n\nMore words here now."}]
    assert next(score_articles(items, model=dec))["narratives"] == []
    card = (out / "README.md").read_text(encoding="utf-8")
    assert h[:12] in card and base.model_hash_[:12] not in card  # the card names the new version only
    assert card.count("## Article decider") == 1 and "cutoff 0.5" in card
    same = tmp_path / "plain"
    attach_decider(out, None, same)  # removing the decider gives back the base model's version
    assert load_model(str(same)).model_hash_ == base.model_hash_
    card = (same / "README.md").read_text(encoding="utf-8")
    assert card.count("## Article decider") == 1 and "No decider" in card and h[:12] not in card


def test_offsets_ask_one_narrative_for_more_evidence():
    # same passage scores for x and y; only x has a negative offset, so only x is dropped; a narrative the
    # decider has no offset for (added later) is decided by the shared weights alone
    d = _decider()
    d["presence"]["offsets"] = {"x": -3.0}
    passages = [{"scores": {"x": 0.8, "y": 0.8}, "stance_score": 0.9, "stance": "promotes"}]
    th = {"x": 0.5, "y": 0.5}
    assert check_decider(d) is d
    assert aggregate(passages, [(0, 3)], TEXT, ["x", "y"], th, min_words=1, decider=d)["narratives"] == ["y"]
    del d["presence"]["offsets"]
    assert aggregate(passages, [(0, 3)], TEXT, ["x", "y"], th, min_words=1, decider=d)["narratives"] == ["x", "y"]


def test_fitted_offsets_follow_how_often_a_narrative_is_a_false_alarm():
    from narratives.train.decider import fit_decider

    # x and y get the same passage scores; x is carried by half the articles, y by none of them
    arts = []
    for i in range(40):
        recs = [{"scores": {"x": 0.8, "y": 0.8}, "stance_score": 0.5}, {"scores": {"x": 0.2, "y": 0.2}, "stance_score": 0.5}]
        arts.append((recs, [0, 1], {"x": "promotes"} if i % 2 else {}))
    arts += [([{"scores": {"x": 0.2, "y": 0.8}, "stance_score": 0.5}], [0], {"y": "promotes"})] * 4
    arts += [([{"scores": {"x": 0.2, "y": 0.8}, "stance_score": 0.5}], [0], {})] * 36
    d = fit_decider(arts, ["x", "y"], {"x": 0.5, "y": 0.5}, stance=False, per_narrative=True)
    assert set(d["presence"]["offsets"]) == {"x", "y"} and len(d["presence"]["coef"]) == 5
    assert d["presence"]["offsets"]["x"] > d["presence"]["offsets"]["y"]  # y's strong passages are rarely it
    assert "offsets" not in fit_decider(arts, ["x", "y"], {"x": 0.5, "y": 0.5}, stance=False)["presence"]


def test_a_narrative_no_article_carries_gets_no_offset_and_no_rows():
    """A narrative just added: nothing says how to read its evidence, so it is decided like one added after
    fitting (pooled weights, offset 0), not pushed down by rows that can only be negative."""
    from narratives.serve.decider import presence_probability
    from narratives.train.decider import fit_decider

    arts = []
    for i in range(40):
        recs = [{"scores": {"x": 0.8 if i % 2 else 0.3, "new": 0.8}, "stance_score": 0.5}]
        arts.append((recs, [0], {"x": "promotes"} if i % 2 else {}))
    d = fit_decider(arts, ["x", "new"], {"x": 0.5, "new": 0.5}, stance=False, per_narrative=True)
    assert set(d["presence"]["offsets"]) == {"x"} and d["fitted_on"]["presence_rows"] == 40
    pooled = {**d, "presence": {k: v for k, v in d["presence"].items() if k != "offsets"}}
    strong = [0.8]
    assert presence_probability(d, strong, [0], 0.5, "new") == presence_probability(pooled, strong, [0], 0.5)


def test_an_article_without_eligible_passages_does_not_make_a_narrative_carried():
    from narratives.train.decider import carried

    rec = [{"scores": {"a": 0.9, "b": 0.9}, "stance_score": 0.5}]
    assert carried([(rec, [], {"b": "promotes"}), (rec, [0], {"a": "reports"})], ["a", "b"]) == ["a"]


def test_presence_cutoffs_are_read_per_narrative_and_checked():
    from narratives.serve.decider import check_decider, check_presence_cutoffs, presence_cutoff

    d = {"version": 1, "presence": {"coef": [1.0, 0, 0, 0, 0], "intercept": 0.0, "cutoff": 0.6,
                                    "cutoffs": {"genocide_denial": 0.4}}}
    assert check_decider(d) is d
    assert presence_cutoff(d, "genocide_denial") == 0.4 and presence_cutoff(d, "anti_western") == 0.6
    for bad in ({"genocide_denial": 0.0}, {"genocide_denial": 1}, {"genocide_denial": True}, ["genocide_denial"]):
        with pytest.raises(ValueError, match="presence.cutoffs"):
            check_decider({**d, "presence": {**d["presence"], "cutoffs": bad}})
    with pytest.raises(ValueError, match="'x' is not a narrative of the model"):
        check_presence_cutoffs({"x": 0.5}, ["genocide_denial"])
