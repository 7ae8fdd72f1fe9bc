"""The training loop shared by the kinds that train heads on an encoder (``transformer``, ``e5-lora``).

A multi-label narrative head (BCE, positives weighted by their rarity, at most 10x) and a stance head
(promotes vs reports, on passages with a narrative only) are trained with AdamW, together with whatever
encoder parameters require a gradient (LoRA adapters; none for a frozen encoder), under a linear warm-up
(10%) and linear decay. Batches are shuffled, of similar length, and seeded: the same data, seed, machine
and library versions give the same bytes.

>>> import numpy as np
>>> sorted(len(b) for b in batches(2, np.array([3, 1, 2]), np.random.default_rng(0)))
[1, 2]
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


def batches(batch_size: int, lengths: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of similar length (less padding), in shuffled order."""
    order = rng.permutation(len(lengths))
    chunk = batch_size * 8
    out = []
    for i in range(0, len(order), chunk):
        block = order[i:i + chunk]
        block = block[np.argsort(lengths[block], kind="stable")]
        out += [block[j:j + batch_size] for j in range(0, len(block), batch_size)]
    return [out[i] for i in rng.permutation(len(out))]


def targets(labels: Sequence[str], narratives: Sequence[Sequence[str]], stances: Sequence[str],
            stance_rows: Sequence[bool] | None = None) -> tuple[Any, Any, Any]:
    """The narrative matrix, the promotes flags and which rows train the stance head (those with a
    narrative, and among ``stance_rows`` when given), as torch tensors.

    >>> Y, promo, has = targets(["a", "b"], [["a"], []], ["promotes", "none"])
    >>> Y.tolist(), promo.tolist(), has.tolist()
    ([[1.0, 0.0], [0.0, 0.0]], [1.0, 0.0], [True, False])
    """
    import torch

    Y = torch.tensor([[lab in ns for lab in labels] for ns in narratives], dtype=torch.float32)
    promo = torch.tensor([s == "promotes" for s in stances], dtype=torch.float32)
    rows = [True] * len(narratives) if stance_rows is None else list(stance_rows)
    has = torch.tensor([bool(ns) and r for ns, r in zip(narratives, rows)])
    return Y, promo, has


def train_heads(clf: Any, lengths: np.ndarray, Y: Any, promo: Any, has: Any, embed: Callable[[np.ndarray], Any],
                log: Any, desc: str) -> None:
    """Train ``clf.head_``, ``clf.stance_head_`` and the trainable parameters of ``clf.encoder_`` for
    ``clf.epochs`` epochs; ``embed(indices)`` gives the batch's pooled embeddings (with gradient where
    the encoder is trained). Uses ``clf``'s ``lr``, ``head_lr``, ``weight_decay``, ``batch_size``, ``seed``.
    Prints each epoch's mean loss to ``log``."""
    import torch

    from .progress import progress

    bce = torch.nn.functional.binary_cross_entropy_with_logits
    n = len(lengths)
    pos = Y.sum(0)
    pos_weight = ((n - pos) / pos.clamp(min=1)).clamp(max=10.0)
    adapters = [p for p in clf.encoder_.parameters() if p.requires_grad]
    heads = [*clf.head_.parameters(), *clf.stance_head_.parameters()]
    groups = [{"params": heads, "lr": clf.head_lr}] + ([{"params": adapters, "lr": clf.lr}] if adapters else [])
    opt = torch.optim.AdamW(groups, weight_decay=clf.weight_decay)
    rng = np.random.default_rng(clf.seed)
    n_batches = len(batches(clf.batch_size, lengths, np.random.default_rng(0)))
    total = max(1, clf.epochs * n_batches)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / max(1, 0.1 * total)) * max(0.0, (total - s) / total))
    bar = progress(total=total, desc=desc, unit="batch")
    for epoch in range(clf.epochs):
        clf.encoder_.train(bool(adapters))
        running = 0.0
        for idx in batches(clf.batch_size, lengths, rng):
            bar.update(1)
            ix = torch.as_tensor(idx)
            e = embed(idx)
            loss = bce(clf.head_(e), Y[ix], pos_weight=pos_weight)
            h = has[ix]
            if h.any():
                loss = loss + bce(clf.stance_head_(e[h]).squeeze(-1), promo[ix][h])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            running += loss.item()
        print(f"epoch {epoch + 1}/{clf.epochs}: loss {running / max(1, n_batches):.4f}", file=log, flush=True)
    bar.close()
    clf.encoder_.eval()
