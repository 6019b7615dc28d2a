"""A warm start the evaluator finds infeasible is said to be so (found passing `optdist solve
--warm-start` a placement that breaks a compute capacity: the output said only `warm start
assignment`, as for a good one; the solvers may discard such a start)."""

from __future__ import annotations

import json

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
