"""Shared fixtures: paths to bundled instances, a hand-checkable LeNet instance, an exact half-up rounding."""

from __future__ import annotations

import importlib.util
import math
import os
import signal
import threading
import time
from fractions import Fraction
from pathlib import Path
from types import ModuleType

import pytest

from optdist.instance import load_instance, parse
from optdist.solvers import ADAPTERS

ROOT = Path(__file__).resolve().parents[1]
TINY = sorted((ROOT / "instances" / "tiny").glob("*.json"))
PAPER = sorted((ROOT / "instances" / "paper").glob("*.json"))
#: one LeNet request on 4 devices: GLPK's first placement of its tight model, within a 0.5 gap,
#: scores 0.00135523051 s; the optimum (:func:`lenet_optimum`) is 0.00103928275 s
LENET_1X4 = ROOT / "instances" / "tiny" / "lenet-1x4-tau0.8.json"


def hand_doc(privacy=None, tau: float = 0.8, uplink: str = "parallel", **src_over) -> dict:
    """LeNet on 3 devices with round numbers: e = 1, 2, 4 Mmult/s, rho = 1, 2, 4 kB/s; source e = 1M, rho = 1k."""
    big = 1e12
    dev = lambda i, e, rho: {"id": f"d{i}", "memory": big, "mults_per_s": e, "rate": rho,  # noqa: E731
                             "compute_capacity": big, "bandwidth_capacity": big}
    src = {"id": "s", "memory": big, "mults_per_s": 1e6, "rate": 1e3, "compute_capacity": big, "bandwidth_capacity": big}
    src.update(src_over)
    return {
        "format": "optdist-instance/1",
        "name": "hand",
        "tau": tau,
        "privacy": {"lenet": privacy},
        "devices": [dev(0, 1e6, 1e3), dev(1, 2e6, 2e3), dev(2, 4e6, 4e3)],
        "sources": [src],
        "requests": [{"id": "r1", "source": "s", "cnn": "lenet"}],
        "objective": {"uplink": uplink},
    }


def half_up(written: Fraction, decimals: int) -> float:
    """``written`` rounded half up to ``decimals`` places in exact fractions (no float, no Decimal):
    the reading of a privacy cell at ``ssim_decimals``, independent of ``optdist.privacy.round_ssim``."""
    scale = 10**decimals
    return float(Fraction(math.floor(written * scale + Fraction(1, 2)), scale))


def requires_solver(name: str) -> pytest.MarkDecorator:
    """Skip (with the install hint) unless solver adapter ``name`` can run here; CI installs CBC and GLPK."""
    cls = ADAPTERS[name]
    return pytest.mark.skipif(not cls.is_available(), reason=f"{name} not installed: {cls.install_hint}")


@pytest.fixture
def hand_instance():
    return parse(hand_doc(), "hand")


@pytest.fixture
def sigterm_during(monkeypatch):
    """``run(module, name, solve)``: SIGTERM is sent as ``module.name`` (a function running one
    solve of a multi-solve method) is first called, then ``solve()`` runs with the process's
    SIGTERM handler replaced (so that a run the signal fails to stop is not killed). Returns
    ``(result, calls, outcomes)``: ``solve()``'s result, what each call of ``module.name``
    returned, and the status of every :meth:`Solver.solve` call after the signal."""
    import os
    import signal

    from optdist.solvers.base import Solver

    def run(module, name: str, solve):
        calls: list[object] = []
        outcomes: list[str] = []
        inner, solve_model = getattr(module, name), Solver.solve

        def signalled(*args, **kwargs):
            if not calls:
                os.kill(os.getpid(), signal.SIGTERM)
            calls.append(inner(*args, **kwargs))
            return calls[-1]

        def recorded(self, *args, **kwargs):
            out = solve_model(self, *args, **kwargs)
            if calls or outcomes:
                outcomes.append(out.status)
            return out

        monkeypatch.setattr(module, name, signalled)
        monkeypatch.setattr(Solver, "solve", recorded)
        previous = signal.signal(signal.SIGTERM, lambda *_: None)  # without the fix: not the default kill
        try:
            return solve(), calls, outcomes
        finally:
            signal.signal(signal.SIGTERM, previous)

    return run


linux_only = pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc to see the solver process")


