"""Property-based tests: predict and article scoring on arbitrary Unicode never crash or hang."""
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from narratives.serve import predict, score_articles

TEXT = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=("Cs",)), max_size=400)
ODD = st.sampled_from(["", " ", "\n\n\n", "\u200f\u202e", "\x00\x01\x1b[31m", "a" * 5000, "ж" * 3000,
                       "Kosovo\u00a0je\u2028Srbija", "\ufeff", "🇷🇸🇷🇺" * 50])
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(st.lists(st.one_of(TEXT, ODD), min_size=1, max_size=5))
def test_predict_returns_a_valid_record_for_any_text(tiny_model, texts):
    recs = predict(texts, model=tiny_model)
    assert len(recs) == len(texts)
    for text, rec in zip(texts, recs):
        assert all(0.0 <= v <= 1.0 for v in rec["scores"].values())
        assert (rec["stance"] == "none") == (not rec["narratives"])
        if not text.strip():
            assert rec["warnings"] == ["empty text"]


@SETTINGS
@given(st.lists(st.one_of(TEXT, ODD), min_size=1, max_size=4))
def test_article_scoring_keeps_every_article_and_valid_offsets(tiny_model, texts):
    items = [{"id": str(i), "text": t, "source": "prop"} for i, t in enumerate(texts)]
    recs = list(score_articles(items, model=tiny_model, min_words=1))
    assert [r["id"] for r in recs] == [str(i) for i in range(len(texts))]
    for text, rec in zip(texts, recs):
        assert rec["errors"] == []
        for evidence in rec["evidence"].values():
            for e in evidence:
                assert 0 <= e["start"] < e["end"] <= len(text) and text[e["start"]:e["end"]] == e["text"]
