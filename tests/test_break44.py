"""break44: an operations researcher compares solvers with ``optdist bench`` and the benchmark scripts.

1. ``benchmarks/scale/seconds_probe.py --out`` was opened only after the run: a folder or a path in a
   missing folder was a traceback (IsADirectoryError, FileNotFoundError) after the run's seconds, the
   record lost; the instance file itself as ``--out`` was overwritten by the record. Now all three are
   refused before the run (exit 2, the flag, the path and the fix), and the record is written
   atomically as strict JSON.
2. ``benchmarks/milp/run.py`` took an unknown formulation or solver, ``--time-limit 0``, ``--gap -1``,
   ``--threads 0``: every run was an ``error`` row (appended to ``results.csv`` without ``--no-write``)
   and the exit status 0, with no word of why; ``--repeat 0`` ran nothing, exit 0. Now each is refused
   before any run, naming the flag and the fix (exit 2), and a run that fails prints its error.
   ``--no-write --report-only`` rewrote the committed RESULTS.md; ``--no-write --solu`` merged nothing
   without a word: both refused.
3. ``optdist bench-figures OUT --figure convergence`` on a sweep without column generation, and
   ``--figure scaling`` on one whose instances are all of one size, wrote blank panels, exit 0, with
   no word; now stderr and the panels say why there is nothing to draw, and the fix.
4. ``optdist calibrate --data ""`` and ``optdist train-target --data ""`` used the target's own dataset
   without a word (``--name ""``, ``--layers ""`` and the path flags were refused); now "--data '' is
   empty" with the fix. ``--data orl:`` was taken as ``orl`` and then named "orl:" (the target "was
   trained on mnist, not orl:"); now an unknown dataset, as ``natural:x`` is.
5. ``optdist bench`` of a spec whose ``rl`` policy folder does not exist (or lacks policy.json) ran
   the whole grid, every ``rl`` run recorded as an error, exit 1; now refused before any run, exit 2,
   naming the spec, the method, the policy, the file missing and the fix (``--method`` of another
   method still runs).
6. A bench spec's ``warm_start`` naming an assignment or result file (README: such a file is hashed
   into the run's key) failed every run: "unknown method "start.json"" (the sweep's worker called the
   method without reading the file, as ``optdist.solve`` does); now the file's placement seeds the
   MILP, and a ``warm_start`` that is neither a method nor a file is refused before any run (exit 2).
7. A bench spec's ``plan_start`` (plan-guided, plan-rollout) naming a missing file failed every run,
   exit 1; now refused before any run, exit 2. And a plan file rewritten since a run was recorded did
   not redo the run (its file was not hashed as ``policy`` and ``warm_start`` files are); now it does.
8. ``optdist solve BIG --method rl-ppo --policy DIR`` with a MaskablePPO policy trained on another
   number of devices said "... on 8: train one on this instance": no field, no fix in the project's
   form; now it names policy.json's "cnns" and "n_actions" and the commands to train and place one.
9. A solver comparison over ``formulations = ["auto", ...]``: the gap table's row ``milp/highs/auto``
   did not say which formulation ``auto`` ran (the record's summary has it); gaps-by-instance now has
   a ``ran`` column (empty for a method without formulations).
10. A bench spec naming a solver not installed here (``gurobi``) ran the grid, each of its runs an
    error record (SolverUnavailable), exit 1; on the local pool it is now refused before any run,
    exit 2, with how to install it (a Dask cluster's workers may have it: not checked there, nor in
    ``--dry-run``).
11. ``optdist validate DIR/policy.json`` (a trained policy) said "this file is another kind of optdist
    file", the fix "give an instance file"; now it names a DQN or MaskablePPO policy and how a policy
    is checked (placing with it); a bench grid.json is named too.
12. ``bench-figures`` (fig11/12 lines, fig13/14/17 bars): each panel took colours from the cycle in the
    order of the configs it had, under one legend for the figure: a config missing from one panel
    shifted the others' colours there (b orange in one panel, blue in the next, where a is blue), and
    an 11th config looked like the 1st (12 configs of 4 solvers x 3 formulations). Now one colour
    per config in every panel, and past ten another marker (:func:`optdist.bench.figures.config_styles`).
"""

from __future__ import annotations

import json
import re
import shutil

import pytest

from optdist.cli import main

from .conftest import ROOT, load_script, refused
from .test_bench_tables import record, write

MICRO = ROOT / "instances" / "tiny" / "micro-2x3-tight.json"


# --- 1. seconds_probe.py --out is checked before the run ----------------------------------------------------------


