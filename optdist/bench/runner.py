"""Run a sweep's grid through a ``concurrent.futures`` executor, resumably.

Each run executes in a fresh ``python -P -m optdist.bench.worker`` process under a hard
wall-clock guard (``BenchSpec.guard_s``, counted from the solve's start once the worker reports it):
a run that outlives it is killed, with every process it started, and recorded with status
``timeout`` and the phase it was killed in (``killed_during``: ``start-up``, ``solve``, ``scoring``). Runs are started from a local thread pool
(``workers`` at a time) or, when a scheduler address is given, from a Dask cluster's
executor (Dask is imported only then).

Workers die with their parent: on Linux the worker asks the kernel to SIGKILL it when the
thread that started it ends (``PR_SET_PDEATHSIG``), elsewhere a watchdog thread polls its
parent, so a sweep of the local pool killed even by SIGKILL leaves no worker running, and solvers a
worker starts die with it in turn (:mod:`optdist.solvers.subprocesses`). On a Dask cluster the runs
already started go on to their end or guard when the sweep is SIGKILLed (nothing sets their stop flag);
their results are lost (no record) and the resume redoes them. A run's temporary folder (the
worker's ``TMPDIR``) is named with the sweep's pid; folders of sweeps no longer running (killed
by SIGKILL) are removed when the next run starts (:func:`remove_stale_run_dirs`). SIGINT and SIGTERM stop
the sweep cleanly: runs not started are cancelled, running ones killed (on a Dask worker: when the
run next asks the sweep's :class:`distributed.Event`, every :data:`STOP_POLL_S` s), the Dask client
closed (:class:`SweepInterrupted`).

The worker's import path does not hold the working directory (``-P``): it imports optdist
from where this process did, and a method from outside optdist (allowed explicitly, see
:meth:`BenchSpec.external_methods`) from the folder it was found in, appended last.

Records are written by the submitting process, atomically, to ``OUT/records/<key>.json`` as
each run finishes (:mod:`optdist.bench.records`); a run whose record exists is skipped, so a
killed sweep resumes without redoing or losing finished runs (unless the record no longer
matches the run: its instance file, solver profile or the files its options name changed, or
it timed out under a shorter guard, :func:`redo_reasons`; records of failed runs,
:func:`optdist.bench.records.failed`: status ``error``/``timeout``, or termination ``error``, are
redone only with ``retry_errors``). A run the executor lost (its future raised: a Dask worker or
scheduler gone, the run cancelled) has no result and is not recorded: it is said, counted in
:attr:`SweepReport.lost`, and the next sweep redoes it. Each record holds the SHA-256 of the instance
file as its worker loaded it; one that differs from the hash taken as the sweep started is marked
``instance_changed`` and said once per file. A damaged record is set aside
under ``OUT/records/damaged/`` with a note and its run done again. A record that cannot be
written stops the sweep with one error naming the file and the fix (:class:`RecordNotWritten`). On
every way out (an interruption too), the runs that finished while the sweep handled another are written.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import logging
import os
import platform
import re
import shutil
import signal
import site
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError, Executor, Future, ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Protocol

from tqdm import tqdm

import optdist
from optdist.bench.records import (RECORD_FORMAT, DamagedRecord, RecordNotWritten, failed, find, grid_clash,
                                   guard_raised, instance_digest, migrate, option_changes, option_digests,
                                   profile_changes, profile_names, record_files, record_path, set_aside,
                                   solver_profile, stale, write_grid, write_record)
from optdist.bench.spec import BenchSpec, Run, in_cwd
from optdist.bench.worker import PARENT_ENV, PHASES, instance_info, phase_path
from optdist.interrupts import Terminated, interrupt
from optdist.io import OutputWriteError, atomic_write_json, make_output_folder, restore_non_finite
from optdist.jsonfile import text_of

log = logging.getLogger(__name__)
VERSIONED = ("optdist", "pyomo", "highspy", "pyscipopt", "numpy", "pandas", "torch")


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


@cache
def versions() -> dict[str, str | None]:
    """Python and the installed versions of the packages that shape a result, and ``optdist_commit``:
    the git commit of the optdist checkout this process imports (:func:`git_commit`; None when it is
    no git checkout). Only recorded: a record of another commit is not redone."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    out["optdist_commit"] = git_commit(Path(optdist.__file__).resolve().parents[1])
    return out


def git_commit(root: Path) -> str | None:
    """The commit checked out at ``root`` (a git checkout or worktree), read from its files (no
    ``git`` process, so none missing can fail); None when ``root`` is no checkout or it cannot be read."""
    try:
        git = root / ".git"
        if git.is_file():  # a worktree: "gitdir: PATH"
            text = git.read_text().strip()
            if not text.startswith("gitdir:"):
                return None
            git = (root / text.split(":", 1)[1].strip()).resolve()
        if not git.is_dir():
            return None
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref:"):
            return head if re.fullmatch(r"[0-9a-f]{40}", head) else None  # a detached HEAD
        ref = head.split(":", 1)[1].strip()
        common = git / "commondir"
        common_dir = (git / common.read_text().strip()).resolve() if common.is_file() else git
        for where in (git, common_dir):
            if (where / ref).is_file():
                return (where / ref).read_text().strip()
        packed = common_dir / "packed-refs"
        if packed.is_file():
            for line in packed.read_text().splitlines():
                if line.endswith(f" {ref}"):
                    return line.split()[0]
    except (OSError, UnicodeDecodeError):
        return None
    return None


