from narratives.train.metrics import narrative_metrics, stance_metrics


def test_narrative_metrics_by_hand():
    gold = [["a"], ["a", "b"], [], ["b"], []]
    pred = [["a"], ["a"], ["b"], ["b"], []]
    m = narrative_metrics(gold, pred, ["a", "b"])
    assert m["per_narrative"]["a"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 2}
    # b: tp 1 (row 4), fp 1 (row 3), fn 1 (row 2)
    assert m["per_narrative"]["b"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert m["macro_f1"] == 0.75
    assert m["micro_f1"] == round(2 * 3 / (2 * 3 + 1 + 1), 4)
    assert m["negatives"] == 2 and m["negatives_flagged"] == 0.5


def test_stance_metrics_separate_head_from_pipeline():
    s = stance_metrics(["promotes", "reports", "none", "promotes"], ["promotes", "none", "none", "reports"],
                       [True, True, False, True], ["promotes", "reports", "reports", "reports"])
    assert s["stance_accuracy"] == 0.5
    assert s["stance_head_accuracy"] == round(2 / 3, 4)
    assert s["stance_confusion"]["matrix"][0] == [1, 1, 0]
