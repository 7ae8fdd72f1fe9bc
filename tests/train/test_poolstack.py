"""Stacking the training pool: every pool page's decider rows come from models that never saw it, each passage is
encoded once, and an evidence model that cannot be refitted on embeddings is refused by name."""
from __future__ import annotations

import numpy as np
import pytest

from narratives.train.data import Passage
from narratives.train.poolstack import CachedEmbeddings, Recipe, cross_fit, deal
from narratives.train.teamarticles import Article

LABELS = ["anti_western", "genocide_denial"]


class Remembering:
    """A frozen-embedding stand-in: a passage scores 1 for every narrative when its own embedding was among the
    rows of its last fit, else 0; it counts its encodings."""

    kind = "frozen-embedding"
    encoded = 0
    instances: list = []

    def __init__(self, labels=None, C: float = 1.0):
        self.labels = labels
        self.C = C
        Remembering.instances.append(self)
        self.labels_ = list(LABELS)
        self.thresholds_ = {lab: 0.5 for lab in LABELS}
        self.seen_: set = set()  # as loaded: it scores every passage 0 until refitted
        self.config_ = {"data": {"fit_splits": ["train"], "real_negatives": {}, "real_positives": {"per_narrative": 1}}}

    def embed(self, texts, langs=None):
        Remembering.encoded += len(texts)
        return np.array([[float(sum(map(ord, t))), float(len(t))] for t in texts])

    def fit_embeddings(self, x, narratives, stances, groups):
        self.seen_ = {tuple(row) for row in np.asarray(x)}
        self.fits_ = getattr(self, "fits_", 0) + 1
        return self

    def scores_from_embeddings(self, x):
        hit = np.array([float(tuple(row) in self.seen_) for row in np.asarray(x)])
        return np.repeat(hit[:, None], len(LABELS), 1), np.full(len(hit), 0.5)

    def score(self, passages, langs=None):
        return self.scores_from_embeddings(self.embed(list(passages)))


def _pool(n: int = 12) -> list[Article]:
    out = []
    for i in range(n):
        labels = {LABELS[i % 2]: "promotes"} if i % 3 else {}
        text = (f"Headline {i}\n\nThe paragraph number {i} of this page says enough words to count as evidence.\n\n"
                f"A second paragraph of page {i} adds more words so that each page has passages.")
        out.append(Article(f"p{i}", text, "en", labels, f"p{i}", "real-train", f"pool.jsonl:{i + 1}"))
    return out


TEAM = [Passage(id=f"t{i}", text=f"Team passage {i} written by the team about the West.", narratives=(LABELS[0],),
                stance="promotes", source=f"s{i}", split="train") for i in range(4)]


def test_every_pool_page_is_scored_by_models_that_never_saw_it():
    pool = _pool()
    stacked = cross_fit(Remembering(labels=LABELS), pool, TEAM, folds=3)
    assert len(stacked.scored) == len(pool)
    for recs, eligible, _ in stacked.scored:
        assert eligible  # every page has passages long enough to be evidence
        assert all(r["scores"][lab] == 0.0 for r in recs for lab in LABELS)  # none of its passages in its fold's fit
    assert [g for _, _, g in stacked.scored] == [a.labels for a in pool]
    assert stacked.provenance["evidence_recipe"] == {"fit_splits": ["train"], "real_negatives": True,
                                                     "real_positives_top": 1}


def test_each_fold_model_learns_from_the_other_folds_pages():
    """Negatives of the other folds, then (refitted) their carrying pages' best passages: two fits per fold."""
    pool = _pool()
    Remembering.instances = []
    cross_fit(Remembering(labels=LABELS), pool, TEAM, folds=3)
    folds = Remembering.instances[1:]  # the first is the evidence model itself
    assert len(folds) == 3 and all(m.fits_ == 2 for m in folds)
    cache = CachedEmbeddings(Remembering())
    pooled = [tuple(row) for row in cache.embed([p for a in pool for p in a.text.split("\n\n")[1:]])]
    assert all(any(row in m.seen_ for row in pooled) for m in folds)


def test_each_passage_is_encoded_once():
    pool = _pool()
    Remembering.encoded = 0
    cross_fit(Remembering(labels=LABELS), pool, TEAM, folds=4)
    distinct = {t.text for t in TEAM} | {p for a in pool for p in a.text.split("\n\n")}
    assert Remembering.encoded == len(distinct)


def test_an_evidence_model_that_cannot_be_refitted_is_refused():
    class Fixed:
        kind = "tfidf-logreg"
        labels_ = LABELS

    with pytest.raises(ValueError, match="tfidf-logreg cannot"):
        cross_fit(Fixed(), _pool(), TEAM)


def test_recipe_follows_the_evidence_models_config():
    assert Recipe.of(type("M", (), {"config_": {"data": {"fit_splits": ["train", "dev"]}}})()) == Recipe(
        ("train", "dev"), False, 0)


@pytest.mark.parametrize("folds", [0, 1])
def test_deal_needs_two_folds(folds):
    with pytest.raises(ValueError, match="at least 2 folds"):
        deal(["a", "b"], folds=folds)


def test_deal_spreads_pages_evenly():
    counts = np.bincount(deal([str(i) for i in range(10)], folds=3, seed=4))
    assert sorted(counts.tolist()) == [3, 3, 4]


def test_a_stacked_decider_fit_adds_every_pool_page_and_records_how(monkeypatch):
    """``fit_planned`` with ``pool_stack``: the pool's pages join the team articles' rows (one per page and
    narrative), scored by fold models, and ``fitted_on`` says how."""
    from narratives.train.deciderplan import DeciderOptions, DeciderPlan, fit_planned

    monkeypatch.setattr("narratives.train.poolstack.team_passages", lambda real=None: TEAM)
    pool = _pool()
    team = [Article(f"team-{a.id}", a.text, a.lang, a.labels, a.source, "train", a.where) for a in _pool(6)]
    plan = DeciderPlan(DeciderOptions(stance=False, pool_stack=True, real_dev=False), team, [], None, None,
                       stack_pool=tuple(pool), stack_digest="digest")
    d = fit_planned(Remembering(labels=LABELS), plan).config
    assert d["fitted_on"]["presence_rows"] == (len(team) + len(pool)) * len(LABELS)
    assert d["fitted_on"]["pool_stacked"] == {
        "pages": len(pool), "references_sha256": "digest", "folds": 5, "seed": 0,
        "evidence_recipe": {"fit_splits": ["train"], "real_negatives": True, "real_positives_top": 1}}
