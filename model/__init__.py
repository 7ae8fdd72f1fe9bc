"""The classifier, its taxonomy, and how model directories are saved and loaded.

>>> from narratives.model import load_taxonomy
>>> load_taxonomy().ids[0]
'genocide_denial'
"""
from .artifact import ModelLoadError, verify_model_dir
from .baseline import TfidfNarrativeClassifier
from .loading import load_model, resolve_model
from .paths import DEFAULT_MODEL_NAME, shipped_model
from .taxonomy import Narrative, Taxonomy, TaxonomyError, load_taxonomy

__all__ = [
    "DEFAULT_MODEL_NAME", "ModelLoadError", "Narrative", "Taxonomy", "TaxonomyError", "TfidfNarrativeClassifier",
    "load_model", "load_taxonomy", "resolve_model", "shipped_model", "verify_model_dir",
]
