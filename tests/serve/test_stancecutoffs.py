"""Per-language stance cutoffs: the decider's stance probability read at a language's own line, and nothing
else about the article decision changed."""
from __future__ import annotations

import pytest

from narratives.serve.articles import aggregate
from narratives.serve.decider import check_decider, stance_probability
from narratives.serve.stancecutoffs import check_stance_cutoffs, parse_cutoffs, read_at_cutoff

TEXT = "aaa bbb ccc ddd"


def _decider(cutoffs=None):
    stance = {"source": "article_text"} | ({"cutoffs": cutoffs} if cutoffs is not None else {})
    return {"version": 1, "presence": {"coef": [1.0, 0, 0, 0, 0], "intercept": 0.0, "cutoff": 0.5}, "stance": stance}


@pytest.mark.parametrize("p", [0.05, 0.3, 0.399, 0.4, 0.401, 0.45, 0.5, 0.7, 0.999])
@pytest.mark.parametrize("cutoff", [0.2, 0.4, 0.5, 0.65])
def test_a_shifted_probability_crosses_half_exactly_at_the_cutoff(p, cutoff):
    shifted = read_at_cutoff(p, "en", {"en": cutoff})
    assert (shifted >= 0.5) == (p >= cutoff)
    assert (shifted > p) == (cutoff < 0.5) or shifted == pytest.approx(p) or p in (0.0, 1.0)
    assert read_at_cutoff(p, "ru", {"en": cutoff}) == p == read_at_cutoff(p, None, {"en": cutoff})


def test_an_english_article_promotes_at_its_cutoff_and_other_languages_keep_half():
    d = check_decider(_decider({"en": 0.4}))
    passages = [{"scores": {"x": 0.9}, "stance_score": 0.1, "stance": "reports"}]

    def stance(lang, promotes):
        return aggregate(passages, [(0, 3)], TEXT, ["x"], {"x": 0.5}, min_words=1, decider=d,
                         article_promotes=promotes, lang=lang)["stances"]["x"]

    assert stance("en", 0.42) == "promotes" and stance("en", 0.38) == "reports"
    assert stance("ru", 0.42) == stance("hbs-Latn", 0.42) == stance(None, 0.42) == "reports"
    assert stance("ru", 0.5) == "promotes"
    # presence is untouched: the same narratives with or without cutoffs
    plain = aggregate(passages, [(0, 3)], TEXT, ["x"], {"x": 0.5}, min_words=1, decider=_decider(), lang="en",
                      article_promotes=0.42)
    assert plain["narratives"] == ["x"] and plain["stances"]["x"] == "reports"


def test_a_passage_stance_part_is_read_at_the_cutoff_too():
    part = {"coef": [0.0, 0.0, 0.0, 0.0], "intercept": -0.2}  # probability 0.45 whatever the passages say
    d = {"stance": part | {"cutoffs": {"ru": 0.44}}}
    assert stance_probability(d, [0.9], [0.1], [0], 0.5, lang="ru") >= 0.5
    assert stance_probability(d, [0.9], [0.1], [0], 0.5, lang="en") == pytest.approx(0.4502, abs=1e-4)


@pytest.mark.parametrize("bad, field", [
    ({"cutoffs": [0.4]}, "stance.cutoffs: expected an object"),
    ({"cutoffs": {"sr-Latn": 0.4}}, "'sr-Latn' is not a language the detector gives"),
    ({"cutoffs": {"en": 0.0}}, "stance.cutoffs.en: expected a probability"),
    ({"cutoffs": {"en": "0.4"}}, "stance.cutoffs.en: expected a probability"),
    ({"cutoffs": {"en": True}}, "stance.cutoffs.en: expected a probability"),
])
def test_bad_cutoffs_name_the_field(bad, field):
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        check_stance_cutoffs(bad)
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        check_decider(_decider(bad["cutoffs"]))


def test_parsed_specs_merge_and_bad_ones_say_the_form():
    assert parse_cutoffs(["en=0.4", "ru=0.45,und=0.5"]) == {"en": 0.4, "ru": 0.45, "und": 0.5}
    for bad in ("en", "en=", "en=x", "=0.4"):
        with pytest.raises(ValueError):
            parse_cutoffs([bad])
