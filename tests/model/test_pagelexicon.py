"""The page lexicon: per-narrative models of a page's character n-grams, saved as two files that load back to the
same logits, refusing a narrative with one kind of page and naming the file that is broken."""
from __future__ import annotations

import numpy as np
import pytest

from narratives.model.artifact import ModelLoadError
from narratives.model.pagelexicon import FILES, JSON_FILE, WEIGHTS_FILE, PageLexicon, reads_page_lexicon

WEST = ["The West plots against Serbia again and again", "Western powers plot a colour revolution in Belgrade",
        "Запад опет спрема обојену револуцију у Београду"]
PLAIN = ["The match ended two to one in Belgrade", "Rain is expected in Belgrade over the weekend",
         "Утакмица је завршена у Београду"]
LABELS = ["anti_western", "rs_secession"]


def _fitted(**kw) -> PageLexicon:
    texts = WEST + PLAIN + ["Dodik again threatens the secession of Republika Srpska", "The court met on Tuesday"]
    carried = [{"anti_western"}] * 3 + [set()] * 3 + [{"rs_secession"}, set()]
    return PageLexicon(LABELS, min_df=1, **kw).fit(texts, carried)


def test_it_ranks_a_page_that_carries_the_narrative_above_one_that_does_not_in_either_script():
    m = _fitted()
    z = m.logits(["Западне силе спремају револуцију", "The weather in Belgrade", "Western plots again"])
    assert z.shape == (3, 2) and m.labels_ == LABELS
    assert z[0, 0] > z[1, 0] and z[2, 0] > z[1, 0]
    assert np.all(np.abs(m.logits(["x" * 10_000])) <= 8.0)


def test_its_files_load_back_to_the_same_logits_and_are_deterministic():
    m = _fitted()
    files = m.files()
    assert sorted(files) == sorted(FILES) and files == _fitted().files()
    back = PageLexicon.from_bytes(files)
    texts = WEST + ["nothing it knows: ##"]
    assert np.allclose(back.logits(texts), m.logits(texts), atol=1e-5)
    assert back.settings() == m.settings() and back.carrying_ == {"anti_western": 3, "rs_secession": 1}


def test_a_narrative_with_one_kind_of_page_or_a_broken_file_is_refused_by_name():
    with pytest.raises(ValueError, match="rs_secession has one kind only"):
        PageLexicon(LABELS, min_df=1).fit(WEST + PLAIN, [{"anti_western"}] * 3 + [set()] * 3)
    files = _fitted().files()
    with pytest.raises(ModelLoadError, match=JSON_FILE):
        PageLexicon.from_bytes({**files, JSON_FILE: b"{"})
    with pytest.raises(ModelLoadError, match=WEIGHTS_FILE):
        PageLexicon.from_bytes({**files, WEIGHTS_FILE: b"not safetensors"})
    other = PageLexicon(LABELS, min_df=1, max_features=5).fit(WEST + PLAIN + ["Dodik secession", "court"],
                                                               [{"anti_western"}] * 3 + [set()] * 3 + [{"rs_secession"}, set()])
    with pytest.raises(ModelLoadError, match="do not match the vocabulary"):
        PageLexicon.from_bytes({**files, WEIGHTS_FILE: other.files()[WEIGHTS_FILE]})


def test_only_a_decider_whose_page_part_has_a_lexicon_reads_it():
    assert reads_page_lexicon({"page": {"coef": [1.0], "intercept": 0.0, "lexicon": {"labels": ["a"]}}})
    assert not reads_page_lexicon({"page": {"coef": [1.0], "intercept": 0.0}})
    assert not reads_page_lexicon({"page": {"lexicon": "yes"}}) and not reads_page_lexicon(None)