def test_seconds_probe_checks_out_before_the_run_and_keeps_the_instance(tmp_path, capsys):
    probe = load_script("benchmarks/scale/seconds_probe.py")
    inst = tmp_path / "micro.json"
    shutil.copy(MICRO, inst)
    before = inst.read_bytes()
    for out, said in ((tmp_path, "is a directory (fix: give a file name in it"),
                      (tmp_path / "none" / "r.json", "does not exist (fix: create it first"),
                      (inst, "is the input file")):
        err = refused(probe.main, capsys, str(inst), "--time-limit", "5", "--out", str(out))
        assert f"--out {out}" in err and said in err, err
        assert "incumbent" not in capsys.readouterr().out  # refused before the run
    assert inst.read_bytes() == before  # was replaced by the probe's record
    rec_path = tmp_path / "r.json"
    assert probe.main([str(inst), "--time-limit", "5", "--out", str(rec_path)]) == 0
    assert json.loads(rec_path.read_text())["instance"] == "micro-2x3-tight"


# --- 2. benchmarks/milp/run.py refuses bad flags before any run ------------------------------------------------


@pytest.mark.parametrize("flags, said", [
    (["--formulations", "tite"], '--formulations: unknown formulation "tite" (fix: did you mean "tight"?'),
    (["--solvers", "gurobi2"], '--solvers: unknown solver "gurobi2" (fix: did you mean gurobi?'),
    (["--time-limit", "0"], "--time-limit: time_limit = 0.0 is out of range (fix: give a finite number of seconds > 0)"),
    (["--time-limit", "nan"], "--time-limit: time_limit = nan is not a number"),
    (["--gap", "-1"], "--gap: mip_gap = -1.0 is out of range (fix: give a relative gap in [0, 1]"),
    (["--threads", "0"], "--threads: threads = 0 is out of range (fix: give an integer in [1,"),
    (["--repeat", "0"], "--repeat 0: no run would be made (fix: give a number of runs >= 1"),
    (["--report-only"], "--no-write with --report-only: --report-only writes RESULTS.md (fix: leave out --no-write"),
    (["--solu"], "--no-write with --solu: --solu writes paper.solu (fix: leave out --no-write, or --solu)"),
    (["--instances", "instances/paper/lenet-1x10-tau0.8.json"],
     "--instances: no instance in instances/paper matches instances/paper/lenet-1x10-tau0.8.json (fix: give names"),
])
def test_milp_benchmark_refuses_bad_flags_before_any_run(capsys, flags, said):
    bench = load_script("benchmarks/milp/run.py")
    argv = ["--instances", "lenet-1x10-tau0.8", "--formulations", "tight", "--time-limit", "5", "--no-write", *flags]
    with pytest.raises(SystemExit) as e:
        bench.main(argv)
    assert e.value.code == 2
    out, err = capsys.readouterr()
    assert said in err and "Traceback" not in err, err
    assert "lenet-1x10-tau0.8 " not in out  # no run line: nothing ran


# --- 3. a figure with nothing to draw says so ------------------------------------------------------------------


@pytest.mark.parametrize("figure, png, said", [
    ("convergence", "convergence.png", "nothing to draw: no run recorded column-generation rounds"),
    ("scaling", "scaling-solve-time.png", "nothing to draw: no configuration ran on two or more request counts"),
])
def test_a_figure_with_nothing_to_draw_says_why(tmp_path, capsys, figure, png, said):
    write(tmp_path, [record("a", "highs", "optimal", 1.0, 1.0), record("a", "scip", "optimal", 1.5, 1.5)])
    assert main(["bench-figures", str(tmp_path), "--figure", figure, "--dest", str(tmp_path / "f")]) == 0
    err = capsys.readouterr().err
    assert f"{tmp_path / 'f' / png}: {said}" in err and "(fix: " in err, err
    assert (tmp_path / "f" / png).read_bytes()[:4] == b"\x89PNG"


# --- 4. an empty --data, and a bundled dataset with a stray colon -----------------------------------------------


@pytest.mark.parametrize("command", ["calibrate", "train-target"])
@pytest.mark.parametrize("value", ["", " "])
def test_an_empty_data_flag_is_refused(tmp_path, capsys, command, value):
    argv = [command, "lenet", "--data", value, "--epochs", "1", "--weights-dir", str(tmp_path / "w")]
    assert main(argv + (["--out", str(tmp_path / "o")] if command == "calibrate" else [])) == 2
    err = capsys.readouterr().err
    assert f"--data '{value}' is empty (fix: give a dataset, e.g. --data mnist" in err and "Traceback" not in err, err
    assert not (tmp_path / "w").exists()  # before any training


def test_a_bundled_dataset_with_a_colon_is_unknown():
    from optdist.attacks import datasets

    for spec in ("orl:", "mnist:", "natural:"):
        with pytest.raises(ValueError, match=f'unknown dataset "{spec}": use one of "mnist", "natural", "orl"'):
            datasets.check_spec(spec)


