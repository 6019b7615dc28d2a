"""Fixes from review23b (a fresh user's review of the warm starts and the plan methods' flags)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import optdist
from optdist.cli import main

ROOT = Path(__file__).resolve().parents[1]
#: one LeNet request on 10 devices; a greedy placement of its tau-0.8 twin breaks its privacy (fc1 off the camera)
LENET = ROOT / "instances" / "paper" / "lenet-1x10-tau0.6.json"
TWIN = ROOT / "instances" / "paper" / "lenet-1x10-tau0.8.json"


@pytest.fixture(scope="module")
def infeasible_start(tmp_path_factory) -> Path:
    """The greedy's placement of :data:`TWIN`, saved for :data:`LENET` (same ids), where it is infeasible."""
    inst = optdist.load_instance(LENET)
    asg = optdist.solve(TWIN, method="greedy").assignment
    assert not optdist.evaluate(inst, asg).feasible
    path = tmp_path_factory.mktemp("start") / "start.json"
    asg.save(inst, path)
    return path


@pytest.mark.parametrize("method", ["plan-guided", "plan-rollout"])
def test_an_infeasible_plan_start_is_warned_about_and_recorded(method, infeasible_start, tmp_path, capsys):
    """--plan-start with a placement that breaks the forecast's constraints: --help says the plan
    costs at most that placement "where it is feasible"; the run said nothing about it (extra only
    had its file name), so a user believed the plan bounded by it."""
    out = tmp_path / "res.json"
    assert main(["solve", str(LENET), "--method", method, "--plan-start", str(infeasible_start),
                 "--plan-time-limit", "10", "--threads", "1", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    said = [x for x in err.splitlines() if "breaks" in x and "plan_start" in x]
    assert len(said) == 1 and str(infeasible_start) in said[0] and "(fix: give a feasible placement" in said[0], err
    extra = json.loads(out.read_text())["extra"]
    assert extra["plan_start_infeasible"].startswith(f"{method}: plan_start {infeasible_start} breaks 1 constraint(s)")


def test_a_feasible_plan_start_is_not_warned_about(tmp_path, capsys):
    start = tmp_path / "start.json"
    assert main(["solve", str(LENET), "--method", "greedy", "--out", str(start), "-q"]) == 0
    res = optdist.solve(LENET, method="plan-guided", plan_start=start, plan_time_limit=10)
    assert "plan_start_infeasible" not in res.extra and res.extra["plan_start"] == str(start)


@pytest.mark.parametrize("method", ["plan-guided", "plan-rollout"])
def test_a_missing_forecast_is_named_as_the_forecast(method, tmp_path, capsys):
    """``--forecast MISSING`` said "MISSING: instance file not found", as if the solved instance were
    missing, without a fix."""
    missing = tmp_path / "nope.json"
    assert main(["solve", str(LENET), "--method", method, "--forecast", str(missing)]) == 2
    err = capsys.readouterr().err
    assert f"{missing}: {method}'s forecast: instance file not found (fix: give the forecast's instance file" in err, err
    with pytest.raises(FileNotFoundError, match=f"{method}'s forecast: .*fix"):
        optdist.solve(LENET, method=method, forecast=missing)


@pytest.mark.parametrize("given", ["/dev/null", "WRONG"])
def test_a_warm_start_given_with_another_method_is_refused_as_such_unread(given, tmp_path, capsys):
    """``--warm-start`` is an option of --method milp: with another method the flag is refused,
    before its file is read. Before: the file was read first, and its errors (not a .json file; a
    placement for another instance's nodes) hid that the flag does not apply."""
    if given == "WRONG":  # a placement of a 4-device instance: unknown node ids on 10 devices
        given = str(tmp_path / "other.json")
        assert main(["solve", str(ROOT / "instances" / "tiny" / "lenet-1x4-tau0.8.json"), "--method", "greedy",
                     "--out", given, "-q"]) == 0
        capsys.readouterr()
    assert main(["solve", str(LENET), "--method", "greedy", "--warm-start", given]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1] == ("optdist solve: error: --warm-start is an option of --method milp, not of "
                                            "greedy (fix: leave it out, or use --method milp)"), err


@pytest.mark.parametrize("command", ["solve", "evaluate"])
def test_a_result_file_of_another_format_version_is_not_told_to_become_an_assignment(command, tmp_path, capsys):
    """A result file whose format is 'optdist-result/9' was read as an assignment and the fix said
    'set "format": "optdist-assignment/1"' (wrong: the file is a result). Now the field, what this
    optdist reads and a fix that fits."""
    result = tmp_path / "res.json"
    assert main(["solve", str(LENET), "--method", "greedy", "--out", str(result), "-q"]) == 0
    doc = json.loads(result.read_text())
    doc["format"] = "optdist-result/9"
    result.write_text(json.dumps(doc))
    capsys.readouterr()
    args = ["--warm-start", str(result)] if command == "solve" else [str(result)]
    assert main([command, str(LENET), *args]) == 2
    err = capsys.readouterr().err
    assert f"{result}" in err and 'format: is "optdist-result/9", a result format this optdist does not read' in err, err
    assert "optdist-assignment/1\")" not in err and "(fix: write it again with this optdist's `optdist solve --out`" in err


def test_warm_start_milp_names_the_flag_and_the_fix(capsys):
    """``--warm-start milp`` said "warm_start: use a heuristic method (e.g. 'greedy'), not 'milp'":
    the Python option's name, no fix; and 'milp' was listed among the methods --warm-start takes."""
    assert main(["solve", str(LENET), "--warm-start", "milp"]) == 2
    err = capsys.readouterr().err
    assert "--warm-start milp: the MILP cannot be its own MIP start (fix: give a heuristic method" in err, err
    assert main(["solve", str(LENET), "--warm-start", "nope"]) == 2
    listed = capsys.readouterr().err.split("neither a method (")[1].split(")")[0].split(", ")
    assert "greedy" in listed and "milp" not in listed
