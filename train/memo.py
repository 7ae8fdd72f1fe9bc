"""A fitted model that remembers its scores, for ``narratives train --kind ensemble``.

Each member of a combined kind's recipe is evaluated on the held-out splits right after it is fitted;
the combined model is then evaluated on the same passages, and asks each member for the same scores
again. Wrapped in :class:`RememberedScores`, a member scores each (passage, language) once: the
combined model's evaluation gets the scores its members computed in their own evaluation, exactly
(the same texts, languages and model), without a second pass over dev and test.

Everything but ``score`` is the model's own (attributes are read from and written to it).

>>> import numpy as np
>>> from narratives.model.contract import Scores
>>> class Counting:
...     labels_, calls = ["a"], 0
...     def score(self, passages, langs=None):
...         self.calls += 1
...         return Scores(np.array([[len(t) / 10] for t in passages]), np.zeros(len(passages)))
>>> m = RememberedScores(Counting())
>>> m.score(["abc", "de"], ["en", "en"]).narratives.ravel().tolist()
[0.3, 0.2]
>>> m.score(["de"], ["en"]).narratives.ravel().tolist(), m.calls, m.labels_
([0.2], 1, ['a'])
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class RememberedScores:
    """``model`` with its scores remembered per (passage, language); other attributes are the model's."""

    def __init__(self, model: Any):
        object.__setattr__(self, "model", model)
        object.__setattr__(self, "_rows", {})

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.model, name, value)

    def score(self, passages: Sequence[str], langs: Sequence[str] | None = None) -> Any:
        """The model's scores, computed once for each (passage, language) not seen before, in one call."""
        import numpy as np

        from narratives.model.contract import Scores

        texts = list(passages)
        keys = list(zip(texts, langs if langs is not None else [None] * len(texts)))
        rows = self._rows
        new = list(dict.fromkeys(k for k in keys if k not in rows))
        if new:
            given = None if langs is None else [g for _, g in new]
            p, s = self.model.score([t for t, _ in new], langs=given)
            for i, key in enumerate(new):
                rows[key] = (np.asarray(p[i], dtype=np.float64), float(s[i]))
        k = len(self.model.labels_)
        return Scores(np.array([rows[key][0] for key in keys], dtype=np.float64).reshape(len(keys), k),
                      np.array([rows[key][1] for key in keys], dtype=np.float64))
