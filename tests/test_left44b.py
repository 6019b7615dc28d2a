"""left44b: what break44's fresh user left.

1. ``optdist bench`` refused a spec whose rl policy, warm_start or plan_start file is missing, or
   that names a solver not installed here (local pool), before any run (exit 2); a Python user's
   :func:`optdist.bench.runner.run_sweep` still ran the grid, each such run an error record. Now the
   checks are the sweep's (:func:`optdist.bench.runner.check_runs`): ValueError naming the spec, the
   field and the fix, before any folder is made; with a Dask scheduler no solver is checked.
2. A spec's instance pattern that matches nothing said "matches no file in CWD" even when it was
   absolute; now only a relative pattern names the folder it is taken from.
3. ``optdist calibrate lenet --data folder:EMPTY`` said the target "was trained on mnist" and gave
   the fix ``optdist train-target lenet --data folder:EMPTY``, which fails on the same empty folder;
   now the folder is checked first (:func:`optdist.attacks.datasets.check_folder`).
4. Bar figures past ten configs repeated colours (a marker told lines apart, bars have none); now
   bars past the tenth config get a hatch (:func:`optdist.bench.figures.config_styles`).
"""

from __future__ import annotations

import os

import pytest

from optdist.cli import main

from .conftest import ROOT

MICRO = ROOT / "instances" / "tiny" / "micro-2x3-tight.json"


# --- 1. the sweep API checks a run's files and solvers before any run ----------------------------------------------


def test_run_sweep_refuses_a_missing_policy_or_solver_before_any_folder(tmp_path):
    from optdist.bench.runner import run_sweep
    from optdist.bench.spec import load_spec
    from optdist.solvers import get_solver

    out = tmp_path / "runs"
    spec = tmp_path / "s.toml"
    spec.write_text(f'name = "l44"\nout = "{out}"\ninstances = ["{MICRO}"]\nmethods = ["rl", "greedy"]\n'
                    f'[method_options.rl]\npolicy = "{tmp_path / "none"}"\n')
    with pytest.raises(ValueError, match=f"^spec \"l44\": method \"rl\"'s policy \"{tmp_path / 'none'}\": "
                       f"{tmp_path / 'none'} not found .*so every run of it would fail \\(fix: "):
        run_sweep(load_spec(spec), progress=False)
    with pytest.raises(ValueError, match=f"^{spec}: method \"rl\"'s policy"):  # the spec's file, where given
        run_sweep(load_spec(spec), out, progress=False, spec_file=str(spec))
    assert not out.exists()  # before any folder, any run
    if get_solver("gurobi").is_available():
        pytest.skip("gurobi is installed here")
    spec.write_text(f'name = "l44s"\nout = "{out}"\ninstances = ["{MICRO}"]\nmethods = ["milp"]\n'
                    'solvers = ["highs", "gurobi"]\ntime_limit = 10\n')
    with pytest.raises(ValueError, match='^spec "l44s": solvers: solver "gurobi" is not available here; install it'):
        run_sweep(load_spec(spec), progress=False)
    assert not out.exists()
    with pytest.raises(ValueError, match="foo://bar") as e:  # a Dask cluster's workers may have it: not checked
        run_sweep(load_spec(spec), progress=False, scheduler="foo://bar")
    assert "gurobi" not in str(e.value)


def test_the_cli_s_refusal_is_the_same_with_out(tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text(f'name = "l44"\ninstances = ["{MICRO}"]\nmethods = ["milp"]\n[method_options.milp]\n'
                    'warm_start = "none.json"\n')
    assert main(["bench", str(spec), "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f'{spec}: method "milp"\'s warm_start "none.json" is neither a method nor a file in ' in err, err
    assert not (tmp_path / "o").exists()


# --- 2. an absolute instance pattern that matches nothing ----------------------------------------------------------


def test_an_absolute_pattern_that_matches_nothing_names_no_current_folder(tmp_path, monkeypatch):
    from optdist.bench.spec import parse_spec

    monkeypatch.chdir(tmp_path)
    pattern = str(tmp_path / "nowhere" / "*.json")
    spec = parse_spec({"name": "l44", "out": "o", "instances": [pattern], "methods": ["greedy"]})
    with pytest.raises(ValueError) as e:
        spec.instance_paths()
    assert str(e.value) == f'spec l44: instance pattern "{pattern}" matches no file (fix: correct the pattern)'
    spec = parse_spec({"name": "l44", "out": "o", "instances": ["nowhere/*.json"], "methods": ["greedy"]})
    with pytest.raises(ValueError) as e:
        spec.instance_paths()
    assert str(e.value) == (f'spec l44: instance pattern "nowhere/*.json" matches no file in {os.getcwd()} (fix: '
                            "correct the pattern, or run from the folder it is relative to)")


# --- 3. calibrate --data folder:EMPTY --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, lacks", [("folder", "no sub-folder in it"),
                                         ("cifar10", "no CIFAR-10 python batches"),
                                         ("mnist-idx", "no train-images-idx3-ubyte[.gz] (MNIST IDX files)")])
def test_calibrate_checks_the_data_folder_before_the_target_s_dataset(tmp_path, capsys, kind, lacks):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["calibrate", "lenet", "--data", f"{kind}:{empty}", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert f"{empty}: {lacks}" in err and "(fix: " in err, err
    assert "was trained on" not in err and "Traceback" not in err, err


# --- 4. bars past the tenth config --------------------------------------------------------------------------------


def test_bars_past_the_tenth_config_look_unlike_the_first_ten(tmp_path):
    import matplotlib.colors as mcolors
    import pandas as pd

    from optdist.bench.figures import _bars, config_styles

    configs = [f"c{i:02d}" for i in range(25)]
    styles = config_styles(configs)
    assert len({(st["color"], st["hatch"]) for st in styles.values()}) == 25  # the 11th is not the 1st
    assert styles["c00"]["hatch"] == "" and styles["c10"]["hatch"] not in ("", "///")  # "///": a bar with a note
    data = pd.DataFrame({"family": "A", "config": configs, "g": 1, "y": 1.0, "note": ""})
    fig = _bars(data, "family", "g", "y", "y", "t")
    looks = {(mcolors.to_hex(h.get_facecolor()), h.get_hatch()) for h in fig.legends[0].legend_handles}
    assert len(looks) == 25, looks
