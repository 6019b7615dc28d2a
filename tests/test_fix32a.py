"""fix32a: the session's leftovers (real HiGHS, tiny instances, no mocks).

1. A write into a loaded instance's array names the array, that the instance is read-only, and
   the fix (inst.with_spec / a copy); before: numpy's bare "assignment destination is read-only".
2. A SolveResult of another instance given to evaluate / warm_start: its misfit names the node by
   id (``unknown node id "rpi3-8"`` as the CLI says it); before: "node index 7".
3. ``optdist.solve(inst, solver=Mine)`` (a Solver subclass or an instance of one) runs it for the call,
   checked as register checks it; before: "give an adapter or profile name".
4. ``bench-table --write-solu``: a line whose value changes drops its trailing comment, with a warning;
   before, ``=best= X 2.5  # from Table 3`` became ``=best= X 2.4  # from Table 3``.
5. ``extra["pricing_moved"]`` records the request's id (as its progress line); before, its index.
6. A path flag's empty value says what the flag takes, as it declares it (``takes``, or its own fix
   where it takes either), not as its example looks; before: --policy "give a folder" only.
7. ``optdist import-solution`` against another instance: one refusal (file, what differs, the fix);
   before: a warning of the other name, then the refusal.
"""

from __future__ import annotations

import argparse
import copy
import logging
import pickle
import re
import shutil

import numpy as np
import pytest

import optdist
from optdist.cli import FlagError, PathFlag, _sub_commands, build_parser, main, path_flag
from optdist.instance import ReadOnlyError
from optdist.solvers import ADAPTERS, Solver, get_solver
from optdist.solvers.cbc import Cbc
from optdist.solvers.highs import Highs

from .conftest import LENET_1X4, ROOT
from .helpers import exported_and_solved

TINY = ROOT / "instances" / "tiny"


@pytest.fixture(scope="module")
def inst():
    return optdist.load_instance(LENET_1X4)


# --- 1. the arrays of a loaded instance ----------------------------------------------------------

@pytest.mark.parametrize("code, name", [
    ("i.rate[0] = 0", "inst.rate"), ("i.mults_per_s[:] = np.nan", "inst.mults_per_s"), ("i.memory += 1", "inst.memory"),
    ("i.request_source[0] = 0", "inst.request_source"), ("i.compute_capacity.fill(0)", "inst.compute_capacity"),
    ("i.bandwidth_capacity[:2][0] = 1", "inst.bandwidth_capacity"), ("np.add(i.rate, 1, out=i.rate)", "inst.rate"),
    ("i.memory.sort()", "inst.memory"), ("i.segment_seconds(0)[0, 0] = 0", "inst.segment_seconds(r)"),
])
def test_an_array_write_names_the_array_and_the_fix(inst, code, name):
    with pytest.raises(ReadOnlyError, match=rf"^{name.replace('(', '[(]').replace(')', '[)]')} cannot be changed: a "
                       r"loaded instance is read-only.*\(fix: .*with_spec\(.*a = " + name.replace("(", "[(]").replace(")", "[)]")
                       + r"\.copy\(\)\)$") as e:
        exec(code, {"i": inst, "np": np})
    assert isinstance(e.value, ValueError)  # what numpy raised: code catching ValueError still does
    assert np.all(inst.rate > 0) and np.all(np.isfinite(inst.mults_per_s)) and inst.memory[0] > 1e9


def test_the_node_fix_is_the_with_spec_line_to_write(inst):
    with pytest.raises(ReadOnlyError) as e:
        inst.rate[0] = 0
    fix = str(e.value).split("with inst.with_spec(", 1)[1]
    assert fix.startswith('devices=[d.model_copy(update={"rate": ...}) if d.id == "rpi3-1" else d for d in inst.spec.devices])')
    changed = inst.with_spec(devices=[d.model_copy(update={"rate": 1e6}) if d.id == "rpi3-1" else d for d in inst.spec.devices])
    assert changed.rate[0] == 1e6 and inst.rate[0] != 1e6


