"""keep_freed_memory: large blocks freed by one batch are reused by the next instead of faulted in anew."""
from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

glibc_only = pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                                reason="the thresholds are glibc's (Linux); other allocators are left alone")

# One child process per case: glibc's settings are per process and cannot be undone.
# Each round holds four 20 MiB arrays at once (as an encoder batch holds its layers' activations),
# frees them, and reports the page faults it took; the last round's count is printed.
CHILD = """
import resource, sys
import numpy as np
from zhie.models.allocator import keep_freed_memory
applied = keep_freed_memory() if sys.argv[1] == "tuned" else None
for _ in range(3):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    blocks = [np.ones(5 << 20, dtype=np.float32) for _ in range(4)]
    del blocks
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
print(applied, faults)
"""


def _last_round(mode: str, **env: str) -> tuple[str, int]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    out = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True, check=True,
                         env={**clean, **env}).stdout.split()
    return out[0], int(out[1])


@glibc_only
def test_freed_blocks_are_reused_without_page_faults():
    applied, tuned = _last_round("tuned")
    _, plain = _last_round("plain")
    if plain < 100:
        pytest.skip(f"this allocator already keeps freed blocks ({plain} faults in the last round without tuning)")
    assert applied == "True"
    assert tuned < plain / 10, (tuned, plain)


@glibc_only
def test_user_malloc_settings_are_left_alone():
    applied, _ = _last_round("tuned", MALLOC_TRIM_THRESHOLD_="131072")
    assert applied == "False"
