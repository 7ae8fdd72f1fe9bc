"""Where the project's files live: the repository root, the label folder, the shipped models.

An editable install (the documented one) resolves these next to the source tree. The environment
variables ``NARRATIVES_LABELS`` and ``NARRATIVES_CORPUS`` override the label folder and the seed corpus.

>>> labels_dir().name
'labels'
"""
from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
SHIPPED_MODELS = PACKAGE_DIR / "weights"
DEFAULT_MODEL_NAME = "ensemble"


def labels_dir() -> Path:
    env = os.environ.get("NARRATIVES_LABELS")
    if env:
        return Path(env)
    here = REPO_ROOT / "data" / "labels"
    return here if here.is_dir() else Path.cwd() / "data" / "labels"


def corpus_dir() -> Path:
    """The seed corpus: ``../shared/seeds`` beside the repository, unless overridden."""
    env = os.environ.get("NARRATIVES_CORPUS")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "seeds"


def shipped_model(name: str = DEFAULT_MODEL_NAME) -> Path:
    return SHIPPED_MODELS / name
