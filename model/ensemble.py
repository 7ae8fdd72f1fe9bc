"""An ensemble: every passage scored by each member model, their scores averaged with fixed weights.

Members are other model directories (shipped names, versions, or folders beside this one), pinned by
their model hash like a routed model's. Each member's narrative scores are first rescaled so that its
own threshold lands on 0.5 (see :func:`narratives.model.routed.rescale`); the weighted mean of those is
the ensemble's score, decided at 0.5. The stance score is the weighted mean of the members' promotes
probabilities. Weights are chosen on the dev split (``narratives ensemble --member MODEL=WEIGHT``).

A member may be limited to some languages (``--member minilm-lora=1@en``, languages as
:func:`narratives.model.langid.detect_language` names them): it scores only those passages, and each
passage's weights are renormalised over the members that apply to it. An English-only encoder can so add
its judgement to English passages without adding noise to the others (or their cost).

>>> combine([np.array([[0.2]]), np.array([[0.8]])], [np.array([0.4]), np.array([0.6])], [0.5, 0.5]).round(3).tolist()
[[0.5]]
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .artifact import FORMAT, FORMAT_VERSION, ModelLoadError, save_model_dir, verify_model_dir
from .members import pinned_problem
from .routed import rescale

KIND = "ensemble"


def combine(scores: Sequence[np.ndarray], thresholds: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """Weighted mean of threshold-rescaled member scores (weights sum to 1). A weight may also be a
    column of per-passage weights (shape ``(n, 1)``), each row summing to 1 over the members."""
    return sum(w * rescale(p, t) for p, t, w in zip(scores, thresholds, weights))  # type: ignore[return-value]


class EnsembleNarrativeClassifier:
    """``members`` maps a model reference to its weight (normalised to sum to 1); ``languages`` maps
    some of them to the languages they alone score (the others score every passage)."""

    config_: dict
    model_hash_: str
    path_: str

    def __init__(self, members: dict[str, float], languages: dict[str, Sequence[str]] | None = None):
        self.members = members
        self.languages = languages

    def fit(self, base_dir: str | Path | None = None) -> EnsembleNarrativeClassifier:
        """Load the members (nothing is trained) and check they share one label set."""
        from .members import load_member

        if not self.members or any(not isinstance(w, (int, float)) or not math.isfinite(w) or w <= 0
                                   for w in self.members.values()):
            raise ValueError(f"an ensemble needs members with positive weights, got {self.members}")

        langs = dict(self.languages or {})
        unknown = sorted(set(langs) - set(self.members))
        if unknown:
            raise ValueError(f"languages given for {unknown}, which are not members")
        bad = {ref: v for ref, v in langs.items()
               if isinstance(v, str) or not v or not all(isinstance(x, str) and x for x in v)}
        if bad:
            raise ValueError(f"a member's languages are a non-empty list of language codes, got {bad}")
        if all(ref in langs for ref in self.members):
            raise ValueError("at least one member must score every language (give it no languages)")
        self.languages_ = {ref: tuple(sorted(set(v))) for ref, v in langs.items()}
        self.members_ = {ref: load_member(ref, base_dir) for ref in self.members}
        total = float(sum(self.members.values()))
        self.weights_ = {ref: w / total for ref, w in self.members.items()}
        labels = next(iter(self.members_.values())).labels_
        for ref, m in self.members_.items():
            if m.labels_ != labels:
                raise ValueError(f"member {ref!r} has labels {m.labels_}, another has {labels}")
        self.labels_ = list(labels)
        self.thresholds_ = {lab: 0.5 for lab in self.labels_}
        return self

    def scores(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Narrative scores (threshold 0.5 each) and the probability that a passage promotes."""
        texts = list(texts)
        n, k = len(texts), len(self.labels_)
        langs: list[str] = []
        if self.languages_:
            from .langid import detect_language

            langs = [detect_language(t) for t in texts]
        ps, ths, ss, ws = [], [], [], []
        for ref, m in self.members_.items():
            th = np.array([m.thresholds_[lab] for lab in self.labels_])
            allowed = self.languages_.get(ref)
            use = np.ones(n, dtype=bool) if allowed is None else np.isin(np.array(langs, dtype=object), allowed)
            p, s = np.tile(th, (n, 1)), np.full(n, 0.5)  # placeholders; their weight is 0
            if use.all():
                p, s = m.scores(texts)
            elif use.any():
                sub = [t for t, u in zip(texts, use) if u]
                p[use], s[use] = m.scores(sub)
            ps.append(np.asarray(p, dtype=np.float64).reshape(n, k))
            ss.append(np.asarray(s, dtype=np.float64).reshape(n))
            ths.append(th)
            ws.append(np.where(use, self.weights_[ref], 0.0))
        total = sum(ws)  # > 0: at least one member scores every passage
        ws = [w / total for w in ws]
        return combine(ps, ths, [w[:, None] for w in ws]), sum(w * s for w, s in zip(ws, ss))  # type: ignore

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.scores(texts)[0]

    def config(self) -> dict:
        return {"format": FORMAT, "format_version": FORMAT_VERSION, "kind": KIND, "labels": list(self.labels_),
                "stances": ["promotes", "reports", "none"], "thresholds": dict(self.thresholds_),
                "members": [{"model": ref, "model_hash": m.model_hash_, "kind": m.config_.get("kind"),
                             "weight": round(self.weights_[ref], 6),
                             **({"languages": list(self.languages_[ref])} if ref in self.languages_ else {})}
                            for ref, m in self.members_.items()],
                "versions": {}}

    def save_pretrained(self, path: str | Path, extra_config: dict | None = None,
                        extra_files: Callable[[str], dict[str, str | bytes]] | None = None) -> str:
        return save_model_dir(path, self.config(), None, extra_config, extra_files)

    @classmethod
    def from_pretrained(cls, path: str | Path) -> EnsembleNarrativeClassifier:
        """Load the members named in the config (beside this directory, or in the models directory) and
        check their hashes."""
        manifest = verify_model_dir(path, kind=KIND)
        path, cfg = Path(manifest["path"]), manifest["config"]
        try:
            self = cls({r["model"]: float(r["weight"]) for r in cfg["members"]},
                       {r["model"]: list(r["languages"]) for r in cfg["members"] if "languages" in r})
            self.fit(base_dir=path.parent)
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelLoadError(f"{path}/config.json: bad ensemble ({exc!r})") from None
        for r in cfg["members"]:
            problem = pinned_problem(r["model"], self.members_[r["model"]].model_hash_, r["model_hash"],
                                     "narratives ensemble")
            if problem:
                raise ModelLoadError(f"{path}: {problem}")
        self.config_ = cfg
        self.model_hash_ = manifest["model_hash"]
        self.path_ = str(path)
        return self
