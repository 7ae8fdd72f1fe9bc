from narratives.model.langid import detect_language
from narratives.train.data import load_passages

GROUP = {"bs": "hbs-Latn", "hr": "hbs-Latn", "sr-Latn": "hbs-Latn"}


def test_every_labelled_passage_is_detected_as_its_language_group():
    wrong = [(p.id, p.lang, d) for p in load_passages() if (d := detect_language(p.text)) not in
             (GROUP.get(p.lang, p.lang), "und")]
    assert wrong == []


def test_short_or_empty_text_is_undetermined():
    assert detect_language("") == "und" and detect_language("123 !!") == "und"
    assert detect_language("Dodik") == "und"