def test_what_is_computed_or_copied_is_a_plain_writable_array(inst):
    computed = [inst.rate * 2, np.sort(inst.rate), np.maximum(inst.rate, 3), np.concatenate([inst.rate, inst.memory]),
                inst.rate.copy(), np.copy(inst.rate), np.array(inst.rate), copy.copy(inst.rate), copy.deepcopy(inst.rate),
                pickle.loads(pickle.dumps(inst.rate)), inst.segment_seconds(0).max(axis=1), inst.rate == inst.rate]
    for a in computed:
        assert type(a) is np.ndarray and a.flags.writeable
        a[0] = 0  # a copy: the instance keeps its numbers
    assert inst.rate.max() == inst.rate[0] > 0 and float(inst.rate.sum()) == pytest.approx(5 * inst.rate[0])
    view = inst.rate[:2]
    assert isinstance(view, np.ndarray) and not view.flags.writeable
    inst.segment_seconds(0)  # cached: a pickled copy's cache is read-only again
    for other in (copy.deepcopy(inst), pickle.loads(pickle.dumps(inst))):
        with pytest.raises(ReadOnlyError, match="^inst.rate cannot be changed"):
            other.rate[0] = 0
        with pytest.raises(ReadOnlyError, match=r"^inst.segment_seconds\(r\) cannot be changed"):
            other.segment_seconds(0)[0, 0] = 0
        assert np.array_equal(other.rate, inst.rate)


# --- 3. optdist.solve(solver=<a Solver subclass>) ------------------------------------------------

class _Mine(Highs):
    name = "mine32a"


class _SameName(Highs):  # inherits name = "highs"
    pass


@pytest.fixture(scope="module")
def optimum(inst):
    return optdist.solve(inst, time_limit=30).objective


@pytest.mark.parametrize("given", [_Mine, _Mine()], ids=["class", "instance"])
def test_a_solver_class_or_instance_runs_for_the_call_unregistered(inst, optimum, given):
    res = optdist.solve(inst, solver=given, time_limit=30)
    assert res.solver == "mine32a" and res.objective == pytest.approx(optimum)
    assert "mine32a" not in ADAPTERS
    with pytest.raises(ValueError, match='unknown solver "mine32a"'):
        get_solver("mine32a")  # not registered by the call
    res = optdist.solve(inst, formulation="decomposed", solver=given, pricing_solver=given, time_limit=30)
    assert res.solver == "mine32a" and res.objective == pytest.approx(optimum)


def test_a_solver_class_is_checked_as_register_checks_it(inst):
    class _Unrelated(Cbc):  # claims a built-in name it does not inherit
        name = "highs"

    with pytest.raises(ValueError, match=r"^optdist.solve: solver=_Unrelated: adapter \"highs\" is taken by "
                       r"optdist.solvers.highs.Highs \(fix: choose another name\)$"):
        optdist.solve(inst, solver=_Unrelated)
    assert optdist.solve(inst, solver=_SameName, time_limit=30).solver == "highs"  # a subclass: for this call (fixd32a)
    with pytest.raises(ValueError, match=r"solver=Solver: optdist.solvers.Solver is the abstract base.*\(fix: give a "):
        optdist.solve(inst, solver=Solver)
    assert optdist.solve(inst, solver=Highs, time_limit=30).solver == "highs"  # registered: as its name is
    assert optdist.solve(inst, solver=Highs({"time_limit": 30})).solver == "highs"  # one of its: with its options


@pytest.mark.parametrize("given, shown", [(int, "int (a class)"), (42, "42 (int)"), (object(), "(object)")])
def test_a_solver_that_is_no_solver_is_a_type_error_naming_solver_and_the_fix(inst, given, shown):
    with pytest.raises(TypeError, match=rf"^optdist.solve: solver=.*{re.escape(shown)} is neither an adapter or profile "
                       r"name nor an optdist.solvers.Solver \(fix: .*solver=\"highs\", or your adapter class, solver=Mine"):
        optdist.solve(inst, solver=given)


