"""Edge cases of the exact engine and of ``optdist solve`` (edges22).

* Branch-and-price stops when its pricing solver keeps failing, as column generation's rounds do
  (:data:`~optdist.milp.decomposition.branch.PRICING_FAILURES_MAX` pricing rounds in a row with a
  failed solve; ``extra["pricing_stopped"]`` says why). Before: with every CBC killed, the search
  priced each node once (a failed solve proves the stage bound only, finds no column), took its
  LP as converged and branched on, node after node, to its deadline.
* ``optdist solve --formulation decomposed`` (and ``auto`` where it picks the decomposition) with a
  ``--warm-start`` file that breaks a constraint says the start was not used, as the other
  formulations do. Before: ``warm start   assignment`` (``options.warm_start`` true), unused.
* A solver that died while a feasible ``--warm-start`` was kept is warned on stderr too. Before:
  on stdout only.
* A ``--warm-start`` file made for another instance (its ``instance`` field) whose ids match is
  still used, with a warning naming the file, the field, both instances and the fix. Before: a
  warning that it was being "scored on" the instance, without the field or a fix.
"""

from __future__ import annotations

import json
import math
import threading

import numpy as np
import pytest

import optdist
from optdist.cli import main
from optdist.milp.decomposition import branch
from optdist.milp.decomposition.branch import PRICING_FAILURES_MAX, Part, branch_and_price
from optdist.milp.decomposition.master import Column, Row
from tests.conftest import ROOT, kill_solver_once_it_runs, linux_only, requires_solver

#: 8 LeNet requests competing for 4 devices: column generation with CBC hands over to
#: branch-and-price after 9-14 s (load 1-3), whose per-device search prices its root
COUPLED = str(ROOT / "instances" / "coupled" / "lenet-8x4-rpi3.json")
REL = 1e-7
MICRO = str(ROOT / "instances" / "tiny" / "micro-2x3-tight.json")
SERIAL = str(ROOT / "instances" / "tiny" / "micro-2x3-serial.json")  # micro-2x3-tight's ids, a serial uplink


def test_the_search_stops_after_pricing_rounds_that_fail_in_a_row():
    """A pricer whose solver fails in every call (it returns the bound it proved, no column, and
    its error): the search ends after PRICING_FAILURES_MAX pricing rounds, says why, and its bound
    is still valid (at most the knapsack's optimum 9.05: one item of size 0.65, seven of 0.47).
    Before: 15 nodes, to the end of the tree its pricing allowed."""
    rows = [Row((0,), 2, 4.0)]
    cols = [Column(0, "placement", cost, np.array([use])) for cost, use in [(1.0, 0.65), (1.15, 0.47), (1.3, 0.30)]]
    calls: list[Part] = []

    def price(part: Part, pi: np.ndarray, _counts, _left: float):
        calls.append(part)
        return min(c.cost + float(pi @ c.usage) for c in cols if part.admits(c)), [], "solver cbc ended abnormally"

    keys = {(0, id(c)) for c in cols}
    inc = [9.5]  # a placement known, above the optimum: the search would go on
    out = branch_and_price(rows, list(cols), keys, [8], 1.0, price=price, integral=lambda _p: None,
                           incumbent=lambda: inc[0], root_bound=-math.inf, deadline=math.inf, mip_gap=1e-9)
    # each node priced once (a failed pricing finds no column: its LP counts as converged, it branches)
    assert out.nodes == PRICING_FAILURES_MAX and len(calls) == 1 + 2 * (PRICING_FAILURES_MAX - 1), out.log
    assert out.pricing_stopped == (f"branch-and-price stopped at node {out.nodes}: the pricing solver failed in "
                                   f"{PRICING_FAILURES_MAX} rounds in a row (solver cbc ended abnormally)")
    assert out.open >= 1 and out.bound <= 9.05 * (1 + 1e-9) and out.ended == "pricing failed"


@pytest.mark.slow  # 14 s at load 2.3; 59 s at load 6 (its 60-s limit then ran out first: now 300 s, the stop ends it)
@linux_only
@requires_solver("cbc")
def test_branch_and_price_stops_when_its_pricing_solver_keeps_failing(monkeypatch):
    """Column generation with CBC on lenet-8x4 until it hands over to branch-and-price; from then
    on every CBC is SIGKILLed as it starts. The search ends after PRICING_FAILURES_MAX failed
    pricing rounds (before: it went on, node after node, to its deadline), the run keeps its
    incumbent and a valid bound, and ``extra["pricing_stopped"]`` says why."""
    from optdist.milp.decomposition.colgen import column_generation

    killed: list[int] = []
    done = threading.Event()
    watchers: list[threading.Thread] = []
    search = branch.branch_and_price

    def killing_from_here(*args, **kwargs):  # the real search, every CBC of it killed
        watchers.append(kill_solver_once_it_runs("cbc", killed, after=0.0, every=done))
        return search(*args, **kwargs)

    monkeypatch.setattr(branch, "branch_and_price", killing_from_here)
    inst = optdist.load_instance(COUPLED)
    try:
        res = column_generation(inst, solver="cbc", time_limit=300, threads=1, seed=0)
    finally:
        done.set()
    for w in watchers:
        w.join(5)
    assert watchers, "column generation never handed over to branch-and-price"
    assert killed, "cbc never ran in the search"
    log = res.extra["branching"]
    stopped = res.extra.get("pricing_stopped")
    assert stopped is not None and stopped.startswith(f"branch-and-price stopped at node {log['nodes']}: the pricing "
                                                      f"solver failed in {PRICING_FAILURES_MAX} rounds in a row "
                                                      "(solver cbc ended abnormally: it was killed by signal SIGKILL"), stopped
    assert log["open"] >= 1 and log["log"][-1]["closed"] == "open (pricing failed)", log["log"]
    assert res.assignment is not None and optdist.evaluate(inst, res.assignment).feasible
    assert res.bound is not None and res.bound <= res.objective * (1 + REL)
    assert log["bound"] <= res.objective * (1 + REL)


