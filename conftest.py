"""Loaded first for every test and doctest: no test ever writes to the user's real models directory.

``NARRATIVES_MODELS`` and the platform's data directory (``XDG_DATA_HOME``) point at a temporary folder
for the whole run, removed at exit; a test that needs its own models directory sets the variable again.
The real-page cache (``NARRATIVES_REAL_CACHE``) is an empty folder there too, so a test sees the same pages on a
machine whose own cache holds the benchmark as on CI; a test that needs cached pages fills its own.
"""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile

_TMP = tempfile.mkdtemp(prefix="narratives-test-home-")
os.environ["NARRATIVES_MODELS"] = os.path.join(_TMP, "models")
os.environ["XDG_DATA_HOME"] = os.path.join(_TMP, "data")
os.environ["NARRATIVES_REAL_CACHE"] = os.path.join(_TMP, "real-pages")
atexit.register(shutil.rmtree, _TMP, ignore_errors=True)