@cache
def host() -> dict:
    """Where a run executed: host name, OS, CPU model and count."""
    cpu = platform.processor() or None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"hostname": socket.gethostname(), "platform": platform.platform(), "cpu": cpu, "cpus": os.cpu_count()}


def worker_env() -> dict[str, str]:
    """The environment of a worker: this one, ``PARENT_ENV`` = this pid, and a ``PYTHONPATH``
    that finds the optdist this process runs but not the working directory."""
    cwd = Path.cwd().resolve()
    entries = [e for e in os.environ.get("PYTHONPATH", "").split(os.pathsep) if e and Path(e).resolve() != cwd]
    root = str(Path(optdist.__file__).resolve().parents[1])
    sites = [*site.getsitepackages(), site.getusersitepackages()]
    if root not in sites and root not in entries:
        entries.insert(0, root)  # a source checkout: the worker imports the same optdist
    return {**os.environ, PARENT_ENV: str(os.getpid()), "PYTHONPATH": os.pathsep.join(entries)}


#: a run's temporary folder: ``<tmp>/optdist-run-<pid of the process that made it>-<random>``
RUN_DIR_PREFIX = "optdist-run-"
_RUN_DIR = re.compile(rf"{RUN_DIR_PREFIX}(\d+)-")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_stale_run_dirs(tmp: str | Path | None = None) -> list[Path]:
    """Remove the run folders (:data:`RUN_DIR_PREFIX`) in ``tmp`` (default: the system's) left by
    processes that no longer run (a sweep killed by SIGKILL cannot remove its own); return them.

    A folder whose process still runs (or whose pid now names another process) is kept.
    """
    gone = []
    for path in Path(tmp or tempfile.gettempdir()).glob(f"{RUN_DIR_PREFIX}*"):
        m = _RUN_DIR.match(path.name)
        if m and path.is_dir() and not path.is_symlink() and not _alive(int(m.group(1))):
            shutil.rmtree(path, ignore_errors=True)
            gone.append(path)
    return gone


def _kill(proc: subprocess.Popen) -> None:
    """SIGKILL a worker not yet reaped and every process it started (its own session)."""
    if proc.returncode is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class Running:
    """The workers of one sweep in this process, so that an interrupted sweep can kill them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._procs: set[subprocess.Popen] = set()
        self._stopped = False

    def start(self, cmd: list[str], **kw) -> subprocess.Popen:
        with self._lock:
            if self._stopped:
                raise SweepInterrupted("the sweep was interrupted before this run started")
            proc = subprocess.Popen(cmd, **kw)
            self._procs.add(proc)
            return proc

    def done(self, proc: subprocess.Popen) -> None:
        with self._lock:
            self._procs.discard(proc)

    def stop(self) -> None:
        """Start no more workers and kill the running ones."""
        with self._lock:
            self._stopped = True
            for proc in self._procs:
                _kill(proc)


#: how often a run on a Dask worker asks whether its sweep was interrupted (s)
STOP_POLL_S = 0.5
#: how often the runner looks whether a run's worker has reported its solve's start (s; :func:`_wait`)
PHASE_POLL_S = 0.5


class RunStopped(RuntimeError):
    """A run on a Dask worker killed because its sweep was interrupted (:func:`_wait`). An
    Exception, not a KeyboardInterrupt like :class:`SweepInterrupted`: a BaseException raised in
    a Dask task ends the worker's process."""


class StopFlag(Protocol):
    """What :func:`execute` asks whether its sweep was interrupted (a :class:`distributed.Event`)."""

    def is_set(self) -> bool: ...


def _wait(proc: subprocess.Popen, guard_s: float, stop: StopFlag | None,
          solve_started: Callable[[], float | None] | None = None) -> int | None:
    """``proc``'s exit status; None once ``guard_s`` seconds have passed (``proc`` is then killed
    with its process group). With ``solve_started`` (asked every :data:`PHASE_POLL_S` s until it
    answers: the ``time.monotonic()`` at which the worker reported its solve's start, else None),
    the guard counts from the solve's start once it is known, so that a slow start-up (a stalled
    machine) does not eat the solve's time; the start-up itself has ``guard_s`` from the launch.
    With ``stop`` (a Dask worker's: the sweep's :class:`distributed.Event`)
    it is asked every :data:`STOP_POLL_S` s, and once set ``proc`` is killed and
    :class:`RunStopped` raised: an interrupted sweep closes its Dask client, but a task
    already running on a worker goes on, so the run would go on to its guard."""
    t0 = time.monotonic()
    deadline = t0 + guard_s
    while True:
        left = deadline - time.monotonic()
        step = min(left, STOP_POLL_S if stop is not None else left, PHASE_POLL_S if solve_started else left)
        try:
            return proc.wait(timeout=max(0.0, step))
        except subprocess.TimeoutExpired:
            if stop is not None and _asked_to_stop(stop):
                _kill(proc)
                proc.wait()
                raise RunStopped(f"the sweep was interrupted while this run ran; killed after "
                                 f"{time.monotonic() - t0:.1f} s") from None
            if solve_started is not None and (start := solve_started()) is not None:
                deadline, solve_started = max(deadline, start + guard_s), None  # the solve's guard from its start
            if time.monotonic() >= deadline:
                _kill(proc)  # with the run's own subprocesses (e.g. a solver binary)
                proc.wait()
                return None


