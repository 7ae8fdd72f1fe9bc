"""Training and evaluation: label loading, splits, metrics, model cards.

>>> from narratives.train import load_passages, narrative_metrics
>>> narrative_metrics([["a"]], [["a"]], ["a"])["macro_f1"]
1.0
"""
from .data import LabelError, Passage, load_passages
from .metrics import evaluate_predictions, narrative_metrics, stance_metrics
from .trainer import evaluate_model, train

__all__ = ["LabelError", "Passage", "evaluate_model", "evaluate_predictions", "load_passages",
           "narrative_metrics", "stance_metrics", "train"]
