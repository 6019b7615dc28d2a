"""``optdist solve`` says when the decomposition's column generation or branch-and-price ended early
because its pricing solver kept failing (``extra["coupled_solve"]["pricing_stopped"]``): a
``WARNING`` line on stdout, beside the run's other warnings, and a warning on stderr (tidy22b;
before, only the ``--out`` file had it).
"""

from __future__ import annotations

import logging

import pytest

import optdist
from optdist.cli import build_parser
from optdist.commands.solve import _report
from optdist.milp.decomposition.branch import PRICING_FAILURES_MAX, pricing_stopped
from tests.conftest import ROOT, linux_only, requires_solver

INSTANCE = ROOT / "instances" / "tiny" / "cifar-1x4-tau0.8.json"


def test_the_report_prints_and_warns_why_the_pricing_stopped(capsys, caplog):
    """The CLI's report of a result whose coupled step says its pricing stopped (the reason worded
    by the engine's own :func:`pricing_stopped`)."""
    inst = optdist.load_instance(INSTANCE)
    res = optdist.solve(inst, method="greedy")
    why = pricing_stopped("column generation stopped after round 3", PRICING_FAILURES_MAX,
                          "solver cbc ended abnormally: it was killed by signal SIGKILL (exit status -9)")
    res.extra["coupled_solve"] = {"method": "column generation", "pricing_stopped": why}
    args = build_parser().parse_args(["solve", str(INSTANCE)])
    with caplog.at_level(logging.WARNING, logger="optdist"):
        assert _report(inst, res, args) == 0
    out = capsys.readouterr().out
    assert f"WARNING      {why}\n" in out, out
    assert why in caplog.text, caplog.text


def test_a_report_without_it_says_nothing_of_pricing(capsys, caplog):
    inst = optdist.load_instance(INSTANCE)
    res = optdist.solve(inst, method="greedy")
    res.extra["coupled_solve"] = {"method": "column generation", "termination": "optimal"}
    with caplog.at_level(logging.WARNING, logger="optdist"):
        assert _report(inst, res, build_parser().parse_args(["solve", str(INSTANCE)])) == 0
    assert "pricing" not in capsys.readouterr().out and "pricing" not in caplog.text


@pytest.mark.slow  # 10 s at load 2.3: the decomposition of lenet-8x4 with every CBC killed as it starts
@linux_only
@requires_solver("cbc")
def test_optdist_solve_says_its_column_generation_stopped_on_failed_pricing(capsys, tmp_path):
    from tests.test_solver_death import COUPLED, _solve_killing_cbc

    rc, out, err, doc = _solve_killing_cbc(capsys, tmp_path, [COUPLED, "--formulation", "decomposed",
                                                               "--time-limit", "60"], after=0.0, every=True)
    assert rc == 0, err
    why = doc["extra"]["coupled_solve"]["pricing_stopped"]
    assert why.startswith(f"column generation stopped after round {PRICING_FAILURES_MAX}: the pricing solver "
                          f"failed in {PRICING_FAILURES_MAX} rounds in a row (solver cbc ended abnormally"), why
    assert f"WARNING      {why}\n" in out, out
    assert f"warning: {why}" in err, err
