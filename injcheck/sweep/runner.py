"""Run a sweep: enumerate the trials not yet stored, execute them, store each as it finishes.

Executors
---------
* ``workers=0``: in this process, one trial after another (debugging, profiling).
* ``executor="local"`` (default): a ``concurrent.futures`` process pool with the
  ``spawn`` start method (no fork of a process that holds torch/OpenMP threads), one
  thread per worker for torch/BLAS/HiGHS, so ``K`` workers use ``K`` cores.
* ``executor="ray"``: Ray tasks (``num_cpus=1`` each) on a local instance or a cluster
  (``address``); results flow back to this process and into the same store.

Only this process writes to the store, one committed row per finished trial, so a crash
or ``kill -9`` loses only the trials in flight. At most ``2 * workers`` trials are in
flight at any time. Seeds depend on (master seed, point, trial index) only, so the rows
do not depend on the executor, the order or the number of workers.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from numbers import Integral
from typing import Any

from ..exceptions import InvalidArgumentError, SweepAbortedError
from ..verdict import STATUSES
from .seeds import trial_seed
from .spec import RERUN_POLICIES, Point, SweepSpec
from .store import ERRORED, Store
from .trials import RESULT_FIELDS, TrialFn, TrialTask, resolve_trial_fn, trial_fn_name

EXECUTORS = ("local", "ray")

#: Trials in a row that raise before a sweep stops: a broken install (say, a compiled core
#: that is not built) fails every trial, and would otherwise fill the store with errors.
MAX_CONSECUTIVE_ERRORS = 10
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")


@dataclass
class SweepResult:
    """What :func:`run_sweep` did.

    Attributes
    ----------
    spec_hash : str
    total : int
        Trials in the spec.
    skipped : int
        Trials already in the store and not re-run.
    ran : int
        Trials run now (each stored).
    counts : dict
        Statuses of the trials run now.
    elapsed : float
        Seconds, start-up included.
    store : str
        Path of the store.
    not_started : int
        Trials left unstarted because ``stop_at`` had passed (a later run does them).
    """

    spec_hash: str
    total: int
    skipped: int
    ran: int
    counts: dict[str, int] = field(default_factory=dict)
    elapsed: float = 0.0
    store: str = ""
    not_started: int = 0

    def summary(self) -> str:
        counts = ", ".join(f"{s} {self.counts.get(s, 0)}" for s in STATUSES)
        rate = self.ran / self.elapsed if self.elapsed > 0 else float("nan")
        return (
            f"sweep {self.spec_hash}: {self.total} trials, {self.skipped} already stored, "
            f"{self.ran} run ({counts}) in {self.elapsed:.1f} s ({rate:.2f} trials/s); "
            + (f"{self.not_started} not started (stop time reached); " if self.not_started else "")
            + f"store {self.store}"
        )


# -- what runs in a worker --------------------------------------------------------------
_FN_CACHE: dict[str, TrialFn] = {}
_THREADS_LIMITED = False


def _limit_threads() -> None:
    """One thread per worker for torch and BLAS (the pool supplies the parallelism)."""
    global _THREADS_LIMITED
    if _THREADS_LIMITED:
        return
    for var in _THREAD_VARS:
        os.environ.setdefault(var, "1")
    import torch

    torch.set_num_threads(1)
    _THREADS_LIMITED = True


def execute_task(task: TrialTask) -> dict[str, Any]:
    """Run one trial and return its result record; never raises for a failing trial.

    A trial function that raises, or returns something that is not a record with a valid
    status, gives an ``unknown`` record carrying the error message: failures are stored,
    never lost and never counted as successes.
    """
    start = time.perf_counter()
    try:
        fn = _FN_CACHE.get(task.trial_fn)
        if fn is None:
            fn = _FN_CACHE[task.trial_fn] = resolve_trial_fn(task.trial_fn)
        out = fn(task)
        if not isinstance(out, dict) or out.get("status") not in STATUSES:
            got = out.get("status") if isinstance(out, dict) else type(out).__name__
            record = {
                "status": "unknown",
                "solver_status": ERRORED,
                "message": f"trial returned no valid status: {got!r}",
            }
        else:
            record = {k: out[k] for k in RESULT_FIELDS if k in out}
    except Exception as exc:  # noqa: BLE001 - any failure of a trial is data, stored as unknown
        record = {
            "status": "unknown",
            "solver_status": ERRORED,
            "message": f"trial raised {type(exc).__name__}: {exc}",
        }
    record["trial_time"] = time.perf_counter() - start
    record["worker"] = f"{socket.gethostname()}:{os.getpid()}"
    return record


def _init_worker(parent_pid: int) -> None:
    _limit_threads()

    # A worker whose driver died (kill -9) exits instead of lingering as an orphan.
    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _ray_execute(task: TrialTask) -> dict[str, Any]:
    _limit_threads()
    return execute_task(task)


# -- the driver -------------------------------------------------------------------------
def plan_tasks(
    spec: SweepSpec, finished: dict[tuple[str, int], str], rerun: str = "never"
) -> Iterator[tuple[Point, TrialTask, bool]]:
    """Yield ``(point, task, replace)`` for each trial to run, in grid order.

    ``rerun``: ``never`` skips every stored trial, ``unknown`` re-runs stored unknowns,
    ``all`` re-runs everything; ``replace`` says whether the new row overwrites one. A
    trial stored as :data:`~.store.ERRORED` (it raised) holds no result and always runs.
    """
    _check_rerun(rerun)
    h = spec.spec_hash
    options = dict(spec.trial_options)
    for point in spec.points():
        key = point.key
        for t in range(spec.trials):
            status = finished.get((key, t))
            if status not in (None, ERRORED) and not (
                rerun == "all" or (rerun == "unknown" and status == "unknown")
            ):
                continue
            task = TrialTask(
                spec_hash=h,
                point_key=key,
                trial=t,
                seed=trial_seed(spec.seed, key, t),
                n=point.n,
                widths=point.widths,
                mode=spec.mode,
                method=spec.method,
                time_limit=spec.time_limit,
                exact_value=spec.exact_value,
                trial_fn=spec.trial_fn,
                options=options,
                node_limit=spec.node_limit,
            )
            yield point, task, status is not None


def make_row(point: Point, task: TrialTask, record: dict[str, Any], version: str) -> dict[str, Any]:
    """A store row from the trial's identity and its result record."""
    from .store import timestamp

    row = dict(record)
    row.update(
        spec_hash=task.spec_hash,
        point_key=task.point_key,
        trial=task.trial,
        n=point.n,
        widths=list(point.widths),
        depth=point.depth,
        alpha=point.alpha,
        alpha_nominal=point.alpha_nominal,
        seed=task.seed,
        version=version,
        finished_at=timestamp(),
    )
    return row


