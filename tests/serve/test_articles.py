from narratives.serve.articles import aggregate, score_articles


def _p(score, promo):
    return {"scores": {"x": score, "y": 0.1}, "stance_score": promo, "stance": "promotes" if promo >= .5 else "reports"}


def test_aggregation_rule():
    text = "aaa bbb ccc ddd"
    spans = [(0, 3), (4, 7), (8, 11), (12, 15)]
    passages = [_p(0.9, 0.2), _p(0.6, 0.9), _p(0.3, 0.9), _p(0.7, 0.1)]
    a = aggregate(passages, spans, text, ["x", "y"], {"x": 0.5, "y": 0.5}, max_evidence=2, min_words=1)
    assert a["scores"] == {"x": 0.9, "y": 0.1}  # max over passages
    assert a["narratives"] == ["x"]
    ev = a["evidence"]["x"]
    assert [e["text"] for e in ev] == ["aaa", "ddd"]  # best first, capped at max_evidence
    # weighted promotes probability: (0.9*0.2 + 0.7*0.1) / 1.6 < 0.5
    assert a["stances"] == {"x": "reports"} and a["stance"] == "reports"
    passages[0] = _p(0.9, 0.95)
    a = aggregate(passages, spans, text, ["x", "y"], {"x": 0.5, "y": 0.5}, max_evidence=2, min_words=1)
    assert a["stances"]["x"] == "promotes" and a["stance"] == "promotes"
    none = aggregate([_p(0.2, 0.9)], [(0, 3)], text, ["x", "y"], {"x": 0.5, "y": 0.5}, min_words=1)
    assert none["narratives"] == [] and none["stance"] == "none" and none["evidence"] == {}


def test_a_decider_with_an_evidence_model_decides_from_its_scores_and_shows_the_models_own():
    text = "aaa bbb"
    spans = [(0, 3), (4, 7)]
    d = {"version": 1, "presence": {"coef": [1.0, 0, 0, 0, 0], "intercept": 0.0, "cutoff": 0.5}, "stance": None}
    own = [_p(0.9, 0.8), _p(0.2, 0.8)]            # the model's own: x clearly present
    judged = [_p(0.1, 0.8), _p(0.2, 0.8)]         # the evidence model's: x absent
    a = aggregate(own, spans, text, ["x", "y"], {"x": 0.5, "y": 0.5}, min_words=1, decider=d)
    b = aggregate(own, spans, text, ["x", "y"], {"x": 0.5, "y": 0.5}, min_words=1, decider=d,
                  judged=judged, judged_thresholds={"x": 0.5, "y": 0.5})
    assert a["narratives"] == ["x"] and b["narratives"] == []
    assert b["scores"] == a["scores"]  # the record's scores are still the model's
    c = aggregate(judged, spans, text, ["x", "y"], {"x": 0.5, "y": 0.5}, min_words=1, decider=d,
                  judged=own, judged_thresholds={"x": 0.05, "y": 0.5})   # its own thresholds too: 0.9 >> 0.05
    assert c["narratives"] == ["x"] and [e["start"] for e in c["evidence"]["x"]] == [4]  # evidence: the best shown


def test_passages_under_min_words_are_not_evidence():
    text = "Outlet Name | Section\n\nA long enough passage of seven words."
    spans = [(0, 21), (23, len(text))]
    a = aggregate([_p(0.95, 0.9), _p(0.6, 0.2)], spans, text, ["x", "y"], {"x": 0.5, "y": 0.5}, min_words=5)
    assert a["scores"]["x"] == 0.6 and [e["start"] for e in a["evidence"]["x"]] == [23]
    a = aggregate([_p(0.95, 0.9)], spans[:1], text, ["x", "y"], {"x": 0.5, "y": 0.5}, min_words=5)
    assert a["narratives"] == [] and a["scores"]["x"] == 0.0


def test_records_keep_order_pass_fields_through_and_survive_errors(tiny_model):
    items = [
        {"id": "a", "text": "Kosovo set the precedent.\n\nRain in Sarajevo.", "source": "s", "extra": {"outlet": "X",
                                                                                                     "scores": 1}},
        {"id": "b", "source": "s:2", "error": "s:2: malformed JSON"},
        {"id": "c", "text": "", "source": "s:3", "extra": {}},
    ]
    recs = list(score_articles(items, model=tiny_model, batch_passages=1))
    assert [r["id"] for r in recs] == ["a", "b", "c"]
    a, b, c = recs
    assert a["outlet"] == "X" and a["input_scores"] == 1  # reserved names are prefixed
    assert a["n_passages"] == 2 and a["errors"] == []
    for lab in a["narratives"]:
        for ev in a["evidence"][lab]:
            assert "Kosovo set the precedent.\n\nRain in Sarajevo."[ev["start"]:ev["end"]] == ev["text"]
    assert b["errors"] == ["s:2: malformed JSON"] and b["model_version"] == a["model_version"]
    assert c["n_passages"] == 0 and c["warnings"] == ["article has no text"] and c["stance"] == "none"


def test_batching_does_not_change_results(tiny_model):
    items = [{"id": str(i), "text": f"Crimea copied Kosovo, part {i}.\n\nThe West is to blame.", "source": "x",
              "extra": {}} for i in range(7)]
    one = list(score_articles([dict(i) for i in items], model=tiny_model, batch_passages=1))
    many = list(score_articles([dict(i) for i in items], model=tiny_model, batch_passages=1000))
    assert one == many
