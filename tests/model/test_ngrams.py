"""`NgramBlock` computes what the scikit-learn block it replaces at inference computes."""
from __future__ import annotations

import numpy as np
import pytest

from narratives.model.baseline import _fit_block
from narratives.model.ngrams import NgramBlock

TEXTS = [
    "The so-called genocide, they claim, never happened.\n\nFact-check: the claim is false.",
    "Косово је било преседан за Крим, кажу у Москви.",
    "Kosovo je bilo presedan za Krim; Zapad je to sam napisao.",
    "Запад  снова давит на Сербию —   «цветная революция».",
    "Šta kažu Đukanović i Čović?  Ćuti se.\tI  a  b",
    "",
    "x",
    "NATO NATO nato Nato, NATO!",
]


@pytest.mark.parametrize(("analyzer", "ngram_range"), [("word", (1, 2)), ("char_wb", (2, 5)), ("word", (2, 3))])
def test_the_features_are_scikit_learns(analyzer, ngram_range):
    fitted = _fit_block(analyzer, ngram_range, TEXTS[:5], min_df=1, max_features=100_000)
    ours = NgramBlock(analyzer, ngram_range, fitted.terms, fitted.idf)
    theirs = fitted.transform(TEXTS).toarray()
    for row, text in enumerate(TEXTS):
        dense = np.zeros(len(fitted.terms))
        cols, vals = ours.features(text)
        dense[cols] = vals
        np.testing.assert_allclose(dense, theirs[row], rtol=1e-12, atol=1e-12)
    weights = np.random.RandomState(0).normal(size=len(fitted.terms))
    score, known = ours.dot(TEXTS, weights)
    np.testing.assert_allclose(score, theirs @ weights, rtol=1e-10, atol=1e-12)
    assert known.tolist() == [int(n) for n in (theirs != 0).sum(axis=1)]


def test_an_unknown_analyzer_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown analyzer 'char'"):
        NgramBlock("char", (1, 2), ["a"], np.ones(1))
