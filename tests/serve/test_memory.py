"""Returning the C heap's free pages between scoring batches (serve/memory.py)."""
import ctypes
import platform
import subprocess
import sys

import pytest

from narratives.serve import articles
from narratives.serve.memory import map_large_blocks, release_memory

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")


def rss_anon_kb() -> int:
    for line in open("/proc/self/status"):
        if line.startswith("RssAnon:"):
            return int(line.split()[1])
    raise AssertionError("no RssAnon in /proc/self/status")


@glibc
def test_freed_heap_pages_kept_by_malloc_go_back_to_the_system():
    """Blocks freed below a live one stay in the heap (glibc returns only a free top): 64 MB of them
    stay resident until release_memory."""
    libc = ctypes.CDLL(None)
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    size, n = 64 * 1024, 1024  # under the mmap threshold: from the heap
    blocks = [libc.malloc(size) for _ in range(n)]
    pin = libc.malloc(size)  # keeps the heap's top in use, so free() cannot trim it
    for b in blocks:
        ctypes.memset(b, 1, size)
    for b in blocks:
        libc.free(b)
    before = rss_anon_kb()
    assert release_memory() is True
    after = rss_anon_kb()
    libc.free(pin)
    assert before - after > 32 * 1024, (before, after)


# In a fresh process: free one 2 MB block (glibc raises its mmap threshold to 2 MB), then allocate 32 more
# and one more after them, free the 32 and report how much of their 64 MB is still resident.
KEPT = r"""
import ctypes, sys
from narratives.serve.memory import map_large_blocks
if sys.argv[1] == "mapped":
    assert map_large_blocks() is True
libc = ctypes.CDLL(None)
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
anon = lambda: int(next(x for x in open("/proc/self/status") if x.startswith("RssAnon:")).split()[1])
size = 2 << 20
libc.free(libc.malloc(size))
blocks = [libc.malloc(size) for _ in range(32)]
pin = libc.malloc(size)  # after them in the heap: its top stays in use
for b in blocks:
    ctypes.memset(b, 1, size)
before = anon()
for b in blocks:
    libc.free(b)
print(anon() - (before - 32 * size // 1024))
"""


@glibc
def test_with_large_blocks_mapped_freed_batch_buffers_leave_at_once():
    def kept_kb(mode):
        out = subprocess.run([sys.executable, "-c", KEPT, mode], capture_output=True, text=True, check=True)
        return int(out.stdout.split()[-1])

    assert kept_kb("default") > 48 * 1024  # glibc's own behaviour: the freed blocks stay in its heap
    assert kept_kb("mapped") < 8 * 1024


def test_map_large_blocks_is_set_once_per_process():
    assert map_large_blocks() is map_large_blocks()


def test_scoring_releases_memory_once_per_batch(monkeypatch):
    calls = []
    monkeypatch.setattr(articles, "release_memory", lambda: calls.append(1) or True)
    items = [{"id": str(i), "text": f"Markets were calm on day {i}.\n\nThe council met."} for i in range(5)]
    recs = list(articles.score_articles(items, model="baseline", batch_passages=4))
    assert len(recs) == 5 and len(calls) == 3  # batches of 2, 2 and 1 articles (4, 4 and 2 passages)
