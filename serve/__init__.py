"""Scoring: ``predict`` for passages, ``score_articles`` for whole articles, and the CLI.

>>> from narratives.serve import predict
>>> sorted(predict("Serbia's central bank left rates unchanged.")["scores"])[:2]
['anti_western', 'genocide_denial']
"""
from .articles import aggregate, score_articles
from .passages import split_passages
from .predict import predict
from .readers import read_articles

__all__ = ["aggregate", "predict", "read_articles", "score_articles", "split_passages"]
