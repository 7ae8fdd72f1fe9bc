"""A routed model: each passage goes to the member model for its detected language.

The members are other model directories (shipped names, or folders beside this one), pinned by their
model hash: a routed model refuses to load if a member changed. Each member decides with its own
thresholds; to keep one decision rule (score >= threshold) across members, a member's scores are
rescaled piecewise-linearly so that its threshold lands on 0.5 (monotone, 0 and 1 fixed), and the routed
model's thresholds are all 0.5.

>>> rescale(np.array([[0.2, 0.9]]), np.array([0.4, 0.6])).round(3).tolist()
[[0.25, 0.875]]
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .artifact import FORMAT, FORMAT_VERSION, ModelLoadError, save_model_dir, verify_model_dir
from .langid import detect_language
from .members import pinned_problem

KIND = "routed"


def rescale(p: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Map each column's threshold to 0.5, linearly below and above it."""
    t = np.clip(thresholds, 1e-6, 1 - 1e-6)
    return np.where(p < t, 0.5 * p / t, 0.5 + 0.5 * (p - t) / (1 - t))


class RoutedNarrativeClassifier:
    """``routes`` maps a detected language (see :func:`narratives.model.langid.detect_language`) to a
    model reference; every other passage goes to ``fallback``."""

    # Set by from_pretrained (a fitted, unsaved model has none of them).
    config_: dict
    model_hash_: str
    path_: str

    def __init__(self, routes: dict[str, str], fallback: str):
        self.routes = routes
        self.fallback = fallback

    def fit(self, base_dir: str | Path | None = None) -> RoutedNarrativeClassifier:
        """Load the members (nothing is trained) and check they share one label set."""
        from .members import load_member

        self.members_ = {lang: load_member(ref, base_dir) for lang, ref in self.routes.items()}
        self.fallback_ = load_member(self.fallback, base_dir)
        labels = self.fallback_.labels_
        for lang, m in self.members_.items():
            if m.labels_ != labels:
                raise ValueError(f"member for {lang!r} has labels {m.labels_}, the fallback has {labels}")
        self.labels_ = list(labels)
        self.thresholds_ = {lab: 0.5 for lab in self.labels_}
        return self

    def _member_scores(self, m, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        p, s = m.scores(texts)
        return rescale(p, np.array([m.thresholds_[lab] for lab in self.labels_])), s

    def languages(self, texts: Sequence[str]) -> list[str]:
        return [detect_language(t) for t in texts]

    def scores(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        texts = list(texts)
        langs = self.languages(texts)
        p = np.zeros((len(texts), len(self.labels_)))
        s = np.zeros(len(texts))
        groups: dict[int, list[int]] = {}
        members = [self.fallback_, *self.members_.values()]
        for i, lang in enumerate(langs):
            m = self.members_.get(lang, self.fallback_)
            groups.setdefault(members.index(m), []).append(i)
        for k, idx in groups.items():
            p[idx], s[idx] = self._member_scores(members[k], [texts[i] for i in idx])
        return p, s

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.scores(texts)[0]

    def config(self) -> dict:
        def ref(name: str, m) -> dict:
            return {"model": name, "model_hash": m.model_hash_, "kind": m.config_.get("kind")}

        return {"format": FORMAT, "format_version": FORMAT_VERSION, "kind": KIND, "labels": list(self.labels_),
                "stances": ["promotes", "reports", "none"], "thresholds": dict(self.thresholds_),
                "routes": {lang: ref(self.routes[lang], m) for lang, m in self.members_.items()},
                "fallback": ref(self.fallback, self.fallback_), "language_detector": "narratives.model.langid",
                "versions": {}}

    def save_pretrained(self, path: str | Path, extra_config: dict | None = None,
                        extra_files: Callable[[str], dict[str, str | bytes]] | None = None) -> str:
        return save_model_dir(path, self.config(), None, extra_config, extra_files)

    @classmethod
    def from_pretrained(cls, path: str | Path) -> RoutedNarrativeClassifier:
        """Load the members named in the config (beside this directory, or shipped) and check their hashes."""
        manifest = verify_model_dir(path, kind=KIND)
        path, cfg = Path(manifest["path"]), manifest["config"]
        try:
            self = cls({lang: r["model"] for lang, r in cfg["routes"].items()}, cfg["fallback"]["model"])
            self.fit(base_dir=path.parent)
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelLoadError(f"{path}/config.json: bad routed model ({exc!r})") from None
        for lang, r in [*cfg["routes"].items(), ("fallback", cfg["fallback"])]:
            m = self.fallback_ if lang == "fallback" else self.members_[lang]
            problem = pinned_problem(r["model"], m.model_hash_, r["model_hash"], "narratives route")
            if problem:
                raise ModelLoadError(f"{path}: {problem} ({lang})")
        self.config_ = cfg
        self.model_hash_ = manifest["model_hash"]
        self.path_ = str(path)
        return self


def describe(cfg: dict) -> str:
    routes = ", ".join(f"{lang} -> {r['model']}" for lang, r in cfg["routes"].items())
    return f"{routes}; everything else -> {cfg['fallback']['model']}"

