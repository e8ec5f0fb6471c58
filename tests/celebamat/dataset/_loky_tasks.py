"""Tasks for test_workers.py (importable by loky's worker processes)."""

import os
import time

_HELD: list[bytes] = []


def grow(mb: int, configure: bool) -> int:
    if configure:
        from celebamat.dataset.worker import configure_worker

        configure_worker()
    if mb:
        _HELD.append(b"x" * (mb << 20))  # touched pages: resident memory
        time.sleep(1.2)  # loky checks a worker's memory at most once a second
    return os.getpid()
