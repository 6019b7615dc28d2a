"""Breaking today's last merged fixes (vbreak44).

sig44: ``record_signals`` (through :func:`optdist.solvers.base.stoppable` and ``solve_milp``) read
the signals of the main thread's last ``stop_on_signals`` block also in a call from another thread,
whose own block catches none: after a main-thread run stopped by SIGTERM, a later direct
``solve_decomposed`` or ``optdist.solve`` from a worker thread came back naming that SIGTERM in
``extra["interrupted"]`` (and ``interrupted`` unless proven optimal)."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

import optdist
from optdist import load_instance
from optdist.milp.decomposition.orchestrate import solve_decomposed
from optdist.result import Termination
from optdist.solvers.base import signals_received, stop_on_signals

ROOT = Path(__file__).resolve().parents[1]
MICRO = ROOT / "instances" / "tiny" / "micro-2x3-tight.json"


def _in_thread(call):
    out: dict = {}
    worker = threading.Thread(target=lambda: out.setdefault("res", call()))
    worker.start()
    worker.join()
    return out["res"]


@pytest.mark.parametrize("entry", [
    lambda inst: solve_decomposed(inst, time_limit=30, threads=1),
    lambda inst: optdist.solve(inst, method="milp", time_limit=30),
], ids=["solve_decomposed", "optdist.solve"])
def test_a_thread_call_does_not_take_the_main_threads_last_signal(entry):
    with stop_on_signals(lambda signum: None):  # a main-thread run stopped by SIGTERM
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.2)
    assert signals_received() == [signal.SIGTERM]
    inst = load_instance(MICRO)
    res = _in_thread(lambda: entry(inst))
    assert "interrupted" not in res.extra, res.extra.get("interrupted")
    assert res.termination is Termination.OPTIMAL
    with stop_on_signals(lambda signum: None):  # while a main-thread block that caught one is open, it
        os.kill(os.getpid(), signal.SIGTERM)  # stops the thread's solves too (stop_requested): recorded
        time.sleep(0.2)
        res = _in_thread(lambda: entry(inst))
    assert res.extra["interrupted"] == "SIGTERM"


# left44b: a spec's absolute warm_start, plan_start or policy that is missing was said to be missing
# "in CWD" (the policy's fix: "relative to CWD"), the slip left44b fixed for an absolute instance pattern.
ABSENT = {"warm_start": ("milp", "is neither a method nor a file"), "plan_start": ("plan-guided", ": no such file"),
          "policy": ("rl", "not found")}


@pytest.mark.parametrize("option", ABSENT)
def test_an_absolute_missing_file_names_no_current_folder(option, tmp_path, monkeypatch):
    from optdist.bench.runner import run_sweep
    from optdist.bench.spec import parse_spec

    method, says = ABSENT[option]
    monkeypatch.chdir(tmp_path)
    for value, named in ((str(tmp_path / "none"), False), ("none", True)):
        spec = parse_spec({"name": "vb44", "out": "o", "instances": [str(MICRO)], "methods": [method],
                           "method_options": {method: {option: value}}})
        with pytest.raises(ValueError, match=says) as e:
            run_sweep(spec, progress=False)
        said = str(e.value).replace(str(tmp_path / "none"), "NONE")  # the file's own name aside
        assert (str(tmp_path) in said) is named, said
        assert not (tmp_path / "o").exists()


def test_a_data_folder_whose_class_folders_hold_no_image_is_refused_before_the_target(tmp_path, capsys):
    """left44b checked that folder:DIR has a sub-folder; sub-folders without an image passed, and calibrate
    said 'target lenet was trained on "mnist"' with a train-target fix that failed on the same folder
    ('too few images per class')."""
    from optdist.cli import main

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "notes.txt").write_text("no image")
    assert main(["calibrate", "lenet", "--data", f"folder:{tmp_path}"]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path}: no image (.bmp, " in err and "trained on" not in err, err


def test_the_milp_benchmark_refuses_a_time_limit_its_hard_limit_cannot_wait_for(capsys):
    """break44 let --time-limit 1e308 (finite) through: the first run's subprocess timeout (x 1.5 + 120 s)
    ended in a traceback, 'OverflowError: timeout is too large' (Python's poll takes up to 2**31 ms)."""
    from .conftest import load_script

    bench = load_script("benchmarks/milp/run.py")
    with pytest.raises(SystemExit) as e:
        bench.main(["--instances", "lenet-1x10-tau0.8", "--formulations", "tight", "--no-write", "--time-limit", "1e308"])
    assert e.value.code == 2
    out, err = capsys.readouterr()
    assert "--time-limit 1e+308: more than 1e+06 s (11.6 days)" in err and "Traceback" not in err, err
    assert "lenet-1x10-tau0.8 " not in out  # nothing ran


def test_a_noted_bar_leaves_its_config_s_legend_entry_unmarked():
    """The bar figures' legend drew each config from its first bar: where that bar had a note
    (mark_bars: hatched "///", faded), the config's entry looked noted in every panel."""
    import pandas as pd

    from optdist.bench.figures import _bars

    data = pd.DataFrame({"tau": 0.8, "family": ["g1", "g2", "g1", "g2"], "config": ["a", "a", "b", "b"],
                         "y": 1.0, "note": ["rejects 3/10", "", "", ""]})
    fig = _bars(data, "tau", "family", "y", "y", "t")
    entries = {t.get_text(): h for h, t in zip(fig.legends[0].legend_handles, fig.legends[0].get_texts())}
    assert [(entries[c].get_hatch(), entries[c].get_alpha()) for c in "ab"] == [(None, None)] * 2
    assert any(p.get_hatch() == "///" for p in fig.axes[0].patches)  # the bar itself is marked
