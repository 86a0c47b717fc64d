"""Fan independent ngspice jobs out over local worker processes or a Dask cluster.

libngspice is one instance per process, so parallel simulations need processes, never
threads. :func:`open_fanout` gives an object with one method, ``map(fn, items)``, that
returns ``[fn(item) for item in items]`` in order (and calls ``on_done(k)`` when the
first ``k`` results are in, for a progress display):

* ``workers=1``: in this process (no pickling; the simplest to debug);
* ``workers=N`` (default: the CPU count): a pool of N local processes, started once
  (forkserver, so the workers do not inherit the trainer's torch threads) and reused for
  every call; each worker exits by itself once the process that started the pool is gone
  (a trainer killed with ``kill -9`` leaves no ngspice workers behind);
* ``scheduler="tcp://host:port"``: the workers of a Dask cluster (``dask-scheduler`` +
  ``dask-worker``, or dask-jobqueue on SLURM); each worker process keeps its own ngspice
  and runs one job at a time (libngspice is one instance per process: start workers with
  ``--nthreads 1 --nworkers N`` to use N cores).

``fn`` must be a module-level function and the items picklable.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Protocol, TypeVar

from bruno_hil.errors import BrunoHilError

T = TypeVar("T")
R = TypeVar("R")
OnDone = Callable[[int], None]
"""Called with the number of results in so far (the first ``k`` items are done)."""


def _collect(results: Iterable[R], on_done: OnDone | None) -> list[R]:
    """``results`` as a list, reporting each one to ``on_done`` as it arrives."""
    out: list[R] = []
    for result in results:
        out.append(result)
        if on_done is not None:
            on_done(len(out))
    return out


class FanoutError(BrunoHilError):
    """The worker pool or the Dask scheduler cannot be used."""


class Fanout(Protocol):
    """Runs ``fn`` over ``items`` somewhere, returning the results in order."""

    description: str

    def map(
        self, fn: Callable[[T], R], items: Sequence[T], on_done: OnDone | None = None
    ) -> list[R]: ...

    def close(self) -> None: ...


PARENT_POLL_S = 1.0
"""How often a local worker checks that the process that started it is alive [s]."""
_ONE_NGSPICE = threading.Lock()
"""Serializes the jobs of one (Dask worker) process: its libngspice is one instance."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user (a reused pid)
        return True
    return True


def _exit_with(parent_pid: int) -> None:
    """Pool initializer: a daemon thread ends this worker once ``parent_pid`` is gone."""

    def watch() -> None:
        while _alive(parent_pid):
            time.sleep(PARENT_POLL_S)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _one_at_a_time(fn: Callable[[T], R], item: T) -> R:
    """``fn(item)``, never at the same time as another job of this process."""
    with _ONE_NGSPICE:
        return fn(item)


class InProcess:
    """Runs the jobs one after another in this process."""

    description = "1 process (in-process)"

    def map(
        self, fn: Callable[[T], R], items: Sequence[T], on_done: OnDone | None = None
    ) -> list[R]:
        return _collect((fn(item) for item in items), on_done)

    def close(self) -> None:
        """Nothing to release."""


def _init_worker(parent_pid: int) -> None:
    """Pool initializer. Ctrl-C reaches the whole process group; only the parent acts on
    it (stops the run, keeps its checkpoint), the workers finish their job and are shut
    down by it. A worker whose parent died (``kill -9``) ends itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with(parent_pid)


class LocalProcesses:
    """A pool of ``workers`` local processes, created on first use and reused."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.description = f"{workers} local processes"
        self._pool: ProcessPoolExecutor | None = None

    def map(
        self, fn: Callable[[T], R], items: Sequence[T], on_done: OnDone | None = None
    ) -> list[R]:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("forkserver"),
                initializer=_init_worker,
                initargs=(os.getpid(),),
            )
        # A few chunks per worker: little IPC, and a slow chunk does not idle the rest.
        chunk = max(1, len(items) // (4 * self.workers))
        return _collect(self._pool.map(fn, items, chunksize=chunk), on_done)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


class DaskCluster:
    """The workers of the Dask scheduler at ``address`` (connecting gives up after
    ``timeout_s`` [s])."""

    def __init__(self, address: str, timeout_s: float = 10.0) -> None:
        from distributed import Client

        try:
            self._client: Any = Client(address, timeout=f"{timeout_s}s")
        except OSError as err:
            raise FanoutError(
                f"--scheduler {address}: cannot reach the Dask scheduler ({err})"
            ) from err
        n = len(self._client.scheduler_info().get("workers", {}))
        self.description = f"Dask cluster at {address} ({n} workers)"

    def map(
        self, fn: Callable[[T], R], items: Sequence[T], on_done: OnDone | None = None
    ) -> list[R]:
        futures = self._client.map(_one_at_a_time, [fn] * len(items), list(items), pure=False)
        return _collect((future.result() for future in futures), on_done)

    def close(self) -> None:
        self._client.close()


def open_fanout(workers: int | None = None, scheduler: str | None = None) -> Fanout:
    """The fan-out for ``scheduler`` (a Dask address) or ``workers`` local processes
    (None: one per CPU core; 1: in this process)."""
    if scheduler is not None:
        if workers is not None:
            raise FanoutError("give either --workers or --scheduler, not both")
        return DaskCluster(scheduler)
    n = (os.cpu_count() or 1) if workers is None else workers
    if n < 1:
        raise FanoutError(f"workers = {workers}: need at least 1")
    return InProcess() if n == 1 else LocalProcesses(n)


__all__ = ["DaskCluster", "Fanout", "FanoutError", "InProcess", "LocalProcesses", "open_fanout"]