@pytest.fixture
def micro_result(tmp_path, capsys) -> dict:
    """``optdist solve MICRO --out`` (the decomposition proves its optimum): the result document."""
    out = tmp_path / "r.json"
    assert main(["solve", MICRO, "--out", str(out), "-q"]) == 0
    capsys.readouterr()
    return json.loads(out.read_text())


@pytest.mark.parametrize("formulation", ["decomposed", "auto"])
def test_the_decomposition_says_an_infeasible_warm_start_was_not_used(formulation, micro_result, tmp_path, capsys):
    asg = micro_result["assignment"]
    asg["requests"]["r1"]["layers"]["conv2"] = [["rpi3-1", 2]]  # 1,296 of rpi3-1's 900 multiplications
    bad, out_file = tmp_path / "bad.json", tmp_path / "out.json"
    bad.write_text(json.dumps(asg))
    assert main(["solve", MICRO, "--warm-start", str(bad), "--formulation", formulation, "--out", str(out_file)]) == 0
    out = capsys.readouterr().out
    assert "formulation decomposed" in out, out  # auto picks the decomposition here
    assert ("warm start   assignment (not used: it breaks 1 constraint(s), e.g. rpi3-1 uses 1296 of compute, "
            "capacity 900 (144.0%); the decomposition starts only from a feasible placement)") in out, out
    doc = json.loads(out_file.read_text())
    assert doc["options"]["warm_start"] is False and doc["termination"] == "optimal"


def test_the_decomposition_still_reports_a_feasible_warm_start_as_used(micro_result, tmp_path, capsys):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(micro_result["assignment"]))
    out_file = tmp_path / "out.json"
    assert main(["solve", MICRO, "--warm-start", str(good), "--formulation", "decomposed", "--out", str(out_file)]) == 0
    out = capsys.readouterr().out
    assert "warm start   assignment\n" in out, out
    assert json.loads(out_file.read_text())["options"]["warm_start"] is True


@linux_only
@requires_solver("cbc")
def test_a_solver_killed_while_the_warm_start_is_kept_is_warned_on_stderr(capsys, tmp_path):
    from tests.test_solver_death import INSTANCE, _solve_killing_cbc

    rc, out, err, doc = _solve_killing_cbc(capsys, tmp_path, [INSTANCE, "--formulation", "per-map", "--warm-start",
                                                               "greedy", "--time-limit", "60"])
    assert rc == 0 and doc["termination"] == "error" and doc["assignment"] is not None, err
    assert "WARNING      solver cbc ended abnormally: it was killed by signal SIGKILL" in out, out  # kept
    assert ("warning: solver cbc ended abnormally: it was killed by signal SIGKILL (exit status -9)" in err
            and "; kept the warm start: the solver failed before it returned an incumbent; no bound" in err), err


def test_a_warm_start_made_for_another_instance_is_used_with_a_warning(micro_result, tmp_path, capsys):
    """micro-2x3-serial has micro-2x3-tight's request and node ids: the file is read and used."""
    placed = tmp_path / "placed.json"
    placed.write_text(json.dumps(micro_result["assignment"]))
    assert json.loads(placed.read_text())["instance"] == "micro-2x3-tight"
    assert main(["solve", SERIAL, "--warm-start", str(placed), "--formulation", "tight"]) == 0
    out, err = capsys.readouterr()
    assert "warm start   assignment\n" in out, out
    made, ours = (optdist.load_instance(path).content_digest()[:12] for path in (MICRO, SERIAL))
    assert (f"warning: {placed}: field \"instance\": made for instance \"micro-2x3-tight\", not \"micro-2x3-serial\" "
            f"(content digest {made}, this one's {ours}); its request and node ids match, so it is used as the --warm-start of micro-2x3-serial (fix: check you "
            "gave the right file; if it is meant for \"micro-2x3-serial\", set its \"instance\" to "
            f"\"micro-2x3-serial\" and its \"instance_digest\" to \"{optdist.load_instance(SERIAL).content_digest()}\")"
            ) in err, err
    assert main(["solve", MICRO, "--warm-start", str(placed), "--formulation", "tight"]) == 0
    assert 'field "instance"' not in capsys.readouterr().err  # its own instance: no warning
