"""Token-bounded batches (model/batching.py): every index once, in order, each batch within its budget."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from narratives.model.batching import token_batches


def cost(lengths, batch, how):
    return sum(lengths[i] for i in batch) if how == "packed" else len(batch) * max(lengths[i] for i in batch)


@given(st.lists(st.integers(0, 600), max_size=80), st.integers(1, 2000), st.sampled_from(["padded", "packed"]),
       st.one_of(st.none(), st.integers(1, 70)), st.randoms(use_true_random=False))
def test_batches_cover_every_index_in_order_within_the_budget(lengths, budget, how, max_rows, rnd):
    order = list(range(len(lengths)))
    rnd.shuffle(order)
    batches = token_batches(lengths, budget, cost=how, max_rows=max_rows, order=order)
    assert [i for b in batches for i in b] == order
    for b in batches:
        assert b and (max_rows is None or len(b) <= max_rows)
        assert len(b) == 1 or cost(lengths, b, how) <= budget  # only an item over the budget alone exceeds it
    # greedy: a batch is cut only where adding the next item would break a limit
    for b, nxt in zip(batches, batches[1:]):
        full = max_rows is not None and len(b) >= max_rows
        assert full or cost(lengths, b + nxt[:1], how) > budget


def test_padded_cost_counts_the_longest_row_for_every_row():
    # three rows of 4 fit 12 packed tokens but a row of 5 pads all of them to 5
    assert token_batches([4, 4, 5], budget=12, cost="packed") == [[0, 1], [2]]
    assert token_batches([4, 4, 3], budget=12, cost="padded") == [[0, 1, 2]]
    assert token_batches([4, 4, 5], budget=12, cost="padded") == [[0, 1], [2]]


@pytest.mark.parametrize("kwargs, message", [({"budget": 0}, "at least 1"), ({"budget": 5, "max_rows": 0}, "at least 1"),
                                             ({"budget": 5, "cost": "sum"}, "cost must be one of")])
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        token_batches([1, 2], **kwargs)