def run_sweep(
    spec: SweepSpec,
    store: Store | str | os.PathLike,
    *,
    workers: int | None = None,
    executor: str = "local",
    address: str | None = None,
    trial_fn: TrialFn | str | None = None,
    rerun: str = "never",
    progress: bool | None = None,
    stop_at: float | None = None,
) -> SweepResult:
    """Run the trials of ``spec`` that are not in ``store`` yet and store each result.

    Parameters
    ----------
    spec : SweepSpec
    store : Store or path
        Results store (a path is opened and closed here).
    workers : int, optional
        Parallel workers: local processes (default: all CPUs; 0 runs in this process) or
        Ray tasks in flight (default: the cluster's CPUs).
    executor : {"local", "ray"}
    address : str, optional
        Ray cluster address (``"auto"``, ``"ray://host:10001"``, ...); None starts or
        reuses a local Ray instance.
    trial_fn : callable or "module:function", optional
        Replaces ``spec.trial_fn`` (and so changes the spec hash). Must be importable by
        name in the workers.
    rerun : {"never", "unknown", "all"}
        Which stored trials to run again. Trials that raised are always run again.
    progress : bool, optional
        Show a tqdm bar (default: when stderr is a terminal).
    stop_at : float, optional
        A ``time.time()`` after which no new trial is started; the trials in flight then
        finish and are stored, the rest are left for a later run (``not_started``).

    Returns
    -------
    SweepResult

    Raises
    ------
    SpecError
        Before anything is written, for settings every trial would refuse
        (:meth:`SweepSpec.check_runnable`).
    InvalidArgumentError
        Before the store is opened: a bad ``store``, ``executor``, ``workers``,
        ``address`` or ``rerun``.
    StoreError
        A store that cannot be opened, or an SQLite file that is not an injcheck store
        (left unchanged).
    SweepAbortedError
        After :data:`MAX_CONSECUTIVE_ERRORS` trials in a row raised (their rows are stored
        and run again on resume; the message quotes the last error).

    Examples
    --------
    >>> import os, tempfile
    >>> from injcheck.sweep import SweepSpec, run_sweep
    >>> fake = "injcheck.sweep.trials:fake_trial"
    >>> spec = SweepSpec(n=(3,), alpha=(4.0, 6.0), trials=2, trial_fn=fake)
    >>> path = os.path.join(tempfile.mkdtemp(), "s.sqlite")
    >>> res = run_sweep(spec, path, workers=0, progress=False)
    >>> res.ran, res.skipped
    (4, 0)
    """
    from .. import __version__

    spec = _with_trial_fn(spec, trial_fn)
    spec.check_runnable()
    resolve_trial_fn(spec.trial_fn)  # fail fast, before starting workers
    _check_run_options(store, executor, workers, address, rerun)

    own_store = not isinstance(store, Store)
    db = Store(store) if own_store else store
    start = time.perf_counter()
    try:
        h = db.register_spec(spec, __version__)
        plan = list(plan_tasks(spec, db.finished(h), rerun))
        total = spec.n_trials
        result = SweepResult(h, total, total - len(plan), 0, store=db.path)
        queue = _Queue(plan, stop_at)
        recorder = _Recorder(
            db, __version__, result, _progress_bar(len(plan), h, result.skipped, progress), queue
        )
        try:
            _execute_plan(queue, workers, executor, address, recorder)
        finally:
            recorder.close()
        if recorder.abort_reason:
            raise SweepAbortedError(recorder.abort_reason)
        result.not_started = len(plan) - result.ran
        result.counts = dict(recorder.counts)
        result.elapsed = time.perf_counter() - start
        return result
    finally:
        if own_store:
            db.close()


