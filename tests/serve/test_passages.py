from hypothesis import given, settings
from hypothesis import strategies as st

from narratives.serve.passages import split_passages


def test_paragraphs_and_offsets():
    text = "Headline\n\n  First para, line one.\nline two.  \n\n\n\nLast."
    spans = split_passages(text)
    assert [text[s:e] for s, e in spans] == ["Headline", "First para, line one.\nline two.", "Last."]


def test_long_paragraph_becomes_sentence_windows_within_the_limit():
    sent = "This is sentence number {} in a long paragraph. "
    text = "".join(sent.format(i) for i in range(60)).strip()
    spans = split_passages(text, max_chars=300, window=3)
    assert len(spans) > 5
    assert all(e - s <= 300 for s, e in spans)
    pieces = [text[s:e] for s, e in spans]
    assert all(p.endswith(".") for p in pieces)
    assert " ".join(pieces) == text  # nothing lost, nothing repeated


def test_closing_quotes_stay_with_their_sentence():
    text = ('He said "Kosovo is Serbia and everyone knows it." ' * 40).strip()
    spans = split_passages(text, max_chars=300)
    assert len(spans) > 3
    assert all(text[s:e].endswith('it."') for s, e in spans)
    assert " ".join(text[s:e] for s, e in spans) == text


def test_a_giant_word_is_cut():
    text = "x" * 5000
    spans = split_passages(text, max_chars=1000)
    assert spans[0] == (0, 1000) and spans[-1][1] == 5000


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=3000))
def test_spans_are_ordered_disjoint_and_trimmed(text):
    spans = split_passages(text, max_chars=200)
    last = 0
    for s, e in spans:
        assert last <= s < e <= len(text)
        assert e - s <= 200
        assert not text[s].isspace() and not text[e - 1].isspace()
        last = e