def _asked_to_stop(stop: StopFlag) -> bool:
    """``stop.is_set()``; False when the scheduler cannot be asked (a lost connection is Dask's to
    report: it must not end a run that may still finish)."""
    try:
        return stop.is_set()
    except Exception:
        return False


def execute(run: Run, guard_s: float, import_dir: str | None = None, running: Running | None = None,
            cwd: str | None = None, stop: StopFlag | None = None) -> dict:
    """Solve ``run`` in a child process killed after ``guard_s`` seconds; return its record.

    The guard counts from the launch until the worker reports its solve's start, then from that
    start (:func:`_wait`): a start-up slowed by a stalled machine does not eat the solve's time. A
    killed run's record says the phase it was in (:func:`_guard_kill`: ``killed_during``,
    ``phases_s`` and the error's words).

    ``import_dir``: the folder of an allowed method from outside optdist; ``running``: the
    sweep's registry of workers (local pool), None on a Dask worker; ``cwd``: the sweep's working
    directory, which the spec's relative paths (instances, a policy folder) are relative to: the
    child runs there where that folder exists (on a Dask worker: a shared file system), else in
    this process's own; ``stop``: on a Dask worker, the sweep's interruption flag (:func:`_wait`;
    raises :class:`RunStopped` once it is set).
    """
    started, t0 = _now(), time.perf_counter()
    remove_stale_run_dirs()
    with tempfile.TemporaryDirectory(prefix=f"{RUN_DIR_PREFIX}{os.getpid()}-") as tmp:
        result, log_file = Path(tmp) / "result.json", Path(tmp) / "log.txt"
        cmd = [sys.executable, "-P", "-m", "optdist.bench.worker", json.dumps(run.to_json()), str(result)]
        cmd += [import_dir] if import_dir else []
        with log_file.open("wb") as fh:
            env = {**worker_env(), "TMPDIR": tmp}  # the worker's temporary files (a solver's folder) go in here too
            kw = dict(stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                      start_new_session=True,  # its own process group: the guard kills all of it
                      cwd=cwd if cwd is not None and Path(cwd).is_dir() else None)
            launched = (time.monotonic(), time.time())
            proc = running.start(cmd, **kw) if running is not None else subprocess.Popen(cmd, **kw)

            def solve_started() -> float | None:  # time.monotonic() of the solve's start, once reported
                at = _phases(result, launched[1]).get("solve")
                return None if at is None else launched[0] + at

            try:
                rc = _wait(proc, guard_s, stop, solve_started)
            finally:
                if running is not None:
                    running.done(proc)
        tail = log_file.read_text(errors="replace")[-4000:]
        if rc is None:
            payload = {"status": "timeout", **_guard_kill(guard_s, time.monotonic() - launched[0],
                                                          _phases(result, launched[1])), "log_tail": tail}
        elif result.exists():
            payload = restore_non_finite(json.loads(result.read_text()), str(result))
            if payload["status"] != "ok":
                payload["log_tail"] = tail
        else:
            payload = {"status": "error", "error": f"worker exited with status {rc} and no result", "log_tail": tail}
    if "instance_info" not in payload:  # failed runs still say how big the instance was
        payload["instance_info"] = _info(run)
    if payload.get("instance_sha256") is None:  # a run killed before it said what it loaded: the file as it is now
        payload["instance_sha256"] = instance_digest(Path(cwd) / run.instance_path if cwd and Path(cwd).is_dir()
                                                 else run.instance_path)
    return {
        "format": RECORD_FORMAT,
        "key": run.key,
        "run_id": uuid.uuid4().hex,
        "run": run.to_json(),
        **payload,
        "guard_s": guard_s,
        "elapsed_s": time.perf_counter() - t0,
        "started_at": started,
        "finished_at": _now(),
        "versions": versions(),
        "host": host(),
    }


def _phases(result: Path, launched: float) -> dict[str, float]:
    """The phases the worker writing ``result`` reported entering
    (:func:`optdist.bench.worker.report_phase`), each as seconds after its launch (``launched``,
    ``time.time()``); a phase whose file is missing or unreadable is left out."""
    out = {}
    for phase in PHASES:
        try:
            out[phase] = max(0.0, float(json.loads(phase_path(result, phase).read_text())["at"]) - launched)
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return out


