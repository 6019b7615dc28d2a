"""defence30: defects a fresh user found in the defences (each test failed before its fix).

Real instances (the bundled lenet-10x10-tau0.8-defended cut to 2 requests and 4 devices), real
solves, the real CLI; no mocks.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from optdist.cli import main as cli_main

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "benchmarks" / "defences" / "placement" / "instances" / "lenet-10x10-tau0.8-defended.json"


def small_defended(tmp_path: Path, name: str = "def.json", **defence) -> Path:
    """The bundled lenet-10x10-tau0.8-defended cut to 2 requests and 4 devices (``defence``: the
    lenet entry's fields replaced)."""
    doc = json.loads(BUNDLED.read_text())
    doc["requests"] = doc["requests"][:2]
    doc["devices"] = doc["devices"][:4]
    used = {r["source"] for r in doc["requests"]}
    doc["sources"] = [s for s in doc["sources"] if s["id"] in used]
    if defence:
        doc["defence"] = {"lenet": defence}
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture(scope="module")
def defended_run(tmp_path_factory):
    """``solve DEF --method defended --out r.json`` once: (DEF, r.json, its stdout)."""
    tmp = tmp_path_factory.mktemp("def30")
    inst = small_defended(tmp)
    out = tmp / "r.json"
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = cli_main(["solve", str(inst), "--method", "defended", "--threads", "1", "--out", str(out),
                       "--requests", "0"])
    assert rc == 0
    return inst, out, buf.getvalue()


# 1. evaluate scores a defended result under the limits of the defence it chose ----------------------------------


def test_evaluate_scores_a_defended_result_under_its_defence(defended_run, capsys):
    inst, out, _ = defended_run
    saved = json.loads(out.read_text())
    assert saved["feasible"] and saved["extra"]["defence"]["lenet"]["mode"] == "dp"
    assert cli_main(["evaluate", str(inst), str(out), "--requests", "0"]) == 0  # was 1: "[placement] source cam2 ..."
    said = capsys.readouterr().out
    cut, eps = saved["extra"]["defence"]["lenet"]["cut"], saved["extra"]["defence"]["lenet"]["eps"]
    assert f"scored under the defence DP at {cut}, eps {eps:g}" in said and "feasible True" in said
    assert f"{saved['evaluator_objective']:.10g}"[:8] in said


def test_evaluate_refuses_a_defended_result_without_its_defence(defended_run, tmp_path, capsys):
    inst, out, _ = defended_run
    doc = json.loads(out.read_text())
    del doc["extra"]["defence"]
    bare = tmp_path / "stripped.json"
    bare.write_text(json.dumps(doc))
    assert cli_main(["evaluate", str(inst), str(bare)]) == 2
    err = capsys.readouterr().err
    assert 'field "extra.defence"' in err and "method defended" in err and "fix:" in err
    doc = json.loads(out.read_text())  # limits that do not follow from the choice: edited, or another instance
    doc["extra"]["defended_limits"]["lenet"]["on_source"] = [True] * len(doc["extra"]["defended_limits"]["lenet"]["on_source"])
    bare.write_text(json.dumps(doc))
    assert cli_main(["evaluate", str(inst), str(bare)]) == 2
    assert 'field "extra.defended_limits"' in capsys.readouterr().err


def test_evaluate_explains_a_bare_assignment_on_a_defended_instance(defended_run, tmp_path, capsys):
    inst, out, _ = defended_run
    doc = json.loads(out.read_text())
    asg = tmp_path / "asg.json"
    asg.write_text(json.dumps(doc["assignment"]))
    assert cli_main(["evaluate", str(inst), str(asg), "--requests", "0"]) == 1  # infeasible without the defence
    err = capsys.readouterr().err
    assert "undefended limits" in err and "records no defence" in err and "--method defended --out" in err


# 2. the solve report prints the chosen defence ------------------------------------------------------------------


def test_solve_report_prints_the_chosen_defence(defended_run):
    _, out, said = defended_run
    choice = json.loads(out.read_text())["extra"]["defence"]["lenet"]
    line = next(ln for ln in said.splitlines() if ln.startswith("defence "))
    assert f"DP at {choice['cut']}, eps {choice['eps']:g}" in line
    assert f"({choice['accuracy_drop_pct']:.1f} % accuracy cost)" in line


# 3. no admissible defence option: said up front, with every reason and a fix; not "infeasible" ------------------


@pytest.mark.parametrize("entry, words", [
    ({"mode": "dp", "epsilons": [8]}, "none of eps [8.0] was measured"),
    ({"mode": "hybrid", "cuts": ["conv2"]}, "conv cut"),
    ({"mode": "dp", "cuts": ["fc2"]}, "followed by no intermediate layer"),
])
def test_no_admissible_option_is_said_up_front(tmp_path, capsys, entry, words):
    inst = small_defended(tmp_path, **entry)
    out = tmp_path / "r.json"
    assert cli_main(["solve", str(inst), "--method", "defended", "--threads", "1", "--out", str(out)]) == 2
    cap = capsys.readouterr()
    assert "termination" not in cap.out and "infeasib" not in cap.out.lower()  # no diagnosis that finds nothing
    assert "defence.lenet: no admissible defence option" in cap.err and words in cap.err
    assert '"mode": "auto"' in cap.err and "distribution alone" in cap.err
    assert not out.exists()


# 4. a defence entry without --method defended is warned about once ------------------------------------------------


def test_defence_entry_without_method_defended_is_warned(tmp_path, caplog):
    inst = small_defended(tmp_path)
    with caplog.at_level("WARNING", logger="optdist"):
        assert cli_main(["solve", str(inst), "--method", "greedy", "--requests", "0"]) == 0
    said = [r.getMessage() for r in caplog.records if "defence entry" in r.getMessage()]
    assert len(said) == 1 and "used only by --method defended" in said[0]


# 5. dp-sweep --layers: only layers the sweep can split after, checked before any work; suggests only those ------


@pytest.mark.parametrize("layer, words", [
    ("flatten", "does not output feature maps"),
    ("fc1_relu", "does not output feature maps"),
    ("fc2", "does not output feature maps"),
    ("fc3", "has no layer with weights after it"),
])
def test_dp_sweep_refuses_layers_it_cannot_split_after(tmp_path, capsys, layer, words):
    out = tmp_path / "sweep"
    assert cli_main(["dp-sweep", "--quick", "--layers", layer, "--eps", "10", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f'"{layer}" {words}' in err and not out.exists()  # before the target, the data and the progress bar
    assert 'give split layers from "conv1", "ReLU1", "pool1", "conv2", "ReLU2", "pool2")' in err


def test_dp_sweep_suggested_layers_work(tmp_path):
    from optdist.defences import dp_measure

    names = dp_measure.split_layers("lenet")
    assert "flatten" not in names and "fc3" not in names
    for la in names:
        dp_measure.SweepConfig(layers=(la,))  # every suggestion passes the check
    out = tmp_path / "sweep"  # and the last one (the deepest) runs: a real, tiny sweep
    assert cli_main(["dp-sweep", "--quick", "--layers", names[-1], "--eps", "10", "--out", str(out)]) == 0
    rows = json.loads((out / "results.json").read_text())["layers"][names[-1]]["rows"]
    assert [r["mode"] for r in rows] == ["plain", "clip", "dp"]


# 6. one range for a Laplace budget, checked before any work --------------------------------------------------------


@pytest.mark.parametrize("eps", ["1e-300", "1e200", "1e-7", "2e6"])
def test_dp_effect_eps_out_of_range_is_refused(capsys, eps):
    assert cli_main(["dp-effect", "lenet", "pool1", "--eps", eps]) == 2  # was "math domain error" / exit 3
    assert f"--eps {eps} is out of range (fix: give per-element Laplace budgets in [1e-06, 1e+06]" in capsys.readouterr().err


def test_eps_range_ends_work_and_are_the_instance_rule(tmp_path, capsys):
    from optdist.defences.dp import EPS_MAX, EPS_MIN
    from optdist.defences.dp_effect import dp_effect
    from optdist.instance import InstanceError, load_instance

    assert cli_main(["dp-effect", "lenet", "pool1", "--eps", "1e-6", "1e6"]) == 0
    assert "1000000.0" in capsys.readouterr().out
    for bad in (1e-300, 1e200):
        with pytest.raises(ValueError, match=r"\[1e-06, 1e\+06\]"):
            dp_effect("lenet", "pool1", bad, 0.3)
    load_instance(small_defended(tmp_path, "ok.json", epsilons=[EPS_MIN, EPS_MAX]))
    with pytest.raises(InstanceError, match=r"defence\.lenet\.epsilons\[0\]: got 1e-07.*\[1e-06, 1e\+06\]"):
        load_instance(small_defended(tmp_path, "bad.json", epsilons=[1e-7]))


@pytest.mark.parametrize("eps", ["1e-300", "1e300"])
def test_dp_sweep_eps_out_of_range_is_refused_before_the_sweep(tmp_path, capsys, eps):
    out = tmp_path / "sweep"
    assert cli_main(["dp-sweep", "--quick", "--layers", "pool1", "--eps", eps, "--out", str(out)]) == 2
    assert "out of range" in capsys.readouterr().err and not out.exists()


# 7. small ones -----------------------------------------------------------------------------------------------------


def test_duplicate_eps_is_refused(tmp_path, capsys):
    assert cli_main(["dp-effect", "lenet", "pool1", "--eps", "10", "100", "10"]) == 2
    assert "--eps gives 10 more than once" in capsys.readouterr().err
    out = tmp_path / "sweep"
    assert cli_main(["dp-sweep", "--quick", "--layers", "pool1", "--eps", "5", "5", "--out", str(out)]) == 2
    assert "--eps gives 5 more than once" in capsys.readouterr().err and not out.exists()


def test_defq_eval_split_is_checked_while_parsing(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "dq"
    code = ("import sys; from optdist.cli import main; rc = main(['defq-eval', '--quick', '--split', '7', '--out', "
            f"{str(out)!r}]); print(rc, 'torch' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.stdout.split() == ["2", "False"], run.stderr  # before torch is imported, let alone trained
    assert "--split 7 is out of range (fix: give a whole number of outputs in [1, 6]" in run.stderr
    assert not out.exists()


def test_defq_outputs_matches_the_network():
    from optdist.commands.defences import DEFQ_OUTPUTS
    from optdist.defences.multiexit import MultiExitCNN

    assert MultiExitCNN().n_outputs == DEFQ_OUTPUTS


def test_dp_tables_does_not_overwrite_without_force(tmp_path, capsys):
    out = tmp_path / "dpt"
    assert cli_main(["dp-tables", "--out", str(out)]) == 0
    (out / "README.md").write_text("mine")
    assert cli_main(["dp-tables", "--out", str(out)]) == 2
    assert "already exist" in capsys.readouterr().err and (out / "README.md").read_text() == "mine"
    assert cli_main(["dp-tables", "--out", str(out), "--force"]) == 0
    assert (out / "README.md").read_text() != "mine"


def test_dp_effect_labels_another_tensors_numbers(capsys):
    assert cli_main(["dp-effect", "lenet", "conv1", "--eps", "7"]) == 0
    said = capsys.readouterr().out
    assert "measured at pool1" in said and "note: conv1 itself was not measured: these are pool1's numbers" in said
    assert cli_main(["dp-effect", "lenet", "pool1", "--eps", "7"]) == 0
    said = capsys.readouterr().out
    assert "measured at" not in said and "note:" not in said
