"""Fixes from review23c (a fresh user's review of rl23, fix23a, rlt23): ``optdist solve --method rl
--time-limit`` says on its report what the limit cut (it was only in ``--out``'s ``extra``); a sweep
spec's wrongly typed text option gets an example the option takes."""

from __future__ import annotations

from pathlib import Path

import pytest

from optdist.cli import main

ROOT = Path(__file__).resolve().parents[1]
LENET_8X4 = ROOT / "instances" / "coupled" / "lenet-8x4-rpi3.json"


def test_solve_rl_report_says_what_time_limit_cut(capsys):
    """A limit too short for any training episode: the report names the cut training (0 of the
    preset's 3000 episodes) and the requests the network decided after the limit (all 8), as the
    plan methods' report names theirs; before, only the initial-weights warning said anything."""
    main(["solve", str(LENET_8X4), "--method", "rl", "--time-limit", "1e-6"])  # exit 1: the untrained network breaks constraints
    out = capsys.readouterr().out
    assert "training     cut at 5e-07 s (half of --time-limit): 0 of 3000 episodes" in out
    assert "deadline     8 of 8 requests decided after --time-limit ran out" in out


def test_solve_rl_report_without_time_limit_has_no_cut_lines(capsys):
    """Without --time-limit nothing is cut: neither line appears."""
    main(["solve", str(LENET_8X4), "--method", "rl", "--episodes", "2"])
    out = capsys.readouterr().out
    assert "trained" in out  # the rl report of a run that trained, so the absence below is not that of another report
    assert "training     cut" not in out and "deadline     " not in out


@pytest.mark.parametrize("option, value, example", [
    ("reward", 5, 'reward = "stage"'), ("warm_start", 5, 'warm_start = "greedy"'),
    ("forecast", 5, 'forecast = "instances/coupled/lenet-8x4-rpi3.json"'), ("inner", 5, 'inner = "milp"'),
    ("policy", 5, 'policy = "runs/rl/lenet"'), ("solver", 5, 'solver = "highs"'),
])
def test_spec_option_of_wrong_type_fix_gives_a_valid_example(option, value, example):
    """A wrongly typed text option's fix gives a value the option takes: it gave the string type's
    example to every one (``reward = "highs"``, ``warm_start = "highs"``, and a policy folder for
    ``forecast``); policy and solver keep theirs."""
    from optdist.bench.spec import parse_spec
    from optdist.solve import METHOD_OPTIONS

    method = next(m for m in ("rl", "milp", "plan-guided", "defended") if option in METHOD_OPTIONS[m])
    doc = {"name": "t", "out": "runs/t", "instances": [str(LENET_8X4)], "methods": [method],
           "method_options": {method: {option: value}}}
    with pytest.raises(ValueError, match=f"is not .* \\(fix: give .*, e.g. {example}\\)$"):
        parse_spec(doc, "sweep.toml")