def _with_trial_fn(spec: SweepSpec, trial_fn: TrialFn | str | None) -> SweepSpec:
    """``spec`` with its trial function replaced by ``trial_fn`` (by name) when one is given."""
    if trial_fn is None:
        return spec
    return spec.with_updates(
        trial_fn=trial_fn if isinstance(trial_fn, str) else trial_fn_name(trial_fn)
    )


def _check_run_options(store, executor: str, workers, address, rerun: str) -> None:
    """Everything :func:`run_sweep` is told besides the spec, checked before the store is
    opened: a refused option writes nothing."""
    _check_executor(executor, workers, address)
    _check_rerun(rerun)
    if not isinstance(store, (Store, str, os.PathLike)) or store == "":
        raise InvalidArgumentError(
            f"store must be a path or a Store, got {store!r}", argument="store"
        )


def _check_rerun(rerun: str) -> None:
    """Reject an unknown ``rerun`` policy (before the store is opened)."""
    if not isinstance(rerun, str) or rerun not in RERUN_POLICIES:
        raise InvalidArgumentError(
            f"rerun must be one of {RERUN_POLICIES}, got {rerun!r}", argument="rerun"
        )


def _check_executor(executor: str, workers: int | None, address: str | None) -> None:
    """Reject an unknown executor, a bad worker count, and options the executor ignores.

    Raises
    ------
    InvalidArgumentError
        With ``argument`` set to the parameter at fault (the CLI names its flag instead).
    """
    if executor not in EXECUTORS:
        raise InvalidArgumentError(
            f"executor must be one of {EXECUTORS}, got {executor!r}", argument="executor"
        )
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, Integral) or workers < 0
    ):
        raise InvalidArgumentError(
            f"workers must be a non-negative integer, got {workers!r}", argument="workers"
        )
    if executor == "ray" and workers == 0:
        raise InvalidArgumentError(
            "workers 0 (in this process) cannot be combined with the executor 'ray'",
            argument="workers",
        )
    if address is not None and executor != "ray":
        raise InvalidArgumentError(
            "address is only used with the executor 'ray'", argument="address"
        )


