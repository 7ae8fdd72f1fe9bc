"""The article's voice: whether a whole article *promotes* the narratives it carries or *reports* them, read from
its full text (TF-IDF word and character n-grams, a balanced logistic regression), not from its passages.

On real pages a narrative's stance is a property of the outlet's voice across the article (a critical outlet
quotes a claim and refutes it paragraphs later; a state outlet relays an official without distance), which the
passage stance head, trained on single passages, reads poorly. This model is fitted on whole articles that carry
a narrative (team-written articles and real pages of the training pool), so it learns the vocabulary of distance
and of advocacy at article level. Serbian Cyrillic is transliterated first, so both scripts share n-grams.

Saved beside a model's other weights as two hashed files (:data:`FILES`): the vocabulary and settings in JSON,
the idf vectors and weights in safetensors; no pickle.

>>> m = ArticleStance(min_df=1).fit(["they claim the so-called genocide", "brothers forever against the West",
...                                  "fact check: the claim is false", "our Slavic brothers stand firm"], [0, 1, 0, 1])
>>> bool(m.promotes_probability(["Slavic brothers stand firm against the West"])[0] > 0.5)
True
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .artifact import ModelLoadError
from .heads import _sigmoid
from .ngrams import NgramBlock
from .translit import transliterate

JSON_FILE = "article_stance.json"
WEIGHTS_FILE = "article_stance.safetensors"
FILES = (JSON_FILE, WEIGHTS_FILE)
ARTICLE_TEXT = "article_text"  # the ``source`` of an article decider's stance part that reads this model


def reads_article_text(decider: dict | None) -> bool:
    """Whether an article decider (``config.json``'s ``article_decider``) takes its stance from this model.

    >>> reads_article_text({"stance": {"source": "article_text"}}), reads_article_text({"stance": None})
    (True, False)
    """
    stance = decider.get("stance") if decider else None
    return isinstance(stance, dict) and stance.get("source") == ARTICLE_TEXT


def _prepare(texts: Sequence[str]) -> list[str]:
    return [transliterate(t) for t in texts]


class ArticleStance:
    """Promotes vs reports of a whole article (scikit-learn estimator style: learned state ends in ``_``)."""

    def __init__(self, C: float = 1.0, min_df: int = 2, word_max_features: int = 200_000,
                 char_max_features: int = 200_000):
        self.C = C
        self.min_df = min_df
        self.word_max_features = word_max_features
        self.char_max_features = char_max_features

    def fit(self, texts: Sequence[str], promotes: Sequence[int]) -> ArticleStance:
        """Fit on whole article texts, each labelled 1 (promotes a narrative it carries) or 0 (reports only).

        >>> ArticleStance().fit(["a"], [1])
        Traceback (most recent call last):
        ...
        ValueError: the article stance model needs articles that promote and articles that report (got 1 and 0)
        """
        y = np.asarray(promotes, dtype=np.int64)
        if len(texts) != len(y):
            raise ValueError(f"{len(texts)} texts but {len(y)} labels")
        if y.sum() == 0 or y.sum() == len(y):
            raise ValueError("the article stance model needs articles that promote and articles that report "
                             f"(got {int(y.sum())} and {int(len(y) - y.sum())})")
        from .baseline import _fit_block, _hstack
        from .heads import logistic_head

        prepared = _prepare(texts)
        fitted = [_fit_block("word", (1, 2), prepared, self.min_df, self.word_max_features),
                  _fit_block("char_wb", (2, 5), prepared, self.min_df, self.char_max_features)]
        x = _hstack([b.transform(prepared) for b in fitted])
        self.coef_, self.intercept_ = logistic_head(x, y, self.C, solver="liblinear", max_iter=2000, random_state=0)
        self.blocks_ = [NgramBlock(b.counter.analyzer, b.counter.ngram_range, b.terms, b.idf) for b in fitted]
        self.n_articles_, self.n_promotes_ = len(y), int(y.sum())
        return self

    def promotes_probability(self, texts: Sequence[str]) -> np.ndarray:
        """The probability that each article *promotes* (rather than reports) the narratives it carries; NaN for
        a text that holds none of the model's n-grams (an empty text, a script it never saw), of which it can
        say nothing.

        >>> m = ArticleStance(min_df=1).fit(["they claim it", "brothers forever"], [0, 1])
        >>> [bool(np.isnan(p)) for p in m.promotes_probability(["brothers", "   "])]
        [False, True]
        """
        prepared, score, start = _prepare(texts), np.full(len(texts), self.intercept_), 0
        known = np.zeros(len(texts), dtype=np.int64)
        for b in self.blocks_:  # scikit-learn's features without importing it (see narratives.model.ngrams)
            part, n = b.dot(prepared, self.coef_[start:start + len(b.terms)])
            score, known, start = score + part, known + n, start + len(b.terms)
        return np.where(known > 0, _sigmoid(score), np.nan)

    def settings(self) -> dict:
        """What the decider's config records of this model (its files hold the rest)."""
        return {"C": self.C, "min_df": self.min_df, "word_max_features": self.word_max_features,
                "char_max_features": self.char_max_features, "n_articles": self.n_articles_,
                "promotes": self.n_promotes_, "files": list(FILES)}

    def files(self) -> dict[str, bytes]:
        """The two files, by name, as bytes (deterministic: sorted keys, no safetensors metadata).

        >>> sorted(ArticleStance(min_df=1).fit(["they claim it", "brothers forever"], [0, 1]).files())
        ['article_stance.json', 'article_stance.safetensors']
        """
        from safetensors.numpy import save

        meta = {"blocks": [{"analyzer": b.analyzer, "ngram_range": list(b.ngram_range), "terms": b.terms}
                           for b in self.blocks_], "settings": self.settings()}
        tensors = {f"block{i}.idf": b.idf.astype(np.float32) for i, b in enumerate(self.blocks_)}
        tensors.update(coef=self.coef_.astype(np.float32), intercept=np.array([self.intercept_], dtype=np.float32))
        return {JSON_FILE: (json.dumps(meta, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8"),
                WEIGHTS_FILE: save(tensors)}

    @classmethod
    def from_dir(cls, path: str | Path) -> ArticleStance:
        """Read the two files from a model directory (whose manifest the caller has verified); a
        ``ModelLoadError`` names the file when they are missing or do not fit together.

        >>> try:
        ...     ArticleStance.from_dir("/nonexistent")
        ... except ModelLoadError as exc:
        ...     print(exc)
        ... # doctest: +ELLIPSIS
        /nonexistent: article_stance.json missing (the decider's stance part reads ...)
        """
        path = Path(path)
        for name in FILES:
            if not (path / name).is_file():
                raise ModelLoadError(f"{path}: {name} missing (the decider's stance part reads the article text)")
        return cls.from_bytes({name: (path / name).read_bytes() for name in FILES}, str(path))

    @classmethod
    def from_bytes(cls, files: dict[str, bytes], where: str = "<memory>") -> ArticleStance:
        """The model from its two files' bytes (as :meth:`files` gives them), so a caller that checks the bytes'
        sums parses exactly what it checked; ``where`` names the model in errors.

        >>> m = ArticleStance(min_df=1).fit(["they claim it", "brothers forever"], [0, 1])
        >>> ArticleStance.from_bytes(m.files()).n_promotes_
        1
        """
        from safetensors.numpy import load

        try:
            meta = json.loads(files[JSON_FILE].decode("utf-8"))
            s = meta["settings"]
            self = cls(C=s["C"], min_df=s["min_df"], word_max_features=s["word_max_features"],
                       char_max_features=s["char_max_features"])
            self.n_articles_, self.n_promotes_ = int(s["n_articles"]), int(s["promotes"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelLoadError(f"{where}/{JSON_FILE}: unreadable article stance model ({exc!r})") from None
        try:  # safetensors raises its own error type for a malformed file
            t = load(files[WEIGHTS_FILE])
            self.blocks_ = [NgramBlock(b["analyzer"], tuple(b["ngram_range"]), list(b["terms"]), t[f"block{i}.idf"])
                            for i, b in enumerate(meta["blocks"])]
            self.coef_, self.intercept_ = t["coef"].astype(np.float64), float(t["intercept"][0])
        except Exception as exc:  # noqa: BLE001 - any failure to read the weights is a load error, by file
            raise ModelLoadError(f"{where}/{WEIGHTS_FILE}: unreadable article stance weights ({exc!r})") from None
        width = sum(len(b.terms) for b in self.blocks_)
        if self.coef_.shape != (width,) or any(len(b.idf) != len(b.terms) for b in self.blocks_):
            raise ModelLoadError(f"{where}/{WEIGHTS_FILE}: weights do not match the vocabulary of {JSON_FILE}")
        return self
