"""Where a build's tasks run: in this process, in loky's worker processes, or on a Dask cluster.

``backend_context(backend, workers, scheduler, memory)`` sets joblib up for the whole build (a Dask scheduler
given by address, or a local cluster kept for the next build like loky's reusable executor), and ``run_tasks``
runs one function over many items, yielding results as they finish. Nothing here knows what a task does: the
caller says how much memory one worker needs, and local workers are counted to fit this machine's memory.
"""

from __future__ import annotations

import contextlib
import logging
import os
from typing import Any, Iterator

from celebamat.errors import CelebAMatError

log = logging.getLogger("celebamat.build")

BACKENDS = ("loky", "dask")


@contextlib.contextmanager
def backend_context(backend: str, workers: int, scheduler: str | None, memory: int) -> Iterator[Any]:
    """joblib set up for a whole build; yields the client of the Dask scheduler at ``scheduler`` (so that the
    build can check its workers, :func:`check_workers`), else ``None``. ``memory`` is the bytes one worker needs:
    a local cluster starts no more workers than fit in 80 % of this machine's memory."""
    import joblib

    if backend == "loky":
        with joblib.parallel_config(backend="loky", n_jobs=workers):
            yield None
        return
    try:
        from dask.distributed import Client
    except ImportError:
        raise CelebAMatError("--backend dask needs dask and distributed: pip install 'celebamat[dask]'") from None
    if scheduler:
        import dask

        try:
            # Dask's own connect timeout (30 s unless configured), so users tune it where they tune Dask.
            client = Client(scheduler, timeout=dask.config.get("distributed.comm.timeouts.connect"))
        except OSError as exc:
            raise CelebAMatError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        try:
            threads = _wait_for_threads(client, scheduler, workers)
            with joblib.parallel_config(backend="dask", n_jobs=threads):
                yield client
        finally:
            client.close()
        return
    workers = _fit_memory(workers, memory)
    client = _local_dask_client(workers)
    with joblib.parallel_config(backend="dask", n_jobs=workers):
        yield None


#: How long a build at a scheduler waits for ``--workers`` worker threads to join it (seconds).
WORKER_WAIT_S = 120.0


def _wait_for_threads(client: Any, scheduler: str, workers: int) -> int:
    """Wait until the cluster has at least ``workers`` worker threads; returns how many it has.

    Without this a build at a scheduler with no workers yet would fail after joblib's 10 s with a message about
    joblib, and one whose workers are still joining would start on fewer of them than asked.
    """
    import time

    deadline = time.monotonic() + WORKER_WAIT_S
    said = False
    while True:
        threads = sum(client.nthreads().values())
        if threads >= workers:
            return threads
        if time.monotonic() > deadline:
            raise CelebAMatError(
                f"the Dask scheduler at {scheduler} has {threads} worker thread(s) after {WORKER_WAIT_S:.0f} s, and "
                f"--workers asks for at least {workers}: start more workers (dask worker {scheduler} --nthreads 1, "
                "one process per core) or lower --workers"
            )
        if not said:
            log.info("waiting for %d worker thread(s) at %s (%d now)", workers, scheduler, threads)
            said = True
        time.sleep(0.2)