class _Recorder:
    """Stores each finished trial as one row, counts its status and advances the bar.

    Parameters
    ----------
    db : Store
        The store written to (only this process writes).
    version : str
        injcheck version stamped on each row.
    result : SweepResult
        Its ``ran`` is incremented per stored trial.
    bar : tqdm or None
        Progress bar, closed by :meth:`close`.
    queue : _Queue
        Stopped after :data:`MAX_CONSECUTIVE_ERRORS` errored trials in a row, with the
        reason in ``abort_reason``.
    """

    def __init__(
        self, db: Store, version: str, result: SweepResult, bar: Any, queue: _Queue
    ) -> None:
        self.db = db
        self.version = version
        self.result = result
        self.bar = bar
        self.queue = queue
        self.counts: Counter[str] = Counter()
        self.errors_in_a_row = 0
        self.abort_reason = ""

    def __call__(self, item: tuple[Point, TrialTask, bool], record: dict[str, Any]) -> None:
        point, task, replace = item
        self.db.add(make_row(point, task, record, self.version), replace=replace)
        self.counts[record["status"]] += 1
        self.result.ran += 1
        self._watch_errors(record)
        if self.bar is not None:
            self.bar.set_postfix(
                inj=self.counts["injective"],
                non=self.counts["non-injective"],
                unk=self.counts["unknown"],
                refresh=False,
            )
            self.bar.update(1)

    def _watch_errors(self, record: dict[str, Any]) -> None:
        """Stop the queue once trials keep raising: the cause is the setup, not the data."""
        failed = record.get("solver_status") == ERRORED
        self.errors_in_a_row = self.errors_in_a_row + 1 if failed else 0
        if self.errors_in_a_row == MAX_CONSECUTIVE_ERRORS:
            self.queue.stop()
            self.abort_reason = (
                f"sweep stopped: {MAX_CONSECUTIVE_ERRORS} trials in a row failed, the last "
                f"with: {record.get('message')}. Fix the cause and run the same sweep again "
                "(failed trials are stored as unknown and run again on resume)"
            )

    def close(self) -> None:
        """Close the progress bar, if any."""
        if self.bar is not None:
            self.bar.close()


def next_utc_time(hhmm: str, now: float) -> float:
    """The epoch time of the next ``HH:MM`` (UTC) after ``now``, for ``stop_at``.

    A time of day earlier than ``now`` means tomorrow, so a run started at 22:30 with
    ``"01:00"`` works through midnight instead of stopping at once.

    Raises
    ------
    InvalidArgumentError
        When ``hhmm`` is not a time of day (argument ``until``).
    """
    try:
        hh, mm = (int(x) for x in hhmm.split(":"))
    except ValueError:
        hh = mm = -1
    if not (0 <= hh < 24 and 0 <= mm < 60):
        raise InvalidArgumentError(
            f"until must be a time of day HH:MM (UTC), got {hhmm!r}", argument="until"
        )
    midnight = now - now % 86400  # UTC days are 86,400 s in epoch time
    stop = midnight + 3600 * hh + 60 * mm
    return stop if stop > now else stop + 86400


#: The clock ``stop_at`` is read against (tests replace it).
_now = time.time


class _Queue:
    """The planned trials still to start, in grid order (``pop`` gives the next).

    Empty (false) once ``stop_at`` (a ``time.time()``) has passed, so every executor stops
    starting trials then and only drains what is in flight.
    """

    def __init__(self, plan: list, stop_at: float | None = None) -> None:
        self._items = list(reversed(plan))
        self._stop_at = stop_at
        self._stopped = False

    def __bool__(self) -> bool:
        return (
            bool(self._items)
            and not self._stopped
            and (self._stop_at is None or _now() < self._stop_at)
        )

    def stop(self) -> None:
        """Start no more trials (those in flight still finish)."""
        self._stopped = True

    def pop(self) -> tuple:
        return self._items.pop()

    def append(self, item: tuple) -> None:
        """Put back an item that could not be started (it is the next one again)."""
        self._items.append(item)


def _execute_plan(
    queue: _Queue, workers: int | None, executor: str, address: str | None, on_result: OnResult
) -> None:
    """Run the queued trials on the chosen executor, passing each record to ``on_result``."""
    if not queue:
        return
    if workers == 0:
        _limit_threads()
        while queue:
            item = queue.pop()
            on_result(item, execute_task(item[1]))
    elif executor == "local":
        _run_pool(queue, workers or os.cpu_count() or 1, on_result)
    else:
        _run_ray(queue, workers, address, on_result)


def _progress_bar(total: int, spec_hash: str, skipped: int, progress: bool | None):
    if progress is None:
        progress = sys.stderr.isatty()
    if not progress:
        return None
    from tqdm import tqdm

    desc = f"sweep {spec_hash[:8]}" + (f" ({skipped} stored)" if skipped else "")
    return tqdm(total=total, desc=desc, unit="trial", dynamic_ncols=True, smoothing=0.05)


