"""Loaded first for every test and doctest: no test ever writes to the user's real models directory.

``NARRATIVES_MODELS`` and the platform's data directory (``XDG_DATA_HOME``) point at a temporary folder
for the whole run, removed at exit; a test that needs its own models directory sets the variable again.
"""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile

_TMP = tempfile.mkdtemp(prefix="narratives-test-home-")
os.environ["NARRATIVES_MODELS"] = os.path.join(_TMP, "models")
os.environ["XDG_DATA_HOME"] = os.path.join(_TMP, "data")
atexit.register(shutil.rmtree, _TMP, ignore_errors=True)