def _guard_kill(guard_s: float, elapsed: float, phases: dict[str, float]) -> dict:
    """The fields of the record of a run killed by the wall-clock guard ``guard_s`` after
    ``elapsed`` seconds, its worker having reported ``phases`` (:func:`_phases`): ``error``, which
    says the phase it was in (a stalled start-up is no solver timeout), ``killed_during``
    (``start-up``: the worker's interpreter, imports, reading of the instance and import of the method's
    module, which a user's module may stall;
    ``solve``: the method's model build and solve; ``scoring``: the evaluator's re-score) and
    ``phases_s`` (each reported phase's start, seconds after the launch)."""
    solve, scoring = phases.get("solve"), phases.get("scoring")
    if scoring is not None:
        during = "scoring"
        error = (f"killed by the wall-clock guard after {guard_s:g} s during the evaluator's re-score, {elapsed:.3g} s "
                 f"after the launch (the solve ran from {solve or 0.0:.3g} s to {scoring:.3g} s and returned; fix: "
                 "raise wall_limit if the re-score needs longer, or check what the method returned: the re-score "
                 "reads its placement and extra)")
    elif solve is not None:
        during = "solve"
        error = (f"killed by the wall-clock guard after {guard_s:g} s during the solve (counted from its start, "
                 f"{solve:.3g} s after the launch)")
    else:
        during = "start-up"
        if "reading" in phases:  # the method's module is imported here: a user's may hang at import
            what, cause = ("reading the instance and importing the method", "a stalled or overloaded machine, or an "
                           "instance or a method's module that takes this long to read or import")
            fix = ("check that the method's module imports quickly (python -c \"import MODULE\"); run it again, e.g. "
                   "with --retry-errors, on a machine less loaded, or raise wall_limit")
        else:
            what, cause = "the worker's interpreter and imports", "a stalled or overloaded machine"
            fix = "run it again, e.g. with --retry-errors, on a machine less loaded, or raise wall_limit"
        error = (f"killed by the wall-clock guard after {guard_s:g} s during start-up ({what}): the solve had not "
                 f"started, so this is no solver timeout but {cause} (fix: {fix})")
    return {"error": error, "killed_during": during, "phases_s": {k: round(v, 3) for k, v in phases.items()}}


def _info(run: Run) -> dict | None:
    from optdist.instance import load_instance

    try:
        return instance_info(load_instance(run.instance_path))
    except Exception:  # an unreadable instance is already the run's recorded error
        return None


def finished(out: str | Path, run: Run, retry_errors: bool = False, guard_s: float | None = None) -> bool:
    """True if ``run`` has a usable record of its instance file, solver profile and the files its
    options name as they are now, and, ``guard_s`` given (the run's guard now), is no ``timeout``
    under a shorter guard (:func:`redo_reasons`; read only; raises :class:`DamagedRecord`)."""
    found = find(out, run)
    return (found is not None and (not retry_errors or not failed(found[1]))
            and not stale(found[1], instance_digest(run.instance_path))
            and not redo_reasons(found[1], run, solver_profiles([run]), option_digests([run])[run.key], guard_s))


def redo_reasons(rec: dict, run: Run, profiles: dict[str | None, dict | None], files: dict[str, str],
                 guard_s: float | None) -> list[str]:
    """Why ``rec`` no longer records ``run`` as it would run now, besides its instance file: its
    solver profiles changed (:func:`optdist.bench.records.profile_changes`; ``profiles``: solver ->
    :func:`solver_profiles`), the files its options name did
    (:func:`optdist.bench.records.option_changes`; ``files``: option -> SHA-256 now), or it timed out
    under a guard shorter than ``guard_s`` (:func:`optdist.bench.records.guard_raised`; None: not
    checked); empty when it still does."""
    raised = None if guard_s is None else guard_raised(rec, guard_s)
    return [*profile_changes(rec, run, profiles), *option_changes(rec, run, files), *([raised] if raised else [])]