# --- 5. a bench spec's policy is checked before the sweep ------------------------------------------------------


def test_a_bench_spec_whose_policy_is_missing_is_refused_before_any_run(tmp_path, capsys):
    half = tmp_path / "half"
    half.mkdir()
    shutil.copy(ROOT / "models" / "policies" / "mix-70" / "policy.pt", half)
    for policy, missing in ((tmp_path / "none", tmp_path / "none"), (half, half / "policy.json")):
        spec = tmp_path / "s.toml"
        spec.write_text(f'name = "b44"\nout = "{tmp_path / "runs"}"\ninstances = ["{MICRO}"]\n'
                        f'methods = ["rl", "greedy"]\n[method_options.rl]\npolicy = "{policy}"\n')
        assert main(["bench", str(spec), "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert (f'{spec}: method "rl"\'s policy "{policy}": {missing} not found (a policy is its policy.pt and '
                "policy.json), so every run of it would fail (fix: give the folder `optdist train-rl") in err, err
        assert not (tmp_path / "runs").exists()  # nothing ran
    assert main(["bench", str(spec), "--dry-run", "--method", "greedy"]) == 0  # the other method still runs


# --- 6. a bench spec's warm_start file ---------------------------------------------------------------------------


def test_a_bench_spec_s_warm_start_file_seeds_its_runs(tmp_path, capsys):
    start = tmp_path / "start.json"
    assert main(["solve", str(MICRO), "--method", "greedy", "--out", str(start)]) == 0
    spec = tmp_path / "s.toml"
    spec.write_text(f'name = "b44w"\nout = "{tmp_path / "runs"}"\ninstances = ["{MICRO}"]\nmethods = ["milp"]\n'
                    f'solvers = ["highs"]\ntime_limit = 20\n[method_options.milp]\nwarm_start = "{start}"\n')
    capsys.readouterr()
    assert main(["bench", str(spec), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "unknown method" not in err, err
    (rec,) = (tmp_path / "runs" / "records").glob("*.json")
    doc = json.loads(rec.read_text())
    assert doc["status"] == "ok" and doc["extra"]["warm_start"] == "assignment", doc.get("error")
    assert doc["summary"]["termination"] == "optimal"


def test_a_bench_spec_s_missing_warm_start_is_refused_before_any_run(tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text(f'name = "b44w"\nout = "{tmp_path / "runs"}"\ninstances = ["{MICRO}"]\nmethods = ["milp"]\n'
                    f'solvers = ["highs"]\ntime_limit = 20\n[method_options.milp]\nwarm_start = "none.json"\n')
    assert main(["bench", str(spec), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f'{spec}: method "milp"\'s warm_start "none.json" is neither a method nor a file in ' in err, err
    assert "(fix: give an assignment or result file" in err and not (tmp_path / "runs").exists()


# --- 7. a bench spec's plan_start file ---------------------------------------------------------------------------


def test_a_bench_spec_s_plan_start_is_checked_and_hashed(tmp_path, capsys):
    plan = tmp_path / "plan.json"
    spec = tmp_path / "s.toml"
    spec.write_text(f'name = "b44p"\nout = "{tmp_path / "runs"}"\ninstances = ["{MICRO}"]\nmethods = ["plan-guided"]\n'
                    f'time_limit = 10\n[method_options.plan-guided]\nplan_start = "{plan}"\n')
    assert main(["bench", str(spec), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f'{spec}: method "plan-guided"\'s plan_start "{plan}": no such file, so every run' in err and "(fix: " in err, err
    assert not (tmp_path / "runs").exists()
    assert main(["solve", str(MICRO), "--method", "greedy", "--out", str(plan)]) == 0
    assert main(["bench", str(spec), "--no-progress"]) == 0
    assert main(["bench", str(spec), "--dry-run"]) == 0
    assert "0 of 1 runs to do" in capsys.readouterr().out
    assert main(["solve", str(MICRO), "--method", "per-layer", "--out", str(plan)]) == 0  # another plan
    assert main(["bench", str(spec), "--dry-run"]) == 0
    assert "1 of 1 runs to do" in capsys.readouterr().out


# --- 8. a PPO policy of another instance names the fields and the fix -------------------------------------------


def test_a_ppo_policy_of_another_device_count_names_the_fields_and_the_fix(tmp_path, capsys):
    pytest.importorskip("sb3_contrib")
    lenet_1x4 = ROOT / "instances" / "tiny" / "lenet-1x4-tau0.8.json"
    lenet_1x10 = ROOT / "instances" / "paper" / "lenet-1x10-tau0.8.json"
    assert main(["train-rl", str(lenet_1x4), "--algo", "maskable-ppo", "--timesteps", "64", "--out", str(tmp_path / "p"),
                 "-q"]) == 0
    assert main(["solve", str(lenet_1x10), "--method", "rl-ppo", "--policy", str(tmp_path / "p")]) == 2
    err = capsys.readouterr().err
    assert (f'the PPO policy {tmp_path / "p"} was trained for CNNs "lenet" on 4 devices (policy.json\'s "cnns" and '
            '"n_actions"); lenet-1x10-tau0.8 has "lenet" on 10 (fix: train one on this instance, `optdist train-rl '
            'INSTANCE --algo maskable-ppo --out DIR`, then --method rl-ppo --policy DIR)') in err, err


# --- 9. the gap table says which formulation a run ran --------------------------------------------------------


def test_the_gap_table_says_which_formulation_auto_ran(tmp_path):
    import pandas as pd

    auto = record("a", "highs", "optimal", 1.0, 1.0)
    auto["run"]["formulation"], auto["summary"]["formulation"] = "auto", "decomposed"
    auto["key"] = "a--milp--highs--auto"
    greedy = record("a", None, "feasible", 1.2, method="greedy", limit=None)
    write(tmp_path, [auto, greedy])
    assert main(["bench-table", str(tmp_path)]) == 0
    rows = pd.read_csv(tmp_path / "tables" / "gaps-by-instance.csv").set_index("config")
    assert rows.at["milp/highs/auto", "ran"] == "decomposed" and pd.isna(rows.at["greedy", "ran"])
    assert re.search(r"\| milp/highs/auto +\| decomposed +\|", (tmp_path / "tables" / "gaps-by-instance.md").read_text())


# --- 10. a solver not installed here --------------------------------------------------------------------------------


def test_a_bench_spec_naming_a_solver_not_installed_is_refused_before_any_run(tmp_path, capsys):
    from optdist.solvers import get_solver

    if get_solver("gurobi").is_available():
        pytest.skip("gurobi is installed here")
    spec = tmp_path / "s.toml"
    spec.write_text(f'name = "b44s"\nout = "{tmp_path / "runs"}"\ninstances = ["{MICRO}"]\nmethods = ["milp"]\n'
                    'solvers = ["highs", "gurobi"]\ntime_limit = 10\n')
    assert main(["bench", str(spec), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f'{spec}: solvers: solver "gurobi" is not available here; install it: pip install gurobipy' in err, err
    assert 'so every run of it would fail (fix: install it; or remove "gurobi" from solvers' in err
    assert not (tmp_path / "runs").exists()
    assert main(["bench", str(spec), "--dry-run"]) == 0  # lists the runs


# --- 11. validate names a policy file and how one is checked -----------------------------------------------------


@pytest.mark.parametrize("fmt, kind, method", [("optdist-rl-policy/1", "a DQN policy's policy.json", "rl"),
                                               ("optdist-rl-ppo/1", "a MaskablePPO policy's policy.json", "rl-ppo")])
def test_validate_names_a_policy_file_and_how_it_is_checked(tmp_path, capsys, fmt, kind, method):
    (tmp_path / "pol").mkdir()
    path = tmp_path / "pol" / "policy.json"
    path.write_text(json.dumps({"format": fmt, "instance": "x"}))
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert f'format: this file is {kind} (format "{fmt}"), not an instance' in out, out
    assert f"fix: a policy is checked where it places: `optdist solve INSTANCE --method {method} --policy {path.parent}`" in out


# --- 12. one colour per config in every panel of a figure ---------------------------------------------------------


def test_a_config_has_one_colour_in_every_panel_of_a_figure():
    import matplotlib.colors as mcolors
    import pandas as pd

    from optdist.bench.figures import _bars, _lines, config_styles

    data = pd.DataFrame({"family": ["A", "A", "B"], "config": ["a", "b", "b"], "tau": [0.6] * 3, "g": [1] * 3,
                         "y": [1.0, 2.0, 3.0], "seed": [None] * 3, "note": [""] * 3})
    colours: dict[str, set] = {}
    for ax in _lines(data, "family", "tau", "y", "y", "tau", "t").axes:
        for line in ax.get_lines():
            colours.setdefault(line.get_label(), set()).add(mcolors.to_hex(line.get_color()))
    for ax in _bars(data, "family", "g", "y", "y", "t").axes:
        for bars in ax.containers:
            colours.setdefault(bars.get_label(), set()).add(mcolors.to_hex(bars.patches[0].get_facecolor()))
    assert colours["a"] == {mcolors.to_hex("C0")} and colours["b"] == {mcolors.to_hex("C1")}, colours
    styles = config_styles([f"c{i:02d}" for i in range(12)])
    assert len({(st["color"], st["marker"]) for st in styles.values()}) == 12  # the 11th is not the 1st
