"""``Predictor``: a picklable batch scorer of *passages* (each row's text is one passage) for Ray or Spark.

For whole articles (split into passages, with evidence, the records of ``narratives score``) use
:mod:`narratives.serve.frames` and :mod:`narratives.serve.engines` instead.

It holds only the model reference and loads the model lazily, once per worker process, so it can be
shipped to workers. A batch is a list of texts, a dict of columns, or a pandas DataFrame; the result has
the same shape with columns added: ``narratives`` (a list), ``stance``, ``stance_score``,
``score_<narrative>`` for each narrative, ``model_version`` and ``model_hash``.

>>> import pickle
>>> p = pickle.loads(pickle.dumps(Predictor(model="baseline")))
>>> out = p({"id": [1, 2], "text": ["Rain in Belgrade.", ""]})
>>> sorted(out)[:4], out["stance"]
(['id', 'model_hash', 'model_version', 'narratives'], ['none', 'none'])
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any


class Predictor:
    def __init__(self, model: str | Path | None = None, text_column: str = "text"):
        self.model = str(model) if model is not None else None
        self.text_column = text_column
        self._clf: Any = None

    def __getstate__(self) -> dict:
        return {"model": self.model, "text_column": self.text_column}  # never the loaded model

    def __setstate__(self, state: dict) -> None:
        self.__init__(**state)  # type: ignore[misc]

    def _model(self):
        """The model, loaded on first use in this process."""
        if self._clf is None:
            from narratives.model import load_model

            self._clf = load_model(self.model)
        return self._clf

    def _columns(self, texts: list[str]) -> dict[str, list]:
        from narratives.serve.predict import score_passages

        recs = score_passages(self._model(), texts)
        cols: dict[str, list] = {"narratives": [list(r["narratives"]) for r in recs],
                                 "stance": [r["stance"] for r in recs],
                                 "stance_score": [r["stance_score"] for r in recs]}
        for lab in self._clf.labels_:
            cols[f"score_{lab}"] = [r["scores"][lab] for r in recs]
        cols["model_version"] = [r["model_version"] for r in recs]
        cols["model_hash"] = [r["model_hash"] for r in recs]
        return cols

    def __call__(self, batch):
        """Score a list of texts (returns records), a dict of columns, or a pandas DataFrame."""
        if isinstance(batch, list):
            from narratives.serve.predict import score_passages

            return score_passages(self._model(), [str(t) for t in batch])
        if isinstance(batch, dict):
            texts = ["" if t is None else str(t) for t in batch[self.text_column]]
            return {**{k: list(v) for k, v in batch.items()}, **self._columns(texts)}
        try:
            import pandas as pd
        except ImportError:  # pragma: no cover
            pd = None
        if pd is not None and isinstance(batch, pd.DataFrame):
            texts = ["" if t is None or t != t else str(t) for t in batch[self.text_column].tolist()]
            out = batch.copy()
            for k, v in self._columns(texts).items():
                out[k] = v
            return out
        raise TypeError(f"a batch must be a list of texts, a dict of columns or a pandas DataFrame, "
                        f"got {type(batch).__name__}")

    def map_in_pandas(self, frames: Iterable) -> Iterator:
        """For Spark's ``mapInPandas``: score each DataFrame of an iterator."""
        for frame in frames:
            yield self(frame)