def pending(out: str | Path, runs: list[Run], retry_errors: bool = False,
            digests: dict[str, str | None] | None = None,
            profiles: dict[str | None, dict | None] | None = None,
            files: dict[str, dict[str, str]] | None = None,
            guard: Callable[[Run], float] | None = None) -> tuple[list[Run], list[Path]]:
    """The runs still to do, renaming legacy records to their current key and setting damaged
    ones aside (they are to do again), and redoing the runs whose instance file changed since
    their record (:func:`optdist.bench.records.stale`; ``digests``: instance path -> SHA-256,
    computed here when not given), or that :func:`redo_reasons` names (a changed solver profile,
    its solver's or its ``options.pricing_solver``'s, ``profiles``: solver -> :func:`solver_profiles`;
    changed files its options name, ``files``: run key -> :func:`optdist.bench.records.option_digests`;
    a ``timeout`` under a guard shorter than ``guard(run)``, the spec's
    :meth:`~optdist.bench.spec.BenchSpec.guard_s`, unchecked without it);
    returns the runs and where the damaged records went."""
    todo, aside = [], []
    if digests is None:
        digests = instance_digests(runs)
    if profiles is None:
        profiles = solver_profiles(runs)
    if files is None:
        files = option_digests(runs)
    for run in runs:
        try:
            rec = migrate(out, run)
        except DamagedRecord as e:
            aside.append(set_aside(e))
            log.warning("%s; set aside as %s (a .why.txt note beside it), the sweep redoes the run (fix: none "
                        "needed, the new record replaces it; delete the set-aside file once you no longer need it)",
                        e, aside[-1])
            rec = None
        if rec is not None and stale(rec, digests[run.instance_path]):
            log.warning("%s: the instance file %s (or a file it names) changed since this record was made; the run "
                        "is done again",
                        record_path(out, run.key), run.instance_path)
            rec = None
        changes = [] if rec is None else redo_reasons(rec, run, profiles, files[run.key],
                                                      None if guard is None else guard(run))
        if changes:
            log.warning("%s: %s; the run is done again", record_path(out, run.key), "; ".join(changes))
            rec = None
        if rec is None or (retry_errors and failed(rec)):
            todo.append(run)
    return todo, aside


def instance_digests(runs: list[Run]) -> dict[str, str | None]:
    """Instance path -> SHA-256 of the file and the files it names (:func:`optdist.bench.records.instance_digest`),
    each instance read once."""
    return {path: instance_digest(path) for path in {r.instance_path for r in runs}}


def solver_profiles(runs: list[Run]) -> dict[str | None, dict | None]:
    """Solver (as the runs name it, as ``solver`` or ``options.pricing_solver``) -> its resolved
    profile (:func:`optdist.bench.records.solver_profile`), each read once."""
    return {name: solver_profile(name) for name in {n for r in runs for n in profile_names(r).values()}}


class SweepInterrupted(Terminated):
    """SIGTERM reached a sweep (SIGINT is a plain KeyboardInterrupt): runs not started were
    cancelled, running ones killed."""


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`SweepInterrupted` (in the main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        interrupt(signum, SweepInterrupted(f"stopped by {signal.Signals(signum).name}"))

    old = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


#: seconds the Dask client waits for the scheduler at ``--scheduler`` to answer (Dask's default,
#: ``distributed.comm.timeouts.connect``, is 30 s: a sweep with a mistyped or stopped scheduler waited that long to fail)
SCHEDULER_CONNECT_S = 5.0


@contextmanager
def make_executor(workers: int = 1, scheduler: str | None = None) -> Iterator[Executor]:
    """A local pool of ``workers`` threads (each waits on its run's process), or the executor
    of the Dask cluster at ``scheduler`` (its client is closed when the block ends; the executor
    carries ``stop``, a :class:`distributed.Event` of the sweep's own, that :func:`_run_sweep`
    sets when it is interrupted, so that the runs on the workers are killed, :func:`_wait`).

    Raises ``ValueError`` naming ``--scheduler``, the address and the fix when Dask is not
    installed, the address is malformed, or no scheduler answers there within
    :data:`SCHEDULER_CONNECT_S` seconds."""
    if scheduler is None:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="optdist-run") as ex:
            yield ex
        return
    try:
        from distributed import Client  # optional dependency: only for --scheduler
    except ImportError:
        raise ValueError(f"--scheduler {scheduler}: Dask's 'distributed' is not installed (fix: pip install "
                         "distributed, or leave --scheduler out for the local pool, --workers N)") from None
    try:
        client = Client(scheduler, timeout=SCHEDULER_CONNECT_S)
    except OSError as e:  # nothing listening (timed out, refused)
        raise ValueError(f"--scheduler {scheduler}: no Dask scheduler answered in {SCHEDULER_CONNECT_S:g} s "
                         f"({type(e).__name__}: {e}) (fix: start one (`dask scheduler`, then `dask worker ADDRESS` on "
                         "each machine), or leave --scheduler out for the local pool, --workers N); no run was "
                         "started") from None
    except (ValueError, TypeError) as e:  # a malformed address ('localhost', 'http://...', tls:// without its keys)
        raise ValueError(f"--scheduler {scheduler}: not an address a Dask scheduler can be reached at "
                         f"({type(e).__name__}: {e}) (fix: give it as tcp://HOST:PORT, e.g. tcp://127.0.0.1:8786, the "
                         "address `dask scheduler` prints as 'Scheduler at'; or leave --scheduler out for the local "
                         "pool, --workers N); no run was started") from None
    except Exception as e:  # MemoryError, ...: something answered that is no Dask scheduler (break39: an HTTP
        # server, e.g. the dashboard's port 8787, sent a reply read as a frame length of exabytes: an internal error)
        raise ValueError(f"--scheduler {scheduler}: what answered there is not a Dask scheduler "
                         f"({type(e).__name__}: {e}) (fix: give the scheduler's own address, e.g. tcp://HOST:8786, the "
                         "one `dask scheduler` prints as 'Scheduler at', not its dashboard's (8787) or another "
                         "server's; or leave --scheduler out for the local pool, --workers N); no run was "
                         "started") from None
    with client:
        from distributed import Event

        ex = client.get_executor(pure=False)
        ex.stop = Event(f"optdist-sweep-stop-{uuid.uuid4().hex}", client=client)
        try:
            yield ex
        finally:
            ex.shutdown(wait=True)


