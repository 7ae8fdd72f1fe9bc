"""benchmarks/page_models.py: every page gets an out-of-fold logit from each family, from models that never saw it."""
from __future__ import annotations

import runpy
from pathlib import Path
from types import SimpleNamespace

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def _module() -> SimpleNamespace:
    return SimpleNamespace(**runpy.run_path(str(ROOT / "benchmarks" / "page_models.py")))  # not run as __main__


def test_out_of_fold_logits_come_from_models_that_never_saw_the_page():
    mod = _module()
    seen: list[tuple[set, set]] = []

    def fit_score(train, held):
        seen.append((set(train.tolist()), set(held.tolist())))
        return np.ones((len(held), 1)) * len(seen)

    groups = np.array([0, 1, 2, 0, 1, 2])
    z = mod._oof(groups, fit_score)
    assert all(not (tr & held) and tr | held == set(range(6)) for tr, held in seen)
    assert z[:, 0].tolist() == [1, 2, 3, 1, 2, 3]


def test_the_three_families_rank_separable_pages_and_the_stack_follows_the_better_one():
    mod = _module()
    rng = np.random.RandomState(0)
    n = 60
    y = np.array([[i % 2] for i in range(n)])
    texts = [("brothers forever united " if y[i, 0] else "gas prices rose ") + f"item{i}" for i in range(n)]
    means = rng.normal(size=(n, 4))  # embeddings that carry nothing: the words must carry the stack
    z = mod.compare(texts, means, y, np.arange(n) % 3, inner=3)
    from sklearn.metrics import roc_auc_score

    assert set(z) == {"embedding", "words", "stack"} and all(v.shape == (n, 1) for v in z.values())
    assert roc_auc_score(y[:, 0], z["words"][:, 0]) == 1.0
    assert roc_auc_score(y[:, 0], z["stack"][:, 0]) > 0.95 > roc_auc_score(y[:, 0], z["embedding"][:, 0])
