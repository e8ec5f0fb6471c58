"""Build workers are kept by loky however much their caches grow."""

from __future__ import annotations

import pytest

import psutil  # noqa: F401  (loky's leak check runs only with psutil, which the test extras bring)
from _loky_tasks import grow


@pytest.mark.filterwarnings("ignore:A worker stopped:UserWarning")
@pytest.mark.parametrize("configure", [False, True])
def test_loky_keeps_a_configured_worker_that_grows(configure):
    from joblib.externals.loky import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=1) as ex:
        first = ex.submit(grow, 0, configure).result()
        grown = ex.submit(grow, 400, configure).result()
        after = ex.submit(grow, 0, configure).result()
    assert first == grown
    # Unconfigured, loky takes the growth for a leak and starts a new worker; configured, it keeps it.
    assert (after == first) is configure


def test_loky_still_reads_the_private_limit_we_raise():
    """worker._keep_loky_worker relies on loky checking growth against this module global (joblib is bounded in
    setup.cfg for it); if a release renames it, this names the cause before the behaviour test above fails."""
    from joblib.externals.loky import process_executor

    assert isinstance(process_executor._MAX_MEMORY_LEAK_SIZE, int)
    assert "_MAX_MEMORY_LEAK_SIZE" in process_executor._process_worker.__code__.co_names