@dataclass
class SweepReport:
    """What a sweep did: runs in the grid, skipped (already recorded), run now, failed now,
    and where damaged records were set aside (their runs are among those run now)."""

    total: int
    skipped: int
    ran: int
    failed: int
    out: Path
    damaged: list[Path] = field(default_factory=list)
    lost: int = 0  # runs the executor lost (a Dask worker or scheduler gone): unrecorded, redone by a resume


class SweepBusy(ValueError):
    """Another sweep holds the records folder's lock (:func:`sweep_lock`)."""


LOCK_NAME = ".sweep.lock"


@contextmanager
def sweep_lock(out: str | Path, spec_file: str | None = None) -> Iterator[None]:
    """Hold ``OUT/.sweep.lock`` (``flock``, exclusive, released by the kernel when the process
    ends, even by SIGKILL, so a killed sweep never blocks its resume) for the block; raises
    :class:`SweepBusy` naming the holder's pid if another sweep holds it. Two sweeps into one
    folder would run every run twice, each at half the CPU, and record times measured against
    each other. Without ``fcntl`` (not POSIX) no lock is taken.

    ``spec_file``: the spec whose ``out`` key named the folder (its file, e.g. ``s.toml``), for the
    message to name that key and the fix there; None when ``--out`` named it."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    out = Path(out)
    made = [p for p in (out, *out.parents) if not p.exists()]  # the folders this sweep creates, deepest first
    make_output_folder(out)
    fd = os.open(out / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            where, other = ((f"{spec_file}: out = {out}", f"another out in {spec_file}, or --out DIR")
                            if spec_file is not None else (f"--out {out}", "another --out"))
            raise SweepBusy(f"{where}: another `optdist bench` (pid {holder}) is writing these records "
                            f"(fix: wait for it to finish, then run again to resume, or give {other})") from None
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
        except OSError as e:  # e.g. the file-size limit (EFBIG): the file named, the reason and the fix
            raise OutputWriteError(out / LOCK_NAME, e) from None
        yield
    except BaseException:
        if made:
            _remove_made(out, made)
        raise
    finally:
        os.close(fd)  # releases the lock


def _remove_made(out: Path, made: list[Path]) -> None:
    """After a sweep that failed in the folder ``out`` it created (``made``: the folders that did not
    exist before, deepest first): remove its lock file, an empty ``records/`` and each of ``made``
    that is empty, so that no stray folder is left; a folder holding anything else (a record, the
    spec) stays, as do the folders above it. Where no record was written (``records/`` empty or
    absent), the sweep's own ``spec.json`` and ``grid.json`` go too (``out`` is new, so they are this
    sweep's): left alone, they made the folder "not a sweep's folder" whose spec.json optdist had not
    written, and the same command, rerun (a scheduler started, after a Ctrl-C), was refused (break39)."""
    from optdist.bench.records import GRID_NAME

    with contextlib.suppress(OSError):
        (out / LOCK_NAME).unlink()
        if (out / "records").is_dir():
            (out / "records").rmdir()
        if out in made:  # no record kept (else rmdir above raised): the folder holds only what this sweep wrote
            for name in ("spec.json", GRID_NAME):
                (out / name).unlink(missing_ok=True)
        for folder in made:
            folder.rmdir()


def check_runs(runs: list[Run], spec_file: str | Path, solvers: bool = True) -> None:
    """Before any run of a sweep (:func:`run_sweep`, and ``optdist bench`` before ``--dry-run``'s list):
    ValueError naming the spec (``spec_file``, e.g. ``s.toml``, or "spec 'NAME'"), the method, its
    option, the file missing and the fix where a run's ``policy`` lacks its policy.pt or policy.json
    (:func:`optdist.paths.policy_files`), or its ``warm_start`` is neither a method nor a file, or its
    ``plan_start`` file is missing (relative to the current folder, as the sweep reads them); and, with
    ``solvers`` (the local pool: a Dask cluster's workers may have a solver this machine lacks), naming
    the solver, how to install it and the fix where a solver of ``runs`` cannot run here
    (:meth:`optdist.solvers.base.Solver.require`). Before, every run of such a method or solver
    failed (its record's error), exit 1, the spec's other runs made first."""
    from optdist.paths import policy_files
    from optdist.solve import METHODS
    from optdist.solvers import get_solver
    from optdist.solvers.base import SolverUnavailable

    for method, start in dict.fromkeys((r.method, r.options["warm_start"]) for r in runs
                                       if isinstance(r.options.get("warm_start"), str)):
        if start not in METHODS and not Path(start).is_file():
            raise ValueError(f"{spec_file}: method {text_of(method)}'s warm_start {text_of(start)} is neither a method "
                             f"nor a file{in_cwd(start)}, so every run of it would fail (fix: give an assignment or "
                             "result file, e.g. one `optdist solve INSTANCE --method greedy --out start.json` wrote, or "
                             "a method, e.g. warm_start = \"greedy\")")
    for method, plan in dict.fromkeys((r.method, r.options["plan_start"]) for r in runs
                                      if isinstance(r.options.get("plan_start"), str)):
        if not Path(plan).is_file():
            raise ValueError(f"{spec_file}: method {text_of(method)}'s plan_start {text_of(plan)}: no such file"
                             f"{in_cwd(plan)}, so every run of it would fail (fix: give a placement of the forecast, e.g. "
                             "the --out of `optdist solve FORECAST`, or leave plan_start out)")
    for method, policy in dict.fromkeys((r.method, r.options["policy"]) for r in runs
                                        if isinstance(r.options.get("policy"), str)):
        missing = [f for f in policy_files(policy) if not f.is_file()]
        if missing:
            raise ValueError(f"{spec_file}: method {text_of(method)}'s policy {text_of(policy)}: {missing[0]} not found (a "
                             f"policy is its policy.pt and policy.json), so every run of it would fail (fix: give the "
                             f"folder `optdist train-rl INSTANCE --out DIR` wrote"
                             f"{'' if os.path.isabs(policy) else f', relative to {Path.cwd()}'}; "
                             "or leave policy out, and each run trains its own)")
    for name in dict.fromkeys(r.solver for r in runs if r.solver is not None) if solvers else ():
        try:
            get_solver(name).require()
        except SolverUnavailable as e:
            raise ValueError(f"{spec_file}: solvers: {e}, so every run of it would fail (fix: install it; or remove "
                             f"{text_of(name)} from solvers; or run the sweep on a Dask cluster whose workers have it, "
                             "--scheduler ADDRESS)") from None


def run_sweep(
    spec: BenchSpec,
    out: str | Path | None = None,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    retry_errors: bool = False,
    allow_external: bool = False,
    progress: bool = True,
    on_record: Callable[[dict], None] | None = None,
    grid: list[Run] | None = None,
    spec_file: str | None = None,
    saved: BenchSpec | None = None,
) -> SweepReport:
    """Run every unfinished run of ``spec``, writing ``OUT/records/<key>.json`` as each ends.

    ``grid``: the runs the folder's tables count (``OUT/grid.json``,
    :func:`optdist.bench.records.write_grid`), default ``spec.runs()``; ``optdist bench --method``
    passes the whole spec's, so that running one method keeps the others' records in the tables;
    ``saved``: the spec written to ``OUT/spec.json`` (default ``spec``), the whole spec where ``--method``
    runs a part of it, so that ``optdist bench OUT/spec.json`` reruns every method; its ``out`` is ``out``,
    the folder run into (also one given by --out), so that it reruns into this folder.

    ``allow_external`` lets the spec name methods from outside optdist (``module:function``);
    without it they raise ValueError before anything runs, as does a run that cannot start
    (:func:`check_runs`: a missing policy, warm_start or plan_start file; on the local pool, a
    solver not installed here), before any folder is made. Raises :class:`SweepInterrupted`
    on SIGINT/SIGTERM (finished runs keep their records; run again to resume), and
    :class:`SweepBusy` while another sweep writes into ``out`` (:func:`sweep_lock`, naming where the
    folder came from: ``spec_file``, the file of ``spec`` when ``out`` is its ``out`` key; None: ``out``
    was given by --out, or, itself None, is the spec's ``out``). A record that
    cannot be written (the folder made read-only or full during the sweep) stops the sweep like an
    interruption, once: :class:`optdist.bench.records.RecordNotWritten` names the file and the fix;
    the records written, and those of runs finished meanwhile that can be written, are kept.
    """
    check_runs(spec.runs(), spec_file or f"spec {text_of(spec.name)}", solvers=scheduler is None)  # before any folder
    if out is None and spec_file is None:  # the folder is the spec's out
        spec_file = f"spec {text_of(spec.name)}"
    out = Path(out or spec.out)
    dirs = spec.external_methods(allow_external)
    with sweep_lock(out, spec_file):
        return _run_sweep(spec, out, dirs, workers, scheduler, retry_errors, progress, on_record, grid, saved)


def _run_sweep(spec: BenchSpec, out: Path, dirs: dict[str, str], workers: int, scheduler: str | None,
               retry_errors: bool, progress: bool, on_record: Callable[[dict], None] | None,
               grid: list[Run] | None, saved: BenchSpec | None = None) -> SweepReport:
    """:func:`run_sweep`'s body, with the folder's lock held."""
    runs = spec.runs()
    clash = grid_clash(out, spec.name, runs if grid is None else grid)  # another spec's runs of the same configurations, other options
    if clash is not None:
        raise ValueError(clash)
    make_output_folder(out / "records")
    digests = instance_digests(runs)  # the file each run is made from, as the sweep starts
    profiles = solver_profiles(runs)  # the adapter and options each run's solver names, read once
    files = option_digests(runs)  # the files the runs' options name (a policy folder), as the sweep starts
    todo, damaged = pending(out, runs, retry_errors, digests, profiles, files, spec.guard_s)
    # the whole spec, also when --method runs a part of it: `optdist bench OUT/spec.json` reruns all of it, into
    # this folder (its out is the folder run into, also under --out DIR: the fixes that name it write here)
    whole = dataclasses.replace(saved or spec, out=str(out))
    atomic_write_json(out / "spec.json", whole.to_json(), non_finite=True)  # read back by load_spec
    write_grid(out, spec.name, runs if grid is None else grid)
    ran = n_failed = 0
    lost: list[tuple[Run, str]] = []  # runs the executor lost (not run results): left unrecorded, redone on resume
    changed: set[str] = set()  # instance files said to have changed during the sweep
    running = Running() if scheduler is None else None
    with _sigterm_interrupts(), make_executor(workers, scheduler) as ex:
        cwd = os.getcwd()  # a Dask worker runs elsewhere: the spec's relative paths are relative to this folder
        stop = getattr(ex, "stop", None)  # Dask: the flag that kills the runs on the workers (make_executor)
        futures: dict[Future, Run] = {ex.submit(execute, r, spec.guard_s(r), dirs.get(r.method), running, cwd, stop): r
                                      for r in todo}

        def record(fut: Future) -> dict | None:
            """The record of the run of ``fut`` (done), as written; None when the executor itself failed
            (a Dask worker or scheduler lost, the run cancelled): no result of the run, nothing to record."""
            run = futures[fut]
            try:
                rec = fut.result()
            except (Exception, CancelledError) as e:  # infrastructure, not the run: a resume redoes it
                lost.append((run, f"{type(e).__name__}: {e}".rstrip(": ")))
                return None
            start = digests[run.instance_path]
            loaded = rec.get("instance_sha256") or start  # the bytes the worker loaded (None: it could not say)
            rec = rec | {"spec": spec.name, "instance_sha256": loaded, "option_sha256": files[run.key],
                         **{field: profiles[name] for field, name in profile_names(run).items()}}
            if start is not None and loaded != start:  # edited during the sweep: filed under what was solved
                rec["instance_changed"] = (f"the instance file {run.instance_path} changed during the sweep: this run "
                                           f"loaded SHA-256 {loaded}, the sweep started with {start}")
                if run.instance_path not in changed:
                    changed.add(run.instance_path)
                    log.warning("%s: the instance file changed during the sweep (SHA-256 %s as it started, %s as %s "
                                "loaded it); its records hold the hash of the file each run loaded, so those made "
                                "from another version are redone by the next sweep (fix: do not edit instance "
                                "files during a sweep; once it is as it should be, run the same command again)",
                                run.instance_path, start[:12], (loaded or "?")[:12], record_path(out, run.key))
            return rec

        written: set[Future] = set()
        # drawn once the runs are submitted: a --scheduler that did not answer drew a bar first (1/1, 100 %, for a
        # sweep whose runs were all recorded), then the error
        bar = tqdm(total=len(runs), initial=len(runs) - len(todo), desc=spec.name, unit="run", disable=not progress)
        try:
            for fut in as_completed(futures):
                rec = record(fut)
                written.add(fut)
                if rec is None:
                    continue
                write_record(out, rec)  # RecordNotWritten: below
                ran += 1
                n_failed += failed(rec)
                bar.update()
                bar.set_postfix(failed=n_failed)
                if on_record is not None:
                    on_record(rec)
        except BaseException as e:
            finished_now = [f for f in futures if f.done() and f not in written]  # before the kills below end runs
            if stop is not None:  # first: the runs already running on the Dask workers
                with contextlib.suppress(Exception):  # the scheduler may be gone; nothing more to stop then
                    stop.set()
            for fut in futures:
                fut.cancel()
            if running is not None:
                running.stop()
            for fut in finished_now:  # on every way out: the runs that finished meanwhile keep their records where
                rec = record(fut)  # they can be written (before: only when a record could not be written)
                if rec is not None:
                    with contextlib.suppress(RecordNotWritten):
                        write_record(out, rec)
            if isinstance(e, RecordNotWritten):  # once, naming the file and the fix, and no more runs whose records
                raise RecordNotWritten(e.path, e.error, len(record_files(out))) from None  # would be lost too
            raise
        finally:
            bar.close()
    if lost:
        names = ", ".join(r.key for r, _ in lost[:3]) + (f" and {len(lost) - 3} more" if len(lost) > 3 else "")
        log.warning("%d run(s) were lost by the executor, not run to an end (%s; e.g. %s): no record is written for "
                    "them, they are not failed runs (fix: check the Dask scheduler and workers, then run the same "
                    "command again: it redoes them)", len(lost), lost[0][1], names)
    return SweepReport(len(runs), len(runs) - len(todo), ran, n_failed, out, damaged, len(lost))
