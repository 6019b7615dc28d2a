"""A warm start the evaluator finds infeasible is said to be so (found passing `optdist solve
--warm-start` a placement that breaks a compute capacity: the output said only `warm start
assignment`, as for a good one; the solvers may discard such a start)."""

from __future__ import annotations

import json

import pytest

from optdist.cli import main
from tests.conftest import ROOT

MICRO = str(ROOT / "instances" / "tiny" / "micro-2x3-tight.json")


def test_an_infeasible_warm_start_is_named(tmp_path, capsys):
    res = tmp_path / "r.json"
    assert main(["solve", MICRO, "--out", str(res), "-q"]) == 0
    asg = json.loads(res.read_text())["assignment"]
    good = tmp_path / "good.json"
    good.write_text(json.dumps(asg))
    asg["requests"]["r1"]["layers"]["conv2"] = [["rpi3-1", 2]]  # 1,296 of rpi3-1's 900 multiplications
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(asg))
    capsys.readouterr()
    assert main(["solve", MICRO, "--warm-start", str(bad), "--formulation", "tight"]) == 0
    err = capsys.readouterr().err
    assert f"--warm-start {bad} breaks 1 constraint(s): [compute] rpi3-1 uses 1296 of compute" in err
    assert main(["solve", MICRO, "--warm-start", str(good), "--formulation", "tight"]) == 0
    assert "breaks" not in capsys.readouterr().err


def test_a_warm_start_no_model_can_hold_is_skipped_not_fatal(tmp_path, capsys):
    """A warm start with a map on another request's camera (no variable of any MILP holds it) ran
    into ``request r2: nodes ['cam1'] are not candidates`` and exit 2 before any solve (review21).
    Now the solve runs unseeded, says why the start was not used, and ends as without it."""
    inst = str(ROOT / "instances" / "tiny" / "micro-2x2-tau0.6.json")
    res = tmp_path / "r.json"
    assert main(["solve", inst, "--formulation", "compact", "--out", str(res), "-q"]) == 0
    doc = json.loads(res.read_text())
    asg = doc["assignment"]
    asg["requests"]["r2"]["layers"]["conv1"] = [["cam1", 1]]  # r2's source is cam2
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(asg))
    capsys.readouterr()
    for formulation in ("compact", "per-map", "tight"):
        out_file = tmp_path / f"{formulation}.json"
        assert main(["solve", inst, "--warm-start", str(bad), "--formulation", formulation, "--out", str(out_file)]) == 0
        out = capsys.readouterr().out
        assert "warm start   assignment (not used: the model cannot hold it: request r2: nodes ['cam1'] are not " \
               "candidates" in out, out
        again = json.loads(out_file.read_text())
        assert again["termination"] == "optimal" and again["objective"] == pytest.approx(doc["objective"], rel=1e-6)


def test_a_skipped_warm_start_names_its_own_request_on_tight(tmp_path, capsys):
    """The tight model permutes identical requests before it sets a start (symmetry rows): a start
    rejecting r2 without admission control was skipped as 'request r1 is rejected' (review21b).
    The reason now names the file's own request."""
    inst = str(ROOT / "instances" / "tiny" / "micro-2x2-tau0.6.json")
    res = tmp_path / "r.json"
    assert main(["solve", inst, "--formulation", "compact", "--out", str(res), "-q"]) == 0
    asg = json.loads(res.read_text())["assignment"]
    asg["requests"]["r2"] = {"rejected": True}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(asg))
    capsys.readouterr()
    assert main(["solve", inst, "--warm-start", str(bad), "--formulation", "tight"]) == 0
    out = capsys.readouterr().out
    assert ("(not used: the model cannot hold it: request r2 is rejected but admission control is off, and it "
            "breaks 1 constraint(s))") in out, out
