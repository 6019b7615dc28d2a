"""fix39: ``optdist bench --scheduler`` with nothing listening fails in seconds (was 30 s);
``optdist generate --privacy nope`` names the flag (was the instance file made from it); a bench
spec's ``solver_options`` that CBC does not take are refused before any run (was: every CBC run
failed); a stop at once (:func:`optdist.solvers.base.stop_at_once`) that lands in a HiGHS solve
stops the block; ``from_scratch.py`` removes its temporary work folder when it fails, and one
Ctrl-C stops it within seconds, whichever solve runs, with exit status 130 and one line naming the
step."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from optdist.bench.spec import load_spec
from optdist.cli import main
from optdist.solvers import ADAPTERS

from .conftest import ROOT

SCRIPT = ROOT / "benchmarks" / "scale" / "cifar20_mix" / "from_scratch.py"
MICRO = ROOT / "instances" / "tiny" / "micro-1x3-tau0.6.json"

def _free_port() -> int:
    """A local TCP port nothing listens at (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_scheduler_address_nothing_listens_at_fails_fast_naming_the_flag(tmp_path, capsys, monkeypatch):
    """Before: Dask's default connect timeout, 30 s, then the error."""
    pytest.importorskip("distributed")
    monkeypatch.chdir(ROOT)
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps({"name": "t", "out": str(tmp_path / "o"), "instances": [str(MICRO)], "methods": ["greedy"]}))
    address = f"tcp://127.0.0.1:{_free_port()}"
    t0 = time.monotonic()
    assert main(["bench", str(spec), "--no-progress", "--scheduler", address]) == 2
    took = time.monotonic() - t0
    err = " ".join(capsys.readouterr().err.split())
    assert took < 15, took
    assert f"--scheduler {address}: no Dask scheduler answered in 5 s" in err
    assert "start one (`dask scheduler`" in err and "or leave --scheduler out" in err
    assert not list((tmp_path / "o" / "records").glob("*.json"))


@pytest.mark.parametrize("privacy, table, cnn", [("nope", "nope", "lenet"), ("paper,cifar=he2019x", "he2019x", "cifar")])
def test_an_unknown_privacy_table_names_the_flag_and_what_is_accepted(tmp_path, capsys, privacy, table, cnn):
    out = tmp_path / "g.json"
    assert main(["generate", "--name", "g", "--requests", "lenet=2,cifar=1", "--devices", "rpi3=2", "--tau", "0.8",
                 "--privacy", privacy, "--out", str(out)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f'--privacy "{privacy}": no privacy table "{table}" for {cnn}' in err
    assert f"bundled for {cnn}: " in err and '"he2019", "paper"' in err
    assert "none (no privacy limit) or a table file (a path ending in .json)" in err and "CNN=TABLE" in err
    assert f"(fix: give one of those, e.g. a bundled name listed here, or --privacy {cnn}=none)" in err
    assert str(out) not in err and "(generated instance)" not in err and not out.exists()


@pytest.mark.parametrize("where", ["options", "method_options.milp"])
def test_solver_options_cbc_does_not_take_are_refused_when_the_spec_loads(tmp_path, where):
    """HiGHS's mip_rel_gap given to CBC: the fix names CBC's ratioGap and optdist's mip_gap."""
    if not ADAPTERS["cbc"].is_available():
        pytest.skip("cbc not installed")
    spec = tmp_path / "s.toml"
    spec.write_text(f'name = "s"\nout = "{tmp_path / "out"}"\ninstances = ["{MICRO}"]\nmethods = ["milp"]\n'
                    f'solvers = ["highs", "cbc"]\n\n[{where}.solver_options]\nmip_rel_gap = 0.01\n')
    with pytest.raises(ValueError) as got:
        load_spec(spec)
    assert str(got.value) == (f'{spec}: {where}.solver_options (solver cbc): CBC has no option "mip_rel_gap" (fix: did '
                              "you mean ratioGap? optdist's generic option for it: mip_gap=0.01. The names: `cbc -?`)")
    spec.write_text(spec.read_text().replace("mip_rel_gap", "ratioGap").replace('"highs", ', ""))
    assert load_spec(spec).runs()[0].options["solver_options"] == {"ratioGap": 0.01}


def test_a_stop_at_once_during_a_highs_solve_stops_the_block(sigint_handled):
    """The SIGINT's handler runs inside highspy's interrupt callback, called from HiGHS's native code,
    where an exception raised is lost: before, the solve was cancelled and returned as if nothing
    had come, and the block ran on (``from_scratch.py``'s engine, for seconds to minutes)."""
    import threading

    from optdist.instance import load_instance
    from optdist.milp.model import build
    from optdist.solvers import get_solver
    from optdist.solvers.base import stop_at_once, stop_on_signals

    class Stopped(Exception):
        pass

    b = build(load_instance(ROOT / "instances" / "paper" / "lenet-10x10-tau0.6.json"))
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))
    t0 = time.monotonic()
    with stop_on_signals(lambda signum: None):
        with pytest.raises(Stopped, match="SIGINT"):
            with stop_at_once(lambda signum: Stopped(signal.Signals(signum).name)):
                timer.start()
                get_solver("highs").solve(b.model, time_limit=60, threads=1)
    timer.join()
    assert time.monotonic() - t0 < 10


