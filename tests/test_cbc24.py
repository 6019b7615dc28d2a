"""cbc24: a signal as a command winds down, and ``optdist --version`` without the commands.

* A SIGINT/SIGTERM whose interrupt Python raised in a finaliser (an object's ``__del__`` as the
  command's locals are freed: a large Pyomo model's clean-up) printed "Exception ignored in ..."
  with a traceback, and the command then exited 0 as if no signal had come. Now: one line, exit
  130 (143 for SIGTERM), as a signal anywhere else.
* ``optdist --version`` imported every command module (pyomo, numpy, pandas: ~1 s) to build the
  whole parser before it printed the version; now none of them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from tests.conftest import ROOT, TINY

#: runs ``optdist validate INSTANCE`` as the CLI's own process does (``main()``), the command
#: ending with a finaliser (an object's ``__del__``, as a big model's clean-up) that says
#: "winding down" on stderr and then runs 20 s in Python: the test's signal lands in it
WIND_DOWN = textwrap.dedent("""
    import sys, time
    import optdist.cli as cli

    class WindDown:
        def __del__(self):
            print("winding down", file=sys.stderr, flush=True)
            end = time.monotonic() + 20
            while time.monotonic() < end:
                pass

    run = cli._run

    def _run(args):
        command = args.func

        def with_wind_down(a):
            held = WindDown()  # freed as this frame ends: the command's wind-down
            return command(a)

        args.func = with_wind_down
        return run(args)

    cli._run = _run
    sys.argv = ["optdist", "validate", sys.argv[1]]
    sys.exit(cli.main())
""")


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


@pytest.mark.parametrize(("sig", "status", "said"), [(signal.SIGINT, 130, "optdist validate: interrupted"),
                                                     (signal.SIGTERM, 143, "optdist validate: terminated (SIGTERM)")])
def test_a_signal_as_the_command_winds_down_is_one_line_and_its_exit_status(sig, status, said):
    proc = subprocess.Popen([sys.executable, "-c", WIND_DOWN, str(TINY[0])], cwd=ROOT, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            # SIGINT as from a terminal: a runner started in the background
                            # (nohup ... &) hands its children SIGINT ignored
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()  # blocks until the finaliser runs (or the process ends)
        assert line == "winding down\n", line + proc.stderr.read()
        time.sleep(0.2)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Exception ignored" not in err and "Traceback" not in err, err
    assert err.strip() == said, err
    assert proc.returncode == status, (proc.returncode, err)
    assert out  # the command's own report went out before the signal


def test_version_imports_no_command_module():
    probe = textwrap.dedent("""
        import sys
        sys.argv = ["optdist", "--version"]
        from optdist.cli import main
        try:
            main()
        except SystemExit as e:
            code = e.code
        heavy = sorted(m for m in sys.modules if m.startswith(("optdist.commands", "pyomo", "numpy", "pandas")))
        print("exit", code, "heavy", heavy, file=sys.stderr)
    """)
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=_env(), capture_output=True, text=True,
                          timeout=120)
    from optdist import __version__
    assert done.stdout == f"optdist {__version__}\n", done.stdout
    assert done.stderr.strip() == "exit 0 heavy []", done.stderr


@pytest.mark.parametrize("argv", [["--version"], ["-q", "--version"], ["--vers"]])
def test_version_still_prints_and_exits_0(argv):
    done = subprocess.run([sys.executable, "-m", "optdist", *argv], cwd=ROOT, env=_env(), capture_output=True,
                          text=True, timeout=120)
    from optdist import __version__
    assert (done.returncode, done.stdout, done.stderr) == (0, f"optdist {__version__}\n", "")


def test_an_ambiguous_flag_is_still_the_whole_parsers_error():
    done = subprocess.run([sys.executable, "-m", "optdist", "--ver"], cwd=ROOT, env=_env(), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2
    # one line (cli28): the parser's own error, both flags it could be, a fix
    assert done.stderr.startswith("optdist: error: ambiguous option: --ver could match --version, --verbose (fix: ")
    assert done.stderr.count("\n") == 1, done.stderr