def check_workers(client: Any, facts: Any, expected: dict[str, Any], scheduler: str,
                  explain: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """Run ``facts()`` on every worker of ``client`` and refuse a worker whose answers differ from ``expected``.

    A build's bytes depend on the worker's packages and a worker must see the same files (the face source, the
    output folder) as this machine; ``facts`` says what matters, this names the first worker that differs (with
    ``explain[key]`` for a key that differs, when given). Returns every worker's answers by address.
    """
    try:
        answers = client.run(facts)
    except Exception as exc:  # distributed re-raises a worker's failure as a bare Exception carrying its text
        # The function is pickled by reference: a worker without celebamat cannot even load it.
        what = "cannot import celebamat" if "celebamat" in str(exc) and "No module" in str(exc) else "failed"
        raise CelebAMatError(
            f"a Dask worker of {scheduler} {what} ({exc}): every worker needs the same celebamat and packages as "
            "this machine (and, with a source checkout, the same PYTHONPATH)"
        ) from None
    for address, got in sorted(answers.items()):
        diffs = [(explain or {}).get(k) or f"{k} {got.get(k)} there, {v} here"
                 for k, v in expected.items() if got.get(k) != v]
        if diffs:
            raise CelebAMatError(f"the Dask worker at {address} cannot take part in this build: " + "; ".join(diffs))
    return answers


#: The local Dask cluster of this process, kept for the next build like loky's reusable executor (closed at
#: exit, or when a build asks for another worker count).
_LOCAL_DASK: dict[str, Any] = {}


def _local_dask_client(workers: int) -> Any:
    """A client of a local cluster of ``workers`` one-thread processes, started or reused."""
    import atexit

    import dask
    from dask.distributed import Client, LocalCluster

    held = _LOCAL_DASK
    if held and held["workers"] == workers:
        try:
            # nthreads() asks the scheduler; scheduler_info() reads a cache that the client's periodic update
            # overwrites with a worker-less summary, so it can report no workers on a healthy cluster.
            if len(held["client"].nthreads()) == workers:
                return held["client"]
        except Exception:  # a cluster that broke down is replaced below
            pass
    _close_local_dask()
    # Background costs that matter when workers fill every core: the statistical profiler, and the system,
    # event-loop and memory monitors waking up several times a second.
    with dask.config.set({"distributed.worker.profile.enabled": False,
                          "distributed.admin.system-monitor.interval": "2s",
                          "distributed.admin.tick.interval": "1s",
                          "distributed.worker.memory.monitor-interval": "1s"}):
        # No memory limit: the worker count is already fitted to the memory (_fit_memory), and Dask's own
        # limit (this machine's memory over the workers) would pause or restart a 1024 px worker on a machine of
        # many cores and little memory per core; as `dask worker --memory-limit 0` on a cluster (docs).
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, memory_limit=0,
                               dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(cluster)
    if not held.get("atexit"):
        atexit.register(_close_local_dask)
    held.update(workers=workers, cluster=cluster, client=client, atexit=True)
    return client


def _close_local_dask() -> None:
    cluster, client = _LOCAL_DASK.pop("cluster", None), _LOCAL_DASK.pop("client", None)
    _LOCAL_DASK.pop("workers", None)
    if cluster is None:
        return
    # Closing restores distributed's log levels before its last messages, which would print every comm closed.
    quiet = [logging.getLogger(n) for n in ("distributed", "distributed.scheduler", "distributed.nanny",
                                            "distributed.core", "distributed.worker")]
    levels = [q.level for q in quiet]
    for q in quiet:
        q.setLevel(logging.ERROR)
    try:
        client.close()
        cluster.close()
    finally:
        for q, level in zip(quiet, levels):
            q.setLevel(level)


def _fit_memory(workers: int, memory: int) -> int:
    """Fewer local workers when ``workers`` of ``memory`` bytes each would not fit in 80 % of this machine's
    memory."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return workers
    cap = max(1, int(0.8 * total) // memory)
    if workers > cap:
        log.warning("using %d workers instead of %d: each needs about %d MiB and this machine has %d MiB",
                    cap, workers, memory >> 20, total >> 20)
    return min(workers, cap)


def run_tasks(fn, items: list, workers: int, backend: str, memory: int) -> Iterator[Any]:
    """Run ``fn(item)`` for every item, yielding results as they finish (in-process when one worker);
    ``memory`` is the bytes one worker needs (:func:`_fit_memory`)."""
    import joblib

    if workers == 1 and backend == "loky":
        for it in items:
            yield fn(it)
        return
    # loky starts every worker up front: never more processes than tasks, or than memory holds.
    n_jobs = _fit_memory(min(workers, max(1, len(items))), memory) if backend == "loky" else None
    par = joblib.Parallel(n_jobs=n_jobs, return_as="generator_unordered", pre_dispatch="2*n_jobs")
    yield from par(joblib.delayed(fn)(it) for it in items)
