"""An ensemble: every passage scored by each member model, their scores averaged with fixed weights.

Members are other model directories (shipped names, versions, or folders beside this one), pinned by
their model hash like a routed model's. Each member's narrative scores are first rescaled so that its
own threshold lands on 0.5 (see :func:`narratives.model.routed.rescale`); the weighted mean of those is
the ensemble's score, decided at 0.5. The stance score is the weighted mean of the members' promotes
probabilities. Weights are chosen on the dev split (``narratives ensemble --weight``).

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
    """Weighted mean of threshold-rescaled member scores (weights sum to 1)."""
    return sum(w * rescale(p, t) for p, t, w in zip(scores, thresholds, weights))  # type: ignore[return-value]


class EnsembleNarrativeClassifier:
    """``members`` maps a model reference to its weight (normalised to sum to 1)."""

    config_: dict
    model_hash_: str
    path_: str

    def __init__(self, members: dict[str, float]):
        self.members = members

    def fit(self, base_dir: str | Path | None = None) -> EnsembleNarrativeClassifier:
        """Load the members (nothing is trained) and check they share one label set."""
        from .members import load_member

        if not self.members or any(not isinstance(w, (int, float)) or not math.isfinite(w) or w <= 0
                                   for w in self.members.values()):
            raise ValueError(f"an ensemble needs members with positive weights, got {self.members}")

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
        ps, ths, ss, ws = [], [], [], []
        for ref, m in self.members_.items():
            p, s = m.scores(texts)
            ps.append(p)
            ss.append(s)
            ths.append(np.array([m.thresholds_[lab] for lab in self.labels_]))
            ws.append(self.weights_[ref])
        return combine(ps, ths, ws), sum(w * s for w, s in zip(ws, ss))  # type: ignore[return-value]

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.scores(texts)[0]

    def config(self) -> dict:
        return {"format": FORMAT, "format_version": FORMAT_VERSION, "kind": KIND, "labels": list(self.labels_),
                "stances": ["promotes", "reports", "none"], "thresholds": dict(self.thresholds_),
                "members": [{"model": ref, "model_hash": m.model_hash_, "kind": m.config_.get("kind"),
                             "weight": round(self.weights_[ref], 6)} for ref, m in self.members_.items()],
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
            self = cls({r["model"]: float(r["weight"]) for r in cfg["members"]})
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
