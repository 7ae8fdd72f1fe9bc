"""The TF-IDF baseline: word and character n-grams, one-vs-rest logistic regression for the
narratives, and a logistic stance classifier (promotes vs reports) over narrative-bearing passages.

Per-narrative decision thresholds are tuned on out-of-fold scores (folds grouped by source document,
so a document never scores itself). Saved without pickle: vocabularies in JSON, arrays in safetensors.

>>> clf = TfidfNarrativeClassifier(labels=["a", "b"], min_df=1, cv_folds=0)
>>> clf = clf.fit(["red apples", "green pears", "red pears", "blue sky"],
...               [["a"], ["b"], ["a", "b"], []], ["promotes", "reports", "promotes", "none"])
>>> clf.predict_proba(["red apples"]).shape
(1, 2)
"""
from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np

from .artifact import ModelLoadError
from .base import NarrativeModelBase, SavedModel
from .contract import Scores
from .heads import _sigmoid, best_threshold, head_tensors, label_set, logistic_head, read_heads, tuned_thresholds
from .kinds import register_kind

__all__ = ["KIND", "TfidfNarrativeClassifier", "best_threshold"]

KIND = "tfidf-logreg"


def _versions() -> dict[str, str]:
    import safetensors
    import scipy
    import sklearn

    return {"numpy": np.__version__, "scipy": scipy.__version__, "scikit-learn": sklearn.__version__,
            "safetensors": safetensors.__version__}


class _Block:
    """One fitted TF-IDF block (word or char n-grams), rebuilt from plain arrays: no pickle needed."""

    def __init__(self, analyzer: str, ngram_range: tuple[int, int], terms: list[str], idf: np.ndarray):
        from sklearn.feature_extraction.text import CountVectorizer

        self.terms, self.idf = terms, idf.astype(np.float64)
        self.counter = CountVectorizer(
            analyzer=analyzer, ngram_range=tuple(ngram_range), lowercase=True, strip_accents="unicode",
            vocabulary={t: i for i, t in enumerate(terms)}, dtype=np.float64,
        )

    def transform(self, texts: Sequence[str]):
        from sklearn.preprocessing import normalize

        x = self.counter.transform(texts)
        x.data = 1.0 + np.log(x.data)  # sublinear tf
        x = x.multiply(self.idf).tocsr()
        return normalize(x, norm="l2", copy=False)


def _fit_block(analyzer: str, ngram_range: tuple[int, int], texts: Sequence[str], min_df: int,
               max_features: int) -> _Block:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(analyzer=analyzer, ngram_range=ngram_range, lowercase=True, strip_accents="unicode",
                          sublinear_tf=True, min_df=min_df, max_features=max_features, dtype=np.float64)
    vec.fit(texts)
    terms = [t for t, _ in sorted(vec.vocabulary_.items(), key=lambda kv: kv[1])]
    return _Block(analyzer, ngram_range, terms, vec.idf_)


@register_kind(KIND, aliases=("baseline", "tfidf"),
               options={"C": "C", "seed": "random_state", "few_shot_below": "few_shot_below"})
