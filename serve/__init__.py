"""Scoring: ``predict`` for passages, ``score_articles`` for whole articles, and the CLI.

>>> from narratives.serve import predict
>>> predict("Serbia's central bank left rates unchanged.")["stance"]
'none'
"""
from .articles import aggregate, score_articles
from .passages import split_passages
from .predict import predict
from .readers import read_articles

__all__ = ["aggregate", "predict", "read_articles", "score_articles", "split_passages"]
