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

from collections.abc import Mapping, Sequence

import numpy as np

from .artifact import ModelLoadError
from .base import NarrativeModelBase, SavedModel
from .contract import Scores
from .kinds import MemberLoader, register_kind
from .langid import detect_language, route_language
from .members import check_labels, load_members, pinned_problem

KIND = "routed"


def rescale(p: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Map each column's threshold to 0.5, linearly below and above it."""
    t = np.clip(thresholds, 1e-6, 1 - 1e-6)
    return np.where(p < t, 0.5 * p / t, 0.5 + 0.5 * (p - t) / (1 - t))


@register_kind(KIND, combined=True, tuned_on="its members' own splits")
class RoutedNarrativeClassifier(NarrativeModelBase):
    """``routes`` maps a detected language (see :func:`narratives.model.langid.detect_language`) to a
    model reference; every other passage goes to ``fallback``. Built from members (:meth:`build`), never
    fitted."""

    def __init__(self, routes: dict[str, str], fallback: str):
        self.routes = routes
        self.fallback = fallback

    def build(self, members: Mapping[str, NarrativeModelBase]) -> RoutedNarrativeClassifier:
        """Take the loaded member models (by reference: every route's and the fallback's) and check
        they share one label set; nothing is trained."""
        self.members_ = {lang: members[ref] for lang, ref in self.routes.items()}
        self.fallback_ = members[self.fallback]
        self.labels_ = check_labels({**{f"for {lang!r}": m for lang, m in self.members_.items()},
                                     "the fallback": self.fallback_})
        self.thresholds_ = {lab: 0.5 for lab in self.labels_}
        return self

    def refs(self) -> list[str]:
        """Every member reference, fallback first."""
        return list(dict.fromkeys([self.fallback, *self.routes.values()]))

    def _member_scores(self, m, texts: list[str], langs: list[str]) -> tuple[np.ndarray, np.ndarray]:
        p, s = m.score(texts, langs=langs)
        return rescale(p, np.array([m.thresholds_[lab] for lab in self.labels_])), s

    def languages(self, texts: Sequence[str]) -> list[str]:
        return [detect_language(t) for t in texts]

    def score(self, passages: Sequence[str], langs: Sequence[str] | None = None) -> Scores:
        """Each passage scored by the member for its language (detected here unless given; the members
        get the languages too, so no passage is detected twice)."""
        texts = list(passages)
        langs = self.languages(texts) if langs is None else list(langs)
        p = np.zeros((len(texts), len(self.labels_)))
        s = np.zeros(len(texts))
        groups: dict[int, list[int]] = {}
        members = [self.fallback_, *self.members_.values()]
        for i, lang in enumerate(langs):
            m = self.members_.get(route_language(lang), self.fallback_)  # sq, mk, bg, uk: langid.ROUTE_AS
            groups.setdefault(members.index(m), []).append(i)
        for k, idx in groups.items():
            p[idx], s[idx] = self._member_scores(members[k], [texts[i] for i in idx], [langs[i] for i in idx])
        return Scores(p, s)

    @classmethod
    def uses_language(cls, config: dict) -> bool:
        return True

    def _kind_config(self) -> dict:
        def ref(name: str, m) -> dict:
            return {"model": name, "model_hash": m.model_hash_, "kind": m.config_.get("kind")}

        return {"routes": {lang: ref(self.routes[lang], m) for lang, m in self.members_.items()},
                "fallback": ref(self.fallback, self.fallback_), "language_detector": "narratives.model.langid"}

    @classmethod
    def describe(cls, config: dict) -> list[str]:
        routes = ", ".join(f"{lang} -> `{r['model']}` ({r['model_hash'][:12]})" for lang, r in config["routes"].items())
        fb = config["fallback"]
        return [f"- routes: {routes}; every other language -> `{fb['model']}` ({fb['model_hash'][:12]}); "
                f"language detector `{config.get('language_detector')}`"]

    @classmethod
    def _from_saved(cls, saved: SavedModel, member_loader: MemberLoader | None = None, **_unused
                    ) -> RoutedNarrativeClassifier:
        """Load the members named in the config (beside this directory, or shipped) and check their hashes."""
        path, cfg = saved.path, saved.config
        try:
            self = cls({lang: r["model"] for lang, r in cfg["routes"].items()}, cfg["fallback"]["model"])
            self.build(load_members(self.refs(), path.parent, member_loader))
        except ModelLoadError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelLoadError(f"{path}/config.json: bad routed model ({exc!r})") from None
        for lang, r in [*cfg["routes"].items(), ("fallback", cfg["fallback"])]:
            m = self.fallback_ if lang == "fallback" else self.members_[lang]
            problem = pinned_problem(r["model"], m.model_hash_, r["model_hash"], "narratives route")
            if problem:
                raise ModelLoadError(f"{path}: {problem} ({lang})")
        return self