# --- 7. optdist import-solution against another instance: one refusal ---------------------------


def test_import_solution_of_another_instance_is_one_refusal_without_a_warning(tmp_path, capsys, caplog):
    lp, sol = exported_and_solved(tmp_path, LENET_1X4, "--formulation", "tight")
    other = TINY / "lenet-1x4-tau0.6.json"
    capsys.readouterr()
    with caplog.at_level(logging.WARNING, logger="optdist"):
        assert main(["import-solution", str(other), "--model-file", str(lp), "--solution", str(sol)]) == 2
    err = capsys.readouterr().err
    assert caplog.text == "" and "warning" not in err and err.count("\n") == 1
    assert err.startswith(f'optdist import-solution: error: {lp}: exported from instance "lenet-1x4-tau0.8", not '
                          f'"lenet-1x4-tau0.6" ({other}), and their contents differ (')
    fresh = tmp_path / "lenet-1x4-tau0.6.lp"  # not --out {lp}: that would replace the model file (fixd32a)
    assert f"(fix: export the model of this instance again, `optdist export {other} --formulation tight --out {fresh}`" in err
    capsys.readouterr()
    assert main(["import-solution", str(LENET_1X4), "--model-file", str(lp), "--solution", str(sol)]) == 0
    assert "exported from" not in capsys.readouterr().err


# --- 2. a SolveResult of another instance: the misfit names the node by id -----------------------

@pytest.fixture(scope="module")
def larger():
    res = optdist.solve(ROOT / "instances" / "paper" / "lenet-1x10-tau0.8.json", method="greedy")
    assert res.node_ids[10] == "cam1" and res.node_ids[7] == "rpi3-8" and int(res.assignment.owners[0][0][0]) == 10
    return res


def test_a_misfit_result_names_its_node_by_id(inst, larger):
    says = (r'the SolveResult was made for instance "lenet-1x10-tau0\.8", not "lenet-1x4-tau0\.8", and its placement '
            r'does not fit this one.s nodes: it puts layer conv1 of request "r1" on node "cam1" of its instance \(index '
            r"10 there\), and this one has nodes 0\.\.4 \(rpi3-1 \.\.\. cam1; an assignment holds node indices, not ids\) "
            r'\(fix: give a result of "lenet-1x4-tau0\.8"')
    with pytest.raises(ValueError, match="^optdist.evaluate: " + says):
        optdist.evaluate(inst, larger)
    with pytest.raises(ValueError, match=r"^optdist\.solve\(warm_start=\.\.\.\): " + says):
        optdist.solve(inst, warm_start=larger)


def test_a_node_this_instance_lacks_is_an_unknown_node_id_as_the_cli_says(inst, larger):
    other = copy.deepcopy(larger)
    other.assignment.owners[0][0] = np.array([7])  # rpi3-8: no node of lenet-1x4
    with pytest.raises(ValueError, match=r'on unknown node id "rpi3-8" \(index 7 of its instance\), and this one has '
                       r"nodes 0\.\.4"):
        optdist.evaluate(inst, other)


# --- 5. extra["pricing_moved"] records the request's id ------------------------------------------


# --- 4. bench-table --write-solu: a rewritten line drops its trailing comment, and says so ----------

