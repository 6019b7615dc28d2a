"""verify42: a fresh engineer tries this session's changes (left42, lead42, lenet42, break42) as a user would.

1. ``optdist import-solution --model-file`` of a file that is no .lp or .mps (an exported model copied to
   ``m.txt``, whose header still names its formulation; or the solution itself with ``--formulation``, as
   break42's fix suggests for a model written otherwise) failed in Pyomo: "Cannot write model in format
   'txt': no model writer registered for that format", naming neither the flag nor a fix. Now refused
   before the model is built, naming --model-file and the fix.
2. ``optdist bench`` says where the sweep starts that GLPK takes no seed for a spec's ``seeds``; a ``seed``
   among the spec's ``options`` (as ``threads`` there is said) was said only in each run's log.
3. ``optdist train-rl`` and ``optdist bench`` of an instance with a defence entry ignored it without a word
   (``solve``, ``export``, ``diagnose`` and ``pareto`` warn, break42): they warn as those do
   (``commands.core.warn_defence_ignored``); a spec whose methods are all ``defended`` is not warned.
4. ``optdist diagnose`` of ``instances/infeasible/lenet-1x4-compute.json`` (devices of a given compute
   capacity) noted that "a longer period_s raises" the compute capacity, because its source takes the
   default: the note now reads the nodes the family's findings rest on (break42's note, item 14).
5. ``--data folder:FILE`` (a dataset folder that is a file) gave the fix "give the folder that holds
   the folder files"; now what each kind's folder holds.
6. ``import-solution --model-file DIR`` (a folder) said "model file not found"; now that it is a folder.
7. A bench spec ``S.JSON`` was read as TOML (``T.JSON`` is a file everywhere, lead42); now as JSON, by
   ``optdist bench`` and ``bench-table``.
8. ``optdist pareto --out front.CSV`` wrote front.CSV.csv (``front.csv`` writes front.csv): the
   extension is dropped in any case.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from optdist.cli import main
from tests.conftest import LENET_1X4, ROOT, requires_solver

from .test_fix40 import micro_spec

MICRO_2X2 = ROOT / "instances" / "tiny" / "micro-2x2-tau0.6.json"


@requires_solver("glpk")
@pytest.mark.parametrize("case", ["copied", "solution"])
def test_a_model_file_that_is_no_lp_or_mps_is_refused_with_the_fix(tmp_path, capsys, case):
    """Before: "Cannot write model in format 'txt': no model writer registered for that format"."""
    model, sol = tmp_path / "m.lp", tmp_path / "m.sol"
    assert main(["export", str(MICRO_2X2), "--out", str(model)]) == 0
    subprocess.run(["glpsol", "--lp", str(model), "-o", str(sol)], check=True, capture_output=True)
    given, extra = (tmp_path / "m.txt", []) if case == "copied" else (sol, ["--formulation", "tight"])
    if case == "copied":
        shutil.copy(model, given)
    capsys.readouterr()
    assert main(["import-solution", str(MICRO_2X2), "--model-file", str(given), "--solution", str(sol),
                 "--format", "glpk", *extra]) == 2
    ext = given.suffix
    assert capsys.readouterr().err == (
        f"optdist import-solution: error: --model-file {given}: a {ext} file is no model `optdist export` writes "
        "(it writes .lp or .mps; the names in the solution are read as that writer names the columns) (fix: give "
        "the .lp or .mps file `optdist export` wrote, under the name it was written to)\n")


def test_a_seed_among_a_bench_specs_options_is_said_once_for_glpk(tmp_path, capsys):
    """As ``threads = 2`` there is: before, only the threads line."""
    spec = micro_spec(tmp_path, ["glpk", "highs"], 'formulations = ["tight"]\n[options]\nseed = 3\nthreads = 2\n')
    assert main(["bench", str(spec), "--dry-run"]) == 0
    err = capsys.readouterr().err
    assert err.count(f"optdist: {spec}: solver glpk takes no seed (seed 3 given") == 1, err
    assert err.count(f"optdist: {spec}: solver glpk runs on one thread") == 1 and "highs" not in err, err


def _defended(tmp_path):
    doc = json.loads(LENET_1X4.read_text())
    doc["defence"] = {"lenet": {"mode": "auto"}}
    path = tmp_path / "defended.json"
    path.write_text(json.dumps(doc))
    return path


def _warned(path, by: str) -> str:
    return f"optdist: warning: {path}: the instance's defence entry is used only by --method defended (ignored by {by})\n"


def test_train_rl_says_it_ignores_the_defence_entry(tmp_path, capsys):
    inst = _defended(tmp_path)
    assert main(["train-rl", str(inst), "--episodes", "1", "--out", str(tmp_path / "rl")]) == 0
    assert _warned(inst, "optdist train-rl: the policy learns to place without defences") in capsys.readouterr().err


@pytest.mark.parametrize("methods", [["greedy"], ["defended"]])
def test_bench_says_which_methods_ignore_the_defence_entry(tmp_path, capsys, methods):
    inst = _defended(tmp_path)
    spec = tmp_path / "s.toml"
    solvers = 'solvers = ["highs"]\nsolver_methods = ["defended"]\n' if methods == ["defended"] else ""
    spec.write_text(f'name = "s"\nout = "{tmp_path / "out"}"\ninstances = ["{inst}"]\nmethods = {json.dumps(methods)}\n'
                    f"{solvers}time_limit = 20\n")
    main(["bench", str(spec)])
    err = capsys.readouterr().err
    said = _warned(inst, f'{spec}\'s methods "greedy"')
    assert (said in err) == (methods == ["greedy"]) and "ignored by" not in err.replace(said, ""), err


@pytest.mark.parametrize("solve", [False, True])
def test_no_period_note_where_the_findings_rest_on_given_capacities(capsys, solve):
    """``instances/infeasible/lenet-1x4-compute.json``: its devices' compute_capacity is given (20,000), so
    no period_s restores it; its source's default alone gave break42's note "a longer period_s raises it"."""
    inst = ROOT / "instances" / "infeasible" / "lenet-1x4-compute.json"
    assert main(["diagnose", str(inst), *(["--time-limit", "30"] if solve else ["--no-solve"])]) == 1
    out = capsys.readouterr().out
    assert "[compute] request r1, layer fc1" in out and "period_s" not in out, out
    if solve:
        assert "minimal relaxation(s) restoring feasibility: {compute}" in out, out


@pytest.mark.parametrize("kind, holds", [("folder", "one sub-folder of images per class"),
                                         ("cifar10", "CIFAR-10's python batches (data_batch_1..5, test_batch)")])
def test_a_dataset_folder_that_is_a_file_says_what_the_folder_holds(tmp_path, capsys, kind, holds):
    """Before: "(fix: give the folder that holds the folder files)"."""
    given = tmp_path / "images.txt"
    given.write_text("")
    assert main(["train-target", "lenet", "--data", f"{kind}:{given}", "--weights-dir", str(tmp_path / "w")]) == 2
    assert capsys.readouterr().err == (f'optdist train-target: error: dataset "{kind}:{given}": {given} is not a folder '
                                       f"(fix: give the folder that holds {holds}, as {kind}:DIR)\n")


def test_a_model_file_that_is_a_folder_is_named_a_folder(tmp_path, capsys):
    """Before: "m.lp: model file not found" for a folder m.lp that is there."""
    (tmp_path / "m.lp").mkdir()
    assert main(["import-solution", str(MICRO_2X2), "--model-file", str(tmp_path / "m.lp"), "--solution",
                 str(tmp_path / "m.sol"), "--format", "glpk"]) == 2
    assert capsys.readouterr().err == (f"optdist import-solution: error: {tmp_path / 'm.lp'}: a folder, not a model file "
                                       "(fix: give the .lp or .mps file `optdist export` wrote)\n")


def test_a_bench_spec_named_in_upper_case_json_is_json(tmp_path, capsys):
    """``T.JSON`` is a file everywhere (lead42's is_json_name); a spec ``S.JSON`` was read as TOML ("not a
    readable TOML spec (Invalid statement ...)"), and bench-table of it said it is no output folder."""
    spec = tmp_path / "S.JSON"
    spec.write_text(json.dumps({"name": "s", "out": str(tmp_path / "out"), "instances": [str(MICRO_2X2)],
                                "methods": ["greedy"]}))
    assert main(["bench", str(spec), "--dry-run"]) == 0
    assert capsys.readouterr().out.endswith("1 of 1 runs to do\n")
    assert main(["bench-table", str(spec)]) == 2
    assert "a sweep spec, given where the sweep's output folder is expected" in capsys.readouterr().err


def test_pareto_out_with_an_upper_case_extension_is_the_prefix(tmp_path, capsys):
    """``--out front.CSV`` wrote front.CSV.csv, front.CSV.md, front.CSV.png (``front.csv``: front.csv, ...)."""
    assert main(["pareto", str(LENET_1X4), "--points", "1", "--out", str(tmp_path / "front.CSV")]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["front.csv", "front.md", "front.png"]
