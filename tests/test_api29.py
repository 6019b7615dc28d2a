"""api29: the Python API takes what the command line takes, and says what it takes otherwise.

1. ``optdist.solve(inst, warm_start=...)`` took an Assignment or a method name only: a result or
   assignment file's path (str: "unknown method '/path/res.json'"; Path: "unknown method
   PosixPath(...)") and a SolveResult ("unhashable type: 'SolveResult'") failed. Now a path is
   read as ``optdist solve --warm-start FILE`` reads it, a SolveResult gives its assignment, and
   anything else is an error saying what is taken.
2. ``solve(None | 42)`` raised Python's "expected str, bytes or os.PathLike object"; the instance
   document ``optdist.generate`` returns was refused alike. ``evaluate(path, asg)`` and
   ``evaluate(inst, "file.json" | res | None)`` raised AttributeErrors. Now a path, a document, a
   file or a SolveResult are taken, another type is a TypeError naming what is.
3. ``res.save(inst, path)`` replaced any file (an instance) and created missing folders; now it
   checks ``path`` as ``optdist solve --out`` does, refuses to replace anything but an optdist
   result or assignment (unless ``force=True``); ``res.save("x.json")`` names the call to make.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import optdist
from optdist.assignment import Assignment
from optdist.generate import generate
from optdist.io import OutputPathError
from optdist.result import load_result

from .conftest import ROOT

MICRO = ROOT / "instances/tiny/micro-2x3-tight.json"


@pytest.fixture(scope="module")
def inst():
    return optdist.load_instance(MICRO)


@pytest.fixture(scope="module")
def greedy(inst):
    return optdist.solve(inst, method="greedy")


# 1. warm_start: a file (str or Path, result or assignment) or a SolveResult, as the CLI takes it


@pytest.mark.parametrize("kind", ["result-str", "result-path", "assignment-path"])
def test_a_warm_start_file_is_read_as_the_cli_reads_it(tmp_path, inst, greedy, kind):
    path = tmp_path / "start.json"
    if kind.startswith("result"):
        greedy.save(inst, path)
    else:
        greedy.assignment.save(inst, path)
    res = optdist.solve(inst, warm_start=str(path) if kind.endswith("str") else path, threads=1)
    assert res.extra["warm_start"] == "assignment"  # seeded with the file's placement
    assert res.evaluation.feasible and res.objective <= greedy.objective * (1 + 1e-9)


def test_a_solve_result_is_a_warm_start(inst, greedy):
    res = optdist.solve(inst, warm_start=greedy, threads=1)
    assert res.extra["warm_start"] == "assignment"
    assert res.evaluation.feasible


def test_a_warm_start_that_is_neither_a_method_nor_a_file_says_what_is_taken(inst):
    with pytest.raises(ValueError, match=r'warm_start "greedyy": neither a method nor a file \(fix: did you mean '
                                         r"greedy\?.*path of an assignment or result file"):
        optdist.solve(inst, warm_start="greedyy")
    with pytest.raises(TypeError, match="warm_start is of type int; it takes a method name"):
        optdist.solve(inst, warm_start=42)


def test_a_missing_warm_start_file_names_it(tmp_path, inst):
    with pytest.raises(FileNotFoundError, match="nope.json"):
        optdist.solve(inst, warm_start=tmp_path / "nope.json")


def test_a_method_name_is_still_a_method(inst):
    res = optdist.solve(inst, warm_start="greedy", threads=1)
    assert res.extra["warm_start"] == "greedy"


# 2. argument types


@pytest.mark.parametrize("bad, shown", [(None, "None"), (42, "int 42")])
def test_solve_refuses_what_is_no_instance_saying_what_it_takes(bad, shown):
    with pytest.raises(TypeError, match=rf"optdist.solve: the instance is {shown}; it takes an Instance, the path of "
                                        r"an instance file \(str or pathlib.Path\) or an instance document"):
        optdist.solve(bad, method="greedy")


def test_solve_takes_the_document_generate_returns():
    doc = generate("gen-api29", {"micro": 1}, {"rpi3": 2}, 0.6, sources=1, privacy="synthetic")
    res = optdist.solve(doc, method="greedy")
    assert res.instance == "gen-api29" and res.evaluation is not None


def test_evaluate_takes_an_instance_path_and_placements_as_the_cli_does(tmp_path, inst, greedy):
    greedy.save(inst, tmp_path / "r.json")
    greedy.assignment.save(inst, tmp_path / "a.json")
    want = optdist.evaluate(inst, greedy.assignment).objective
    assert optdist.evaluate(str(MICRO), greedy.assignment).objective == want
    assert optdist.evaluate(MICRO, greedy).objective == want
    assert optdist.evaluate(inst, str(tmp_path / "r.json")).objective == want
    assert optdist.evaluate(inst, tmp_path / "a.json").objective == want


@pytest.mark.parametrize("bad, shown", [(None, "None"), (3, "int 3")])
def test_evaluate_refuses_what_is_no_placement_saying_what_it_takes(inst, bad, shown):
    with pytest.raises(TypeError, match=rf"optdist.evaluate: the placement is {shown}; it takes an Assignment, a "
                                        r"SolveResult \(its assignment\) or the path"):
        optdist.evaluate(inst, bad)
    with pytest.raises(TypeError, match="optdist.evaluate: the instance is None"):
        optdist.evaluate(None, Assignment([]))


def test_a_result_without_assignment_is_no_placement(inst, greedy):
    from dataclasses import replace

    empty = replace(greedy, assignment=None, evaluation=None)
    with pytest.raises(ValueError, match="has no assignment"):
        optdist.evaluate(inst, empty)


# 3. save: the --out checks


def test_save_refuses_to_replace_an_instance(tmp_path, inst, greedy):
    copy = tmp_path / "x.json"
    shutil.copy(MICRO, copy)
    before = copy.read_bytes()
    for obj in (greedy, greedy.assignment):
        with pytest.raises(OutputPathError, match=r"x.json: exists and is an optdist-instance/1 document.*"
                                                  r"or pass force=True to replace it"):
            obj.save(inst, copy)
    assert copy.read_bytes() == before
    with pytest.raises(OutputPathError, match="is the input file"):  # its own file: not even with force
        greedy.save(optdist.load_instance(copy), copy, force=True)
    assert copy.read_bytes() == before


def test_save_replaces_a_result_or_assignment_and_any_file_with_force(tmp_path, inst, greedy):
    out = tmp_path / "r.json"
    greedy.assignment.save(inst, out)
    greedy.save(inst, out)  # an assignment replaced by a result
    assert load_result(out)["method"] == "greedy"
    greedy.assignment.save(inst, out)
    other = tmp_path / "notes.txt"
    other.write_text("mine")
    with pytest.raises(OutputPathError, match="notes.txt: exists and is not an optdist document"):
        greedy.save(inst, other)
    greedy.save(inst, other, force=True)
    assert json.loads(other.read_text())["format"] == "optdist-result/1"


def test_save_creates_no_folder(tmp_path, inst, greedy):
    target = tmp_path / "missing" / "x.json"
    for obj in (greedy, greedy.assignment):
        with pytest.raises(OutputPathError, match=r"the folder .*missing does not exist \(fix: create it first"):
            obj.save(inst, target)
    assert not target.parent.exists()


def test_save_without_the_instance_names_the_call(tmp_path, inst, greedy):
    with pytest.raises(TypeError, match=r'takes the instance first.*\(fix: res.save\(inst, "x.json"\)'):
        greedy.save("x.json")
    with pytest.raises(TypeError, match=r'\(fix: asg.save\(inst, "x.json"\)'):
        greedy.assignment.save("x.json")
    with pytest.raises(TypeError, match="path is None, not a file path"):
        greedy.save(inst)
    assert not Path("x.json").exists()


def test_another_instances_result_that_does_not_fit_is_refused_naming_both(inst):
    """break29b: a SolveResult of lenet-1x4 given to micro-2x2-tau0.6 warned "it is used as the warm start",
    then failed with "assignment has 1 requests, the instance has 2" (no instance, no fix)."""
    other = optdist.solve(ROOT / "instances" / "tiny" / "lenet-1x4-tau0.6.json", method="greedy")
    says = (r'the SolveResult was made for instance "lenet-1x4-tau0.6", not "micro-2x3-tight", and its placement '
            r'does not fit this one.s requests and layers \(it places 1 request, this one has 2\) \(fix: give a result of "micro-2x3-tight"')
    with pytest.raises(ValueError, match="optdist.solve\\(warm_start=...\\): " + says):
        optdist.solve(inst, warm_start=other)
    with pytest.raises(ValueError, match="optdist.evaluate: " + says):
        optdist.evaluate(inst, other)
