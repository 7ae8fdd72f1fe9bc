"""Returning the C heap's free pages between scoring batches (serve/memory.py)."""
import ctypes
import platform

import pytest

from narratives.serve import articles
from narratives.serve.memory import release_memory

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


def test_scoring_releases_memory_once_per_batch(monkeypatch):
    calls = []
    monkeypatch.setattr(articles, "release_memory", lambda: calls.append(1) or True)
    items = [{"id": str(i), "text": f"Markets were calm on day {i}.\n\nThe council met."} for i in range(5)]
    recs = list(articles.score_articles(items, model="baseline", batch_passages=4))
    assert len(recs) == 5 and len(calls) == 3  # batches of 2, 2 and 1 articles (4, 4 and 2 passages)
