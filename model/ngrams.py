"""TF-IDF n-gram features of a fitted vocabulary, in plain Python and numpy: what scikit-learn's
``CountVectorizer`` (lowercase, ``strip_accents="unicode"``, the default token pattern) followed by sublinear tf,
idf weighting and l2 normalisation computes, without importing scikit-learn, which costs about 130 MB of
resident memory in a process that serves an onnxruntime model (measured: 71 to 202 MB). Fitting still uses
scikit-learn (:func:`narratives.model.baseline._fit_block`); ``tests/model/test_ngrams.py`` checks the two agree.

>>> block = NgramBlock("char_wb", (2, 3), ["ab", "ab ", " a"], np.ones(3))
>>> cols, vals = block.features("AB ab")
>>> sorted(cols.tolist()), [round(float(v), 3) for v in vals]
([0, 1, 2], [0.577, 0.577, 0.577])
>>> words = NgramBlock("word", (1, 2), ["so called", "called"], np.array([2.0, 1.0]))
>>> score, known = words.dot(["So-called, so called", "nothing here"], np.array([1.0, -1.0]))
>>> [round(float(v), 3) for v in score], known.tolist()
([0.447, 0.0], [2, 0])
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence

import numpy as np

_TOKEN = re.compile(r"(?u)\b\w\w+\b")
_WHITE_SPACES = re.compile(r"\s\s+")


def _strip_accents(s: str) -> str:
    try:
        s.encode("ASCII", errors="strict")
        return s
    except UnicodeEncodeError:
        return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


def _word_ngrams(doc: str, lo: int, hi: int) -> Iterator[str]:
    tokens = _TOKEN.findall(doc)
    if lo == 1:
        yield from tokens
    for n in range(max(lo, 2), min(hi, len(tokens)) + 1):
        yield from (" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def _char_wb_ngrams(doc: str, lo: int, hi: int) -> Iterator[str]:
    for w in _WHITE_SPACES.sub(" ", doc).split():
        w = f" {w} "
        for n in range(lo, hi + 1):
            yield from (w[i:i + n] for i in range(max(len(w) - n, 0) + 1))
            if len(w) <= n:  # a short word counts once, at its full length
                break


_ANALYZERS = {"word": _word_ngrams, "char_wb": _char_wb_ngrams}


class NgramBlock:
    """One fitted block of n-gram features: ``analyzer`` (``word`` or ``char_wb``), its ``ngram_range``, the
    vocabulary ``terms`` (column order) and their ``idf``."""

    def __init__(self, analyzer: str, ngram_range: tuple[int, int], terms: Sequence[str], idf: np.ndarray):
        if analyzer not in _ANALYZERS:
            raise ValueError(f"unknown analyzer {analyzer!r} (known: {', '.join(_ANALYZERS)})")
        self.analyzer, self.ngram_range = analyzer, (int(ngram_range[0]), int(ngram_range[1]))
        self.terms, self.idf = list(terms), np.asarray(idf, dtype=np.float64)
        self.index = {t: i for i, t in enumerate(self.terms)}

    def features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The text's non-zero features: column indices and values (sublinear tf times idf, of unit l2 norm;
        both empty when the text has no known n-gram)."""
        index = self.index
        counts = Counter(g for g in _ANALYZERS[self.analyzer](_strip_accents(text.lower()), *self.ngram_range)
                         if g in index)
        cols = np.fromiter((self.index[g] for g in counts), dtype=np.int64, count=len(counts))
        vals = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))) * self.idf[cols]
        return cols, (vals / np.linalg.norm(vals) if len(vals) else vals)

    def dot(self, texts: Sequence[str], weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each text's features times ``weights`` (one per term, or one row of outputs per term), a linear model's
        score with no matrix built, and how many of the block's terms the text holds."""
        out, known = np.zeros((len(texts), *np.shape(weights)[1:])), np.zeros(len(texts), dtype=np.int64)
        for row, text in enumerate(texts):
            cols, vals = self.features(text)
            out[row], known[row] = vals @ weights[cols], len(cols)
        return out, known