@contextmanager
def _single_thread_env() -> Iterator[None]:
    """Spawned workers inherit the environment: one BLAS/OpenMP thread each."""
    saved = {var: os.environ.get(var) for var in _THREAD_VARS}
    for var in _THREAD_VARS:
        os.environ.setdefault(var, "1")
    try:
        yield
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value


OnResult = Callable[[tuple[Point, TrialTask, bool], dict[str, Any]], None]


def _run_pool(queue: _Queue, workers: int, on_result: OnResult) -> None:
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    # Trials in flight when a worker died. Any of them may have killed it, so each is
    # re-run alone in a fresh pool: one that kills its worker alone is the culprit and is
    # stored as unknown; the others get their normal result.
    suspects: list = []
    with _single_thread_env():
        while queue or suspects:
            pool = ProcessPoolExecutor(
                workers, mp_context=ctx, initializer=_init_worker, initargs=(os.getpid(),)
            )
            _start_workers(pool, workers)
            in_flight: dict[Future, tuple] = {}
            try:
                while queue or suspects or in_flight:
                    source, limit = (suspects, 1) if suspects else (queue, 2 * workers)
                    while source and len(in_flight) < limit:
                        item = source.pop()
                        try:
                            in_flight[pool.submit(execute_task, item[1])] = item
                        except BrokenProcessPool:
                            source.append(item)
                            break
                    failed = []
                    if in_flight:
                        done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                        for fut in done:
                            item = in_flight.pop(fut)
                            try:
                                record = fut.result()
                            except BrokenProcessPool:
                                failed.append(item)
                                continue
                            on_result(item, record)
                    if failed or getattr(pool, "_broken", False):
                        failed += in_flight.values()  # they die with the pool
                        in_flight.clear()
                        if len(failed) == 1:
                            on_result(failed[0], _died_record())
                        else:
                            suspects.extend(failed)
                        break
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
            pool.shutdown(wait=True)


def _start_workers(pool: ProcessPoolExecutor, workers: int) -> None:
    """Start all workers at once (their imports then overlap) and fail loudly when they
    cannot start at all, rather than filing every trial as unknown: e.g. a ``__main__``
    that spawn cannot re-import, or a broken environment."""
    # The pool spawns a process per submit while none is idle, so K pings start K workers.
    pings = [pool.submit(os.getpid) for _ in range(workers)]
    try:
        for ping in pings:
            ping.result(timeout=600)
    except Exception as exc:
        pool.shutdown(wait=False, cancel_futures=True)
        raise RuntimeError(
            f"local worker processes fail to start ({type(exc).__name__}: {exc}); see the error "
            "printed above. Scripts must guard their entry point with "
            "`if __name__ == '__main__':`; workers=0 (CLI: --workers 0) runs in this process "
            "to debug."
        ) from exc


def _died_record() -> dict[str, Any]:
    return {
        "status": "unknown",
        "solver_status": ERRORED,
        "message": "the worker process died running this trial alone (crash or out of memory)",
        "trial_time": None,
        "worker": None,
    }


def _run_ray(queue: _Queue, workers: int | None, address: str | None, on_result: OnResult) -> None:
    try:
        import ray
    except ModuleNotFoundError as exc:
        raise InvalidArgumentError(
            "executor 'ray' needs Ray: pip install 'injcheck[ray]'", argument="executor"
        ) from exc

    started = False
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
        started = True
    try:
        limit = workers or max(int(ray.cluster_resources().get("CPU", 1)), 1)
        remote = ray.remote(num_cpus=1, max_retries=1)(_ray_execute)
        in_flight: dict[Any, tuple] = {}
        while queue or in_flight:
            while queue and len(in_flight) < 2 * limit:
                item = queue.pop()
                in_flight[remote.remote(item[1])] = item
            done, _ = ray.wait(list(in_flight), num_returns=1)
            for ref in done:
                item = in_flight.pop(ref)
                try:
                    record = ray.get(ref)
                except ray.exceptions.RayError as exc:  # worker died or node lost
                    record = _died_record()
                    record["message"] = (
                        f"Ray task failed: {type(exc).__name__}: {str(exc).splitlines()[0]}"
                    )
                on_result(item, record)
    finally:
        if started:
            ray.shutdown()