def test_from_scratch_without_workdir_that_fails_leaves_no_temporary_folder(tmp_path):
    """The engine proves cifar-1x4 optimal before any priced solve: an error, exit 2; its temporary
    work folder (made under TMPDIR) was left behind, empty."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    out = tmp_path / "o.json"
    got = subprocess.run([sys.executable, str(SCRIPT), "instances/tiny/cifar-1x4-tau0.8.json", "--out", str(out)],
                         cwd=ROOT, capture_output=True, text=True, timeout=120, env={**os.environ, "TMPDIR": str(tmp)})
    assert got.returncode == 2 and "nothing to mix" in got.stderr, got.stderr
    assert f"work folder {tmp}/from_scratch-" in got.stdout  # it was made there
    assert list(tmp.iterdir()) == [] and not out.exists()


def _default_sigint() -> None:
    """In the child, before it runs Python: SIGINT's default action, as under a terminal. A process
    started in the background by a non-interactive shell inherits SIGINT ignored (so do its
    children, and Python then installs no handler): the script would never see the signal."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _wait_for(proc: subprocess.Popen, text: str, timeout: float) -> list[str]:
    """Read ``proc``'s stdout until a line holds ``text`` (the lines read); kill it and fail after ``timeout`` s."""
    end, seen = time.monotonic() + timeout, []
    while (left := end - time.monotonic()) > 0 and select.select([proc.stdout], [], [], left)[0]:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if text in line:
            return seen
    proc.kill()
    pytest.fail(f"no '{text}' on stdout in {timeout:g} s: {seen}, stderr {proc.communicate()[1]}")


def ctrl_c_from_scratch(tmp_path, instance: str, after_s: float) -> tuple[int, str, Path, Path]:
    """Start ``from_scratch.py`` on ``instance`` (``--out`` and its TMPDIR in ``tmp_path``), send one
    SIGINT ``after_s`` seconds after it prints its engine step, and wait at most 30 s for it: its exit
    status, stderr, ``--out`` and TMPDIR (fails if it is still running)."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    out = tmp_path / "o.json"
    proc = subprocess.Popen([sys.executable, str(SCRIPT), instance, "--out", str(out)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "TMPDIR": str(tmp)}, preexec_fn=_default_sigint)
    # the step's line is printed as the engine starts (the progress is on stdout; stderr has only warnings)
    _wait_for(proc, "step 1 engine ...", 120)
    time.sleep(after_s)
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"still running 30 s after SIGINT: {proc.communicate()[1]}")
    return proc.returncode, err, out, tmp


def test_one_ctrl_c_in_the_engine_stops_from_scratch_within_seconds(tmp_path):
    """Before: the SIGINT, landing in one of the engine's HiGHS solves, stopped only that solve (an
    exception raised in HiGHS's interrupt callback is lost), and the engine ran on (its dual steps,
    up to 30 s; over 120 s under load) before the script said it was interrupted, naming no step."""
    # 4 s: into the engine's HiGHS solves of its round 0 (15-25 s on cifar-20x20; 2 s: often a model build)
    code, err, out, tmp = ctrl_c_from_scratch(tmp_path, "instances/coupled/cifar-20x20-nexus-rpi3.json", 4)
    lines = err.strip().splitlines()
    assert code == 130, err
    assert lines[-1] == (f"from_scratch.py: interrupted by SIGINT in step 1 engine: nothing written to --out {out}; "
                         "nothing kept (steps done: none; the temporary work folder is removed: give --workdir DIR "
                         "to keep them); rerun the command to start again"), err
    assert "Traceback" not in err and not out.exists() and list(tmp.iterdir()) == []