def solver_pids(pid: int, binary: str) -> list[int]:
    """The children of process ``pid`` (any of its threads') that run ``binary`` (Linux /proc;
    empty elsewhere or when there is none)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids = (task / "children").read_text().split()
        except OSError:
            continue
        for kid in kids:
            try:
                if Path(f"/proc/{kid}/exe").resolve().name == binary:
                    found.append(int(kid))
            except OSError:
                pass
    return found


def kill_solver_once_it_runs(binary: str, killed: list[int], after: float = 0.3,
                             every: threading.Event | None = None) -> threading.Thread:
    """A started thread that SIGKILLs the first ``binary`` child of this process (Linux /proc) still
    running ``after`` seconds after it appeared (as the OOM killer would), appending its pid to
    ``killed``. Pyomo's short version queries (``cbc -stop``, ``glpsol --version``) are left alone,
    so ``after=0`` kills the first solve on sight (tests/test_solver_death.py). With ``every``, it
    kills every one that runs until that event is set."""

    def solving(pid: int) -> bool:
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return False
        return state != "Z" and args[-2:-1] not in ([b"-stop"], [b"--version"])  # cmdline ends with a NUL

    def run() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            for pid in solver_pids(os.getpid(), binary):
                if not solving(pid):
                    continue
                time.sleep(after)
                if pid in solver_pids(os.getpid(), binary) and solving(pid):  # still our running child
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                    if every is None:
                        return
            if every is not None and every.is_set():
                return
            time.sleep(0.01)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def kill_the_nth_solver(monkeypatch, binary: str, n: int, killed: list[int]) -> None:
    """SIGKILL the ``n``-th (from 1) ``binary`` process that a solve of this process starts (as the
    OOM killer would; appends its pid to ``killed``), counted as optdist starts each solver process
    (:class:`optdist.solvers.subprocesses._SubprocessForPyomo`, in the thread that solves), so that
    neither a solve of milliseconds nor a loaded machine can make the count skip one. Pyomo's
    version queries (``cbc -stop``) are no solve and are not counted. The ``n``-th is started on its
    model file made a FIFO (the file moved aside, CBC's ``-import FILE``; GLPK's ``--cpxlp FILE``):
    the real solver runs and waits to open it, so it is still running when the SIGKILL comes, however
    late that is (a solve of lenet-1x4 takes about 40 ms).

    Before (robust28), ``kill_the_nth_solve`` of tests/test_pareto_robust.py polled /proc every
    5 ms for the n-th child: at load ~2 it missed about one 2nd CBC solve in 10, which ended
    between two looks, and killed the 3rd; so did SIGKILL as the process was recorded (this
    process's solving thread, waiting for the GIL, came after the 40-ms CBC had ended)."""
    from optdist.solvers import subprocesses

    real = subprocesses.subprocess
    started: list[int] = []

    def popen(args, *rest, **kwargs):
        argv = [str(a) for a in args] if isinstance(args, (list, tuple)) else [str(args)]
        if Path(argv[0]).name != binary:
            return real.Popen(args, *rest, **kwargs)
        started.append(len(started) + 1)
        if len(started) != n:
            return real.Popen(args, *rest, **kwargs)
        model = next(Path(argv[i + 1]) for i, a in enumerate(argv[:-1]) if a in ("-import", "--cpxlp", "--math"))
        model.rename(model.with_name(model.name + ".aside"))
        os.mkfifo(model)  # the solver blocks opening it: no writer ever comes
        proc = real.Popen(args, *rest, **kwargs)
        proc.send_signal(signal.SIGKILL)  # still running (not reaped: its communicate() has not begun)
        killed.append(proc.pid)
        return proc

    solver_popen(monkeypatch, popen)


def solver_popen(monkeypatch, popen) -> None:
    """Make optdist's solver-process module (:mod:`optdist.solvers.subprocesses`) start its
    solvers with ``popen`` (the rest of ``subprocess`` unchanged), for this test."""
    import subprocess as real

    from optdist.solvers import subprocesses

    class Subprocess:
        Popen = staticmethod(popen)

        def __getattr__(self, name: str):
            return getattr(real, name)

    monkeypatch.setattr(subprocesses, "subprocess", Subprocess())


def load_script(relpath: str) -> ModuleType:
    """The benchmark script ``relpath`` (from the repository root) imported as a module, without
    running its ``__main__`` block."""
    path = ROOT / relpath
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def result_and_assignment(tmp_path: Path, instance: Path) -> tuple[Path, Path]:
    """A greedy result file of ``instance`` (``optdist solve --out``) and its assignment alone, in ``tmp_path``."""
    import json

    from optdist.cli import main

    res = tmp_path / "res.json"
    assert main(["solve", str(instance), "--method", "greedy", "--out", str(res), "-q"]) == 0
    asg = tmp_path / "asg.json"
    asg.write_text(json.dumps(json.loads(res.read_text())["assignment"]))
    return res, asg


def refused(main, capsys, *argv: str) -> str:
    """``main(argv)`` must refuse the input with exit 2 and no traceback; returns its stderr."""
    assert main(list(argv)) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def record_watchdog_timers(monkeypatch, module: ModuleType) -> list:
    """Make ``module.watchdog`` (an import of :func:`optdist.solvers.base.watchdog`) keep every
    timer it arms in the returned list, so a test can run a solve's stop action by hand later."""
    timers: list = []
    made = module.watchdog

    def kept(*args: object):
        timer = made(*args)
        if timer is not None:
            timers.append(timer)
        return timer

    monkeypatch.setattr(module, "watchdog", kept)
    return timers


# pair and joint moves (tests/test_repair.py, tests/test_joint_moves.py)
import numpy as np  # noqa: E402

from optdist.instance import Instance  # noqa: E402
from optdist.milp.decomposition.bounds import capacity_matrix  # noqa: E402
from optdist.milp.decomposition.single import alone  # noqa: E402
from optdist.transfers import RESOURCES  # noqa: E402


def capacity_dict(c: np.ndarray) -> dict[str, np.ndarray]:
    """A capacity matrix (n_nodes, 3: :func:`optdist.milp.decomposition.bounds.capacity_matrix`) as
    the per-resource dict ``capacity=`` takes (:func:`optdist.milp.decomposition.single.solve_single`)."""
    return {k: c[:, i] for i, k in enumerate(RESOURCES)}


def fits(inst: Instance, owners: list) -> bool:
    """The placed requests' usage together within every node's capacity (MODEL.md 10b-10d)."""
    use = sum(alone(inst, r, o)[1] for r, o in enumerate(owners) if o is not None)
    return bool((use <= capacity_matrix(inst) * (1 + 1e-9) + 1e-9).all())


@pytest.fixture
def sigint_handled():
    """For tests that send SIGINT to this process: Python's own SIGINT handler during the test (a
    background job, e.g. ``make test &`` or ``nohup``, starts with SIGINT ignored, and optdist leaves
    an ignored signal ignored, so the signal would do nothing), and afterwards the process's signal
    state as it was: the SIGINT/SIGTERM handlers and :mod:`optdist.interrupts`' flags, which the
    CLI's ``main()`` changes (a command stopped by a signal ignores later ones)."""
    import signal

    import optdist.interrupts as interrupts

    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    flags = (interrupts._ends_with_command, interrupts._stopped, interrupts._last)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        for s, h in handlers.items():
            signal.signal(s, h)
        interrupts._ends_with_command, interrupts._stopped, interrupts._last = flags


def same_placement(a, b) -> bool:
    """Whether the assignments ``a`` and ``b`` place every layer of every request on the same owners."""
    return all(np.array_equal(x, y) for ra, rb in zip(a.owners, b.owners, strict=True)
               for x, y in zip(ra, rb, strict=True))


@pytest.fixture(scope="session")
def lenet_optimum():
    """HiGHS's optimal placement of :data:`LENET_1X4` (tight, gap 1e-6): a feasible warm start."""
    import optdist

    res = optdist.solve(LENET_1X4, formulation="tight", solver="highs", mip_gap=1e-6)
    assert res.termination == "optimal" and res.evaluation.feasible
    return res.assignment


@pytest.fixture
def lenet_optimum_file(lenet_optimum, tmp_path) -> Path:
    """:func:`lenet_optimum` saved as an assignment .json (a ``--warm-start`` file)."""
    path = tmp_path / "optimum.json"
    lenet_optimum.save(load_instance(LENET_1X4), path)
    return path


def sigint_once(ready, after_s: float, wait_s: float = 60.0):
    """Start a thread that sends SIGINT to this process ``after_s`` seconds after ``ready()`` (a
    predicate polled every 10 ms, e.g. "the training's stop_on_signals block is open") first
    holds; after ``wait_s`` anyway (a bound for a run where it never holds, not a timing under
    test). Returns the thread (join it). For tests in a ``sigint_handled`` fixture."""
    import os
    import signal
    import threading
    import time

    def send() -> None:
        deadline = time.monotonic() + wait_s
        while not ready() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(after_s)
        os.kill(os.getpid(), signal.SIGINT)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread
