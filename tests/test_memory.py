"""``release_free_memory`` gives freed C heap back to the operating system (glibc)."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

import pytest

from safespace import _memory
from safespace._memory import release_free_memory


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or _memory._TRIM is None,
    reason="malloc_trim is glibc's; elsewhere release_free_memory is a no-op",
)
def test_freed_heap_in_the_middle_of_the_heap_goes_back():
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
    # 200 MB in 4 KB blocks (below the mmap threshold, so on the heap), touched so they are
    # resident; the last block pins the top of the heap, so free() alone cannot shrink it
    blocks = [libc.malloc(4096) for _ in range(50_000)]
    for b in blocks:
        libc.memset(b, 1, 4096)
    before = _rss_mb()
    for b in blocks[:-1]:
        libc.free(b)
    after_free = _rss_mb()
    release_free_memory()
    after_trim = _rss_mb()
    libc.free(blocks[-1])
    assert before - after_free < 50  # free() kept most of it
    assert after_free - after_trim > 100  # the trim gave it back
