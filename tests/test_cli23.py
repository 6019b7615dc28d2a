"""The CLI's start-up under a signal, and the plan methods' flags of ``optdist solve``.

Start-up: a Ctrl-C (or SIGTERM) while ``optdist`` imports its command modules and parses its
arguments (1-2 s on a shared machine) printed a raw KeyboardInterrupt traceback (SIGTERM: the
process died without a word). Now it ends with the CLI's one line and 130 (143). The signals are
real, sent to a real ``python -m optdist`` / console-script process at a sweep of delays counted
from the moment the interpreter has imported :mod:`optdist.interrupts` (``-m``: inside the import
of :mod:`optdist.cli`, which ``optdist/__main__.py`` guards) or :mod:`optdist.cli` (the console
script: ``main`` starts next). What comes before is the interpreter's own start-up (``site``, 0.1 s;
``-m``: runpy), where a Ctrl-C is CPython's, as in any Python program, and for the console
script the import of ``optdist`` and :mod:`optdist.cli` (stdlib modules and two small ones,
milliseconds). The moment is read from ``-X importtime``, which only reports imports as they
finish: the code path is the real one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from optdist.cli import main

ROOT = Path(__file__).resolve().parents[1]
#: a solve far longer than the sweep's delays (60 s without a proof on this machine), so that
#: every signal lands before the command could end by itself: the status must be the signal's
LONG = ROOT / "instances" / "paper" / "lenet-10x10-tight-tau0.8.json"
#: seconds after the import (of :mod:`optdist.interrupts` or :mod:`optdist.cli`) at which the
#: signal is sent: from ``main``'s start through the command modules' imports (1-2 s) and the
#: argument parsing to the instance's loading and the solve
DELAYS = (0.0, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.7, 1.0, 1.5)
#: the console script ``optdist`` (``optdist = "optdist.cli:main"`` of pyproject.toml), as pip writes it
CONSOLE_SCRIPT = "import sys; from optdist.cli import main; sys.argv[0] = 'optdist'; sys.exit(main())"


def _signal_after_import(entry: list[str], args: list[str], signum: int, delay: float,
                         module: str, then_next: bool = False) -> tuple[int, str]:
    """Run ``python -X importtime ENTRY ARGS`` (this checkout first on the path), send ``signum``
    ``delay`` s after the interpreter reports ``module`` imported (``then_next``: the next import
    after it, the first inside ``main`` where ``module`` is :mod:`optdist.cli`), and return (exit
    status, stderr without the import-time lines). stderr is read by a thread throughout, so the
    child never waits on a full pipe."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    # SIGINT at its default in the child: a test run in a background job (bash ignores SIGINT
    # there) would hand its child an ignored SIGINT, which optdist leaves ignored (as under nohup)
    proc = subprocess.Popen([sys.executable, "-X", "importtime", *entry, *args], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    lines: list[str] = []
    imported = threading.Event()

    def read() -> None:
        seen = False
        for line in proc.stderr:
            lines.append(line)
            if line.startswith("import time:"):
                if seen and then_next:
                    imported.set()
                seen = seen or line.rstrip().rsplit("|", 1)[-1].strip() == module
                if seen and not then_next:
                    imported.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert imported.wait(60), f"{module} was never imported:\n{''.join(lines[-20:])}"
        time.sleep(delay)
        proc.send_signal(signum)
        rc = proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(10)
    return rc, "".join(line for line in lines if not line.startswith("import time:"))


def _sweep(entry: list[str], signum: int, module: str, then_next: bool = False) -> list[str]:
    """Every delay of :data:`DELAYS`: the failures (delay, status and stderr), empty if none. Each
    run must end with the signal's status and, on stderr, no traceback and either the one line
    (a signal before the solve) or the solve's own stop (its warning, "SIG...: stopping ...,
    keeping ... incumbent ... (again to abort)": the result, on stdout, says interrupted)."""
    want = 143 if signum == signal.SIGTERM else 130
    said = "optdist solve: terminated (SIGTERM)" if signum == signal.SIGTERM else "optdist solve: interrupted"
    failures = []
    for delay in DELAYS:
        rc, err = _signal_after_import(entry, ["solve", str(LONG), "--time-limit", "60"], signum, delay, module,
                                       then_next)
        if (rc != want or "Traceback" in err
                or (err.strip().splitlines()[-1:] != [said]
                    and f"{signal.Signals(signum).name}: stopping " not in err)):
            failures.append(f"delay {delay} s: exit {rc}, stderr:\n{err}")
    return failures


@pytest.mark.slow
def test_ctrl_c_at_any_moment_of_start_up_gives_the_one_line_message_and_130():
    """``python -m optdist solve``: SIGINT from :mod:`optdist.cli`'s import on, through the command
    modules' imports (1-2 s), the parsing and the loading: one line, exit 130, no traceback.
    Before: a raw KeyboardInterrupt traceback (exit 1 or 130) for every delay up to ~1.5 s; and
    where the interrupt came inside code run by ``exec`` (namedtuple, dataclasses), the process
    then died by SIGINT (status -2) after its message (:class:`optdist.interrupts.Interrupted`)."""
    failures = _sweep(["-m", "optdist"], signal.SIGINT, module="optdist.interrupts")
    assert not failures, "\n".join(failures)


@pytest.mark.slow
def test_sigterm_at_any_moment_of_start_up_gives_the_one_line_message_and_143():
    """The same for SIGTERM from ``main``'s first import on (SIGTERM's handler is ``main``'s):
    "optdist solve: terminated (SIGTERM)", exit 143. Before: the process was killed by the signal without a
    word (status -15) until the command ran."""
    failures = _sweep(["-m", "optdist"], signal.SIGTERM, module="optdist.cli", then_next=True)
    assert not failures, "\n".join(failures)


@pytest.mark.slow
def test_ctrl_c_in_the_console_scripts_start_up_gives_the_one_line_message_and_130():
    """The console script (``from optdist.cli import main; sys.exit(main())``), counted from
    ``main``'s first import (the script's own import of :mod:`optdist.cli`, before ``main`` runs,
    takes milliseconds: ``import optdist`` no longer imports numpy, pandas and pydantic)."""
    failures = _sweep(["-c", CONSOLE_SCRIPT], signal.SIGINT, module="optdist.cli", then_next=True)
    assert not failures, "\n".join(failures)


def test_a_ctrl_c_inside_code_run_by_exec_still_exits_130(tmp_path):
    """In the CLI's own process (``process_ends_with_command``) a Ctrl-C that lands in code run by
    ``exec`` of a string (``collections.namedtuple`` and ``dataclasses`` build their methods so:
    frequent while the command modules import) and is caught ends with the status the program
    gives, 130. Before, the interrupt was a plain KeyboardInterrupt, which CPython then took as
    uncaught: after the message, ``python -m`` ended the process by SIGINT (status -2). A real
    signal in a real ``exec``, run as ``python -m`` as the CLI is."""
    (tmp_path / "signalled").mkdir()
    (tmp_path / "signalled" / "__init__.py").write_text("")
    (tmp_path / "signalled" / "__main__.py").write_text(
        "import os, signal, sys\n"
        "from optdist.interrupts import process_ends_with_command\n"
        "process_ends_with_command()\n"
        "try:\n"
        "    exec('os.kill(os.getpid(), signal.SIGINT)\\nfor i in range(3): pass')\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted', file=sys.stderr)\n"
        "sys.exit(130)\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    out = subprocess.run([sys.executable, "-m", "signalled"], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=60, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert (out.returncode, out.stderr) == (130, "interrupted\n")


def test_import_optdist_is_light_and_keeps_its_public_names():
    """``import optdist`` imports none of numpy, pandas, pydantic (the CLI's start-up before it can
    handle a signal); the public names are still there, and ``optdist.solve`` and
    ``optdist.evaluate`` stay the functions after their submodules are imported."""
    code = ("import sys, optdist; heavy = sorted(m for m in ('numpy', 'pandas', 'pydantic') if m in sys.modules); "
            "import optdist.solve, optdist.evaluate, optdist.commands.solve; "
            "from optdist import Instance, METHODS, load_instance; "
            "print(heavy, callable(optdist.solve), optdist.solve.__module__, optdist.evaluate.__module__, "
            "Instance.__name__, 'plan-guided' in METHODS, 'solve' in dir(optdist))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["[]", "True", "optdist.solve", "optdist.evaluate", "Instance", "True", "True"]


# --- the plan methods' flags of `optdist solve` ---------------------------------------------

TINY = ROOT / "instances" / "tiny" / "micro-2x3-tight.json"


@pytest.fixture
def forecast_and_start(tmp_path: Path) -> tuple[Path, Path]:
    """A forecast of ``micro-2x3-tight`` under another name (its first request only), and a
    placement of it (the greedy's result file, as ``optdist solve --out`` writes it)."""
    doc = json.loads(TINY.read_text())
    doc.update(name="micro-forecast", requests=doc["requests"][:1])
    forecast = tmp_path / "forecast.json"
    forecast.write_text(json.dumps(doc))
    start = tmp_path / "start.json"
    assert main(["solve", str(forecast), "--method", "greedy", "--out", str(start), "-q"]) == 0
    return forecast, start


@pytest.mark.parametrize("method", ["plan-guided", "plan-rollout"])
def test_the_plan_flags_reach_the_method(method, forecast_and_start, tmp_path, capsys):
    """--forecast, --plan-start, --plan-time-limit, --polish-time-limit, --repair-time-limit (and
    --improve, plan-guided's) reach the method: the result file's extra records each. Before:
    argparse refused them (Python only)."""
    forecast, start = forecast_and_start
    out = tmp_path / "res.json"
    improve = ["--improve"] if method == "plan-guided" else []
    rc = main(["solve", str(TINY), "--method", method, "--forecast", str(forecast), "--plan-start", str(start),
               "--plan-time-limit", "7", "--polish-time-limit", "0", "--repair-time-limit", "3", *improve,
               "--threads", "1", "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    extra = json.loads(out.read_text())["extra"]
    assert (extra["forecast"], extra["plan_start"]) == ("micro-forecast", str(start))
    assert (extra["plan_time_limit_s"], extra["polish_time_limit_s"], extra["repair_time_limit_s"]) == (7.0, 0.0, 3.0)
    if method == "plan-guided":
        assert extra["improve"] is True


def test_the_plan_flags_defaults_are_the_methods(tmp_path, capsys):
    """Without the flags the method's own defaults hold (60 s plan, polish as long, 5 s per
    repair, no improvement): the CLI passes nothing it was not given. A guard (it passes without
    the flags too), for the plumbing of :func:`optdist.commands.solve._method_options`."""
    out = tmp_path / "res.json"
    assert main(["solve", str(TINY), "--method", "plan-guided", "--threads", "1", "--out", str(out), "-q"]) == 0
    extra = json.loads(out.read_text())["extra"]
    assert (extra["plan_time_limit_s"], extra["polish_time_limit_s"], extra["repair_time_limit_s"]) == (60.0, 60.0, 5.0)
    assert extra["improve"] is False and extra["plan_start"] is None and extra["forecast"] == "micro-2x3-tight"


@pytest.mark.parametrize("flag, value, fix", [
    ("--plan-time-limit", "0", "> 0, e.g. --plan-time-limit 60)"),
    ("--plan-time-limit", "-1", "> 0, e.g. --plan-time-limit 60)"),
    ("--plan-time-limit", "nan", "> 0, e.g. --plan-time-limit 60)"),
    ("--plan-time-limit", "inf", "> 0, e.g. --plan-time-limit 60)"),
    ("--polish-time-limit", "-0.5", "> 0, or 0 for no polish, e.g. --polish-time-limit 10)"),
    ("--polish-time-limit", "inf", "> 0, or 0 for no polish, e.g. --polish-time-limit 10)"),
    ("--repair-time-limit", "0", "> 0, e.g. --repair-time-limit 5)"),
    ("--repair-time-limit", "-3", "> 0, e.g. --repair-time-limit 5)"),
])
def test_a_plan_flag_out_of_range_is_refused_before_any_work(flag, value, fix, tmp_path, capsys):
    """Out of range: exit 2, the error names the flag, its value and the fix, before the instance
    is loaded (no "solving" note, no --out written)."""
    out = tmp_path / "res.json"
    assert main(["solve", str(TINY), "--method", "plan-guided", flag, value, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    problem = "is not a number" if value == "nan" else "is out of range"  # nan: not a number (scip28)
    said = f"optdist solve: error: {flag} {value} {problem} (fix: give a finite number of seconds {fix}"
    assert said in err
    assert "solving" not in err and not out.exists()


@pytest.mark.parametrize("method, flags, owners", [
    ("greedy", ["--plan-time-limit", "5"], "plan-guided or plan-rollout"),
    ("milp", ["--forecast", str(TINY)], "plan-guided or plan-rollout"),
    ("milp", ["--polish-time-limit", "0"], "plan-guided or plan-rollout"),
    ("rl", ["--repair-time-limit", "2"], "plan-guided or plan-rollout"),
    ("edge-cloud", ["--plan-start", str(TINY)], "plan-guided or plan-rollout"),
    ("plan-rollout", ["--improve"], "plan-guided"),
    ("milp", ["--improve"], "plan-guided"),
])
def test_a_plan_flag_of_another_method_is_refused(method, flags, owners, capsys):
    """A plan flag with a method that does not take it: exit 2, "FLAG is an option of --method
    OWNERS, not of METHOD" and the fix, as the other method-specific flags."""
    assert main(["solve", str(TINY), "--method", method, *flags]) == 2
    err = capsys.readouterr().err
    first = owners.split(" or ")[0]
    assert (f"{flags[0]} is an option of --method {owners}, not of {method} "
            f"(fix: leave it out, or use --method {first})") in err


def test_a_plan_start_that_is_not_a_placement_of_the_forecast_is_refused(forecast_and_start, tmp_path, capsys):
    """--plan-start is read as --warm-start files are (an assignment or result file,
    ``load_placement``): one of another problem, a result without a placement or a missing file
    is refused (exit 2) naming the file, the field and the fix, before the plan."""
    forecast, start = forecast_and_start
    other = tmp_path / "other.json"  # a placement of the instance (2 requests), not of the 1-request forecast
    assert main(["solve", str(TINY), "--method", "greedy", "--out", str(other), "-q"]) == 0
    empty = tmp_path / "empty.json"
    doc = json.loads(start.read_text())
    doc.update(assignment=None, termination="no_solution")
    empty.write_text(json.dumps(doc))
    capsys.readouterr()
    for given, says in ((other, "r2"), (empty, 'field "assignment"'), (tmp_path / "missing.json", "missing.json")):
        assert main(["solve", str(TINY), "--method", "plan-guided", "--forecast", str(forecast),
                     "--plan-start", str(given)]) == 2
        err = capsys.readouterr().err
        assert f"plan_start {given}" in err and says in err and "fix" in err, err
        assert "solving" in err and "Traceback" not in err  # the method's check, before its plan


@pytest.mark.parametrize("flag", ["--forecast", "--plan-start"])
def test_out_may_not_be_the_forecast_or_the_plan_start(flag, forecast_and_start, capsys):
    """--out that is the --forecast or --plan-start file is refused before any work (it would be
    overwritten by the result)."""
    forecast, start = forecast_and_start
    given = forecast if flag == "--forecast" else start
    before = given.read_bytes()
    assert main(["solve", str(TINY), "--method", "plan-guided", "--forecast", str(forecast), "--plan-start",
                 str(start), "--out", str(given)]) == 2
    assert "--out" in capsys.readouterr().err and given.read_bytes() == before


def test_help_lists_the_plan_flags(capsys):
    """``optdist solve --help`` documents each plan flag."""
    with pytest.raises(SystemExit):
        main(["solve", "--help"])
    out = capsys.readouterr().out
    for flag in ("--forecast FILE", "--plan-time-limit S", "--plan-start FILE", "--polish-time-limit S",
                 "--repair-time-limit S", "--improve"):
        assert flag in out