class TfidfNarrativeClassifier(NarrativeModelBase):
    """Multi-label narrative classifier plus stance, on TF-IDF features (scikit-learn estimator style)."""

    def __init__(self, labels: Sequence[str] | None = None, C: float = 8.0, min_df: int = 2,
                 word_max_features: int = 40000, char_max_features: int = 60000, cv_folds: int = 5,
                 random_state: int = 0, few_shot_below: int = 30):
        self.labels = labels
        self.C = C
        self.min_df = min_df
        self.word_max_features = word_max_features
        self.char_max_features = char_max_features
        self.cv_folds = cv_folds
        self.random_state = random_state
        self.few_shot_below = few_shot_below

    # ---- training -------------------------------------------------------------------------------
    def _fit_arrays(self, texts, Y, promotes, has_narr, prior=None):
        if prior is not None:  # description-prior rows: narrative heads and vocabulary only, never the stance head
            texts, Y = list(texts) + prior[0], np.vstack([Y, prior[1]])
            promotes, has_narr = np.r_[promotes, np.zeros(len(prior[0]), dtype=promotes.dtype)], \
                np.r_[has_narr, np.zeros(len(prior[0]), dtype=bool)]
        blocks = [
            _fit_block("word", (1, 2), texts, self.min_df, self.word_max_features),
            _fit_block("char_wb", (2, 5), texts, self.min_df, self.char_max_features),
        ]
        x = _hstack([b.transform(texts) for b in blocks])
        ws, bs = zip(*(self._head(x, Y[:, j]) for j in range(Y.shape[1]))) if Y.shape[1] else ((), ())
        sw, sb = self._head(x[has_narr], promotes[has_narr])
        return blocks, np.array(ws).reshape(Y.shape[1], x.shape[1]), np.array(bs), sw, sb

    def fit(self, texts: Sequence[str], narratives: Sequence[Sequence[str]], stances: Sequence[str],
            groups: Sequence[str] | None = None, priors: dict[str, Sequence[str]] | None = None, **_unused
            ) -> TfidfNarrativeClassifier:
        """Fit on passages with their narrative lists and stances; ``groups`` (source documents) keep
        threshold-tuning folds honest.

        ``priors`` maps narratives to texts that describe them (the taxonomy's name, description and cues).
        A narrative with fewer than ``few_shot_below`` labelled passages gets its prior texts as extra
        positive rows for its head (few-shot: the label description acts as a prior); the stance head and
        the threshold folds' held-out rows never see them.
        """
        texts = list(texts)
        if not texts:
            raise ValueError("cannot fit on zero passages")
        labels = label_set(self.labels, narratives)
        Y = np.array([[n in ns for n in labels] for ns in narratives], dtype=np.int64).reshape(len(texts), len(labels))
        promotes = np.array([s == "promotes" for s in stances], dtype=np.int64)
        has_narr = Y.sum(1) > 0
        self.labels_ = labels
        self.few_shot_ = [lab for j, lab in enumerate(labels) if Y[:, j].sum() < self.few_shot_below
                          and (priors or {}).get(lab)]
        rows = [(lab, t) for lab in self.few_shot_ for t in (priors or {})[lab]]
        prior = ([t for _, t in rows], np.array([[r == lab for lab in labels] for r, _ in rows], dtype=np.int64)
                 .reshape(len(rows), len(labels))) if rows else None
        self.blocks_, self.coef_, self.intercept_, self.stance_coef_, self.stance_intercept_ = \
            self._fit_arrays(texts, Y, promotes, has_narr, prior)
        self.thresholds_, self.oof_scores_ = self._tune_thresholds(texts, Y, promotes, has_narr, groups, prior)
        return self

    def _head(self, x, y):
        return logistic_head(x, y, self.C, solver="liblinear", max_iter=1000, random_state=self.random_state)

    def _tune_thresholds(self, texts, Y, promotes, has_narr, groups, prior=None):
        def fold_scores(tr, te):
            blocks, W, b, _, _ = self._fit_arrays([texts[i] for i in tr], Y[tr], promotes[tr], has_narr[tr], prior)
            return _sigmoid(_hstack([blk.transform([texts[i] for i in te]) for blk in blocks]) @ W.T + b)

        return tuned_thresholds(self.labels_, Y, groups, self.cv_folds, fold_scores)

    # ---- inference ------------------------------------------------------------------------------
    def _features(self, texts: Sequence[str]):
        return _hstack([b.transform(texts) for b in self.blocks_])

    def score(self, passages: Sequence[str], langs: Sequence[str] | None = None) -> Scores:
        """Narrative scores and the probability that each passage *promotes* (vs reports); ``langs`` unused."""
        x = self._features(list(passages))
        return Scores(_sigmoid(x @ self.coef_.T + self.intercept_), _sigmoid(x @ self.stance_coef_ + self.stance_intercept_))

    # ---- persistence ----------------------------------------------------------------------------
    def _versions(self) -> dict[str, str]:
        return _versions()

    def _kind_config(self) -> dict:
        return {"params": {"C": self.C, "min_df": self.min_df, "word_max_features": self.word_max_features,
                           "char_max_features": self.char_max_features, "cv_folds": self.cv_folds,
                           "random_state": self.random_state, **self._few_shot_params()},
                "blocks": [{"analyzer": b.counter.analyzer, "ngram_range": list(b.counter.ngram_range)}
                           for b in self.blocks_]}

    def _few_shot_params(self) -> dict:
        """Few-shot settings, recorded only when a narrative used its prior (otherwise they had no effect on
        the weights, and leaving them out keeps the versions of models trained before priors existed)."""
        used = list(getattr(self, "few_shot_", []))
        return {"few_shot_below": self.few_shot_below, "few_shot": used} if used else {}

    def _weights(self):
        vocab = json.dumps({f"block{i}": b.terms for i, b in enumerate(self.blocks_)}, ensure_ascii=False)
        tensors = {f"block{i}.idf": b.idf.astype(np.float32) for i, b in enumerate(self.blocks_)}
        tensors.update(head_tensors(self.coef_, self.intercept_, self.stance_coef_, self.stance_intercept_,
                                    flat_stance=True))
        return tensors, {"vocab.json": vocab}

    @classmethod
    def _from_saved(cls, saved: SavedModel, **_unused) -> TfidfNarrativeClassifier:
        cfg = saved.config
        vocab = saved.json("vocab.json")
        t = saved.tensors()
        params = dict(cfg["params"])
        self = cls(labels=cfg["labels"], **{k: v for k, v in params.items() if k != "few_shot"})
        self.few_shot_ = list(params.get("few_shot", []))
        self.labels_ = list(cfg["labels"])
        self.thresholds_ = {k: float(v) for k, v in cfg["thresholds"].items()}
        self.blocks_ = [_Block(b["analyzer"], tuple(b["ngram_range"]), vocab[f"block{i}"],
                               t[f"block{i}.idf"]) for i, b in enumerate(cfg["blocks"])]
        self.coef_, self.intercept_, self.stance_coef_, self.stance_intercept_ = \
            read_heads(t, len(self.labels_), str(saved.path))
        if self.coef_.shape != (len(self.labels_), sum(len(b.terms) for b in self.blocks_)):
            raise ModelLoadError(f"{saved.path}: weight shape {self.coef_.shape} does not match labels and vocabulary")
        self.oof_scores_ = None
        return self


def _hstack(blocks):
    from scipy.sparse import hstack

    return hstack(blocks, format="csr")