def test_write_solu_drops_the_comment_of_a_rewritten_line_and_says_so(tmp_path, capsys):
    out = tmp_path / "sweep"
    shutil.copytree(ROOT / "benchmarks/milp/competing-lenet" / "records", out / "records")
    edited = "lenet-9x5-nexus-rpi3"  # the records prove =best= 0.0100861235061, =bestdual= 0.00998360378299
    solu = tmp_path / "ref.solu"
    solu.write_text(f"# references\n=best=     {edited}  0.0102  # from the paper's Table 3\n=best= other  2.5  # kept\n")
    assert main(["bench-table", str(out), "--write-solu", str(solu)]) == 0
    err = capsys.readouterr().err
    lines = solu.read_text().splitlines()
    assert lines[0] == "# references" and lines[3] == "=best= other  2.5  # kept"  # unchanged: its comment stays
    assert lines[1] == f"=best=     {edited}  0.0100861235061" and "Table 3" not in solu.read_text()
    warned = [line for line in err.splitlines() if "Table 3" in line]
    assert warned == [f'optdist: warning: {solu}:2: "=best=     {edited}  0.0102  # from the paper\'s Table 3" is '
                      f'rewritten as "=best=     {edited}  0.0100861235061" and '  # the line written in its place (fixd32b)
                      "its comment \"# from the paper's Table 3\" dropped, as it described the old value (fix: write the "
                      "comment again if it still holds)"], err
    capsys.readouterr()
    assert main(["bench-table", str(out), "--write-solu", str(solu)]) == 0  # nothing changes now: nothing said
    assert "dropped" not in capsys.readouterr().err and solu.read_text().splitlines()[1:3] == [
        f"=best=     {edited}  0.0100861235061", f"=bestdual= {edited}  0.00998360378299"]


# --- 6. a path flag says what it takes: a file, a folder, or either -------------------------------

@pytest.mark.parametrize("words, said", [
    (["solve", str(LENET_1X4), "--policy", ""], "--policy is empty (fix: give the folder `optdist train-rl` wrote, "
                                                "e.g. --policy runs/rl/lenet-10x10-tau0.6, or its policy.pt)"),
    (["diagnose", str(LENET_1X4), "--json", " "], "--json is empty (fix: give a file for one instance, e.g. --json "
                                                  "diagnosis.json, or a folder for several, e.g. --json diagnoses)"),
    (["import-solution", str(LENET_1X4), "--model-file", "", "--solution", "s"],
     "--model-file is empty (fix: give a file, e.g. --model-file model.lp)"),
])
def test_an_empty_path_says_what_the_flag_takes(words, said):
    """Before: --policy (a folder or its policy.pt) said "give a folder" only, --json (a file, or a
    folder for several instances) "give a file" only."""
    with pytest.raises(FlagError) as e:
        build_parser().parse_args(words)
    assert str(e.value).endswith(said), str(e.value)


def test_a_declared_kind_wins_over_what_the_example_looks_like():
    folder = argparse.ArgumentParser(prog="x")
    folder.add_argument("--out", action=path_flag("runs/v1.final", takes="folder"))
    folder.add_argument("--key", action=path_flag("secrets/KEY", takes="file"))
    with pytest.raises(FlagError, match=r"--out is empty \(fix: give a folder, e.g. --out runs/v1.final\)"):
        folder.parse_args(["--out", ""])
    with pytest.raises(FlagError, match=r"--key is empty \(fix: give a file, e.g. --key secrets/KEY\)"):
        folder.parse_args(["--key", ""])
    with pytest.raises(ValueError, match=r'takes=\'dir\' \(fix: takes="file" or takes="folder"\)'):
        path_flag("runs", takes="dir")


def test_every_path_flag_says_what_its_help_says_it_takes():
    """A flag whose help speaks of a folder (and no file) says "give a folder", one that speaks of
    a file (and no folder) "give a file"; one that takes either has its own fix (empty_fix)."""
    for command, sub in _sub_commands(build_parser()).items():
        for action in sub._actions:
            if not isinstance(action, PathFlag) or action.empty_fix is not None:
                continue
            words = (action.help or "").lower()
            folder, file = "folder" in words or "dir" in (action.metavar or "").lower(), " file" in words
            assert not (folder and file), (command, action.option_strings, "takes either: give it an empty_fix")
            if folder or file:
                assert action.kind() == ("folder" if folder else "file"), (command, action.option_strings, action.kind())
