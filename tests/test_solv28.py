"""solv28: a fresh user's defects in the solver adapters' and the command line's words.

1. CBC stopped at a short ``--time-limit`` printed Pyomo's "aborted/intermediateNonInteger" with
   no ``extra['solver_said']``/``['stopped_by']``, and ``extra['cancelled']`` said "at its time
   limit ... (the solver had not returned max(1 s, 5% of the limit) past it)" for a stop at the
   run's deadline, which comes with no grace, at the end of the solve's own (shorter) limit.
3. File flags without a value showed ``e.g. --devices-catalog result.json`` and ``e.g. --forecast
   result.json``: an example of the right kind of file.
4. A generic option under a solver's own name stated two ranges (SCIP's ``limits/time``: "[0,
   1e+20]" for 1e30, "seconds > 0" for -1; glpsol's ``tmlim``: "a finite number of seconds > 0"
   for -5, "whole ... [1, 2147483647]" for 2.5); an unknown name's fix read "did you mean
   mip_rel_gap?; the names"; names and texts echoed in Python's quotes.
"""

from __future__ import annotations

import re
import time

import pytest

from optdist.cli import main
from optdist.solvers import get_solver
from optdist.solvers import base

from .conftest import ROOT, refused, requires_solver

LENET_10X10 = ROOT / "instances" / "paper" / "lenet-10x10-tau0.6.json"


# --- 1. a stop at the run's deadline, in optdist's words and with its real timings ----------------

def test_the_watchdogs_words_say_which_stop_it_makes():
    """At the run's deadline (before the limit's grace): no grace is claimed; past the limit: the grace."""
    with base.run_deadline(time.perf_counter() + 10):
        said = base.watch_words(left=100.0, limit=100.0, stop_lag=0.5)
    assert "run's deadline" in said and "0.5-s stop lag" in said and "no grace" in said, said
    said = base.watch_words(left=2.0, limit=2.0, stop_lag=0.5)
    assert "1 s past its 2.00-s time limit" in said, said
    assert base.watch_words(None, None, 0.5) is None
    note = base.overran_note(time.perf_counter() - 0.25, "at X", time.perf_counter() - 1.0)
    assert re.fullmatch(r"stopped by optdist at X; the stop reached it 0\.7\d s into the solve; it returned "
                        r"0\.2\d s later", note), note


@requires_solver("cbc")
def test_cbc_stopped_at_the_runs_deadline_reads_as_a_time_limit_with_consistent_timings():
    """``optdist solve --solver cbc --time-limit 3``'s case: the deadline, not CBC's grace, ends the
    solve. The status is optdist's ("aborted/time_limit"), Pyomo's kept in ``solver_said``,
    ``stopped_by`` says who stopped it, and a watchdog stop's note adds up to ``wall_time``."""
    from optdist.instance import load_instance
    from optdist.milp import build
    from optdist.solvers.cbc import Cbc

    b = build(load_instance(LENET_10X10), "compact")
    with base.run_deadline(time.perf_counter() + 1.2):
        out = Cbc().solve(b.model, time_limit=600)
    assert "intermediateNonInteger" not in out.status and "maxIterations" not in out.status, out
    if out.termination.value in ("optimal", "feasible") and "stopped_by" not in out.extra:
        pytest.skip(f"cbc ended before the deadline ({out.termination})")
    assert out.status.endswith("/time_limit"), out
    assert "stopped_by" in out.extra, out.extra
    if "solver_said" not in out.extra:  # Pyomo read CBC's own time limit as such
        assert out.extra["stopped_by"] == "cbc's own time limit", out.extra
    note = out.extra.get("cancelled")
    if note is not None:
        assert out.extra["stopped_by"] == "optdist's watchdog (see cancelled)", out.extra
        assert "run's deadline" in note and "max(1 s" not in note, note
        into, back = map(float, re.search(r"reached it ([\d.]+) s into the solve; it returned ([\d.]+) s later",
                                          note).groups())
        limit = float(re.search(r"ends this solve's ([\d.]+)-s limit", note)[1])
        assert into + back <= out.wall_time + 0.02 and limit <= 1.2, (note, out.wall_time)


# --- 3. a file flag's example is a file of its kind -----------------------------------------------

@pytest.mark.parametrize("argv, shown", [
    (["devices", "--devices-catalog"], "--devices-catalog examples/byon/mydevices.json"),
    (["generate", "--devices-catalog"], "--devices-catalog examples/byon/mydevices.json"),
    (["solve", str(LENET_10X10), "--method", "plan-guided", "--forecast"],
     "--forecast instances/paper/lenet-10x10-tau0.6.json"),
])
def test_a_file_flag_without_its_value_shows_a_file_of_its_kind(capsys, argv, shown):
    err = refused(main, capsys, *argv)
    assert f"e.g. {shown})" in err and "result.json" not in err, err
    assert (ROOT / shown.split()[-1]).is_file()


# --- 4. one range and example per option; JSON quotes; no stray ';' --------------------------------

@pytest.mark.parametrize("solver, key, value, problem", [
    ("scip", "limits/time", 1e30, "out of range"),
    ("scip", "limits/time", -1, "out of range"),
    ("scip", "limits/time", "2.5x", "not a number"),
    ("glpk", "tmlim", -5, "out of range"),
    ("glpk", "tmlim", 2.5, "not a whole number"),
    ("glpk", "tmlim", "x", "not a whole number"),
])
def test_a_time_limit_under_a_solvers_name_states_one_range(solver, key, value, problem):
    ranges = {"scip": "a number of seconds in (0, 1e+20], e.g. --solver-option limits/time=60",
              "glpk": "a whole number in [1, 2147483647], e.g. --solver-option tmlim=60"}
    with pytest.raises(ValueError) as e:
        get_solver(solver).check_raw_options({key: value}, "--solver-option")
    said = str(e.value)
    assert f"is {problem} " in said and f"fix: give {ranges[solver]})" in said, said
    if isinstance(value, str):
        assert f'{key} = "{value}"' in said, said  # JSON's quotes, not Python's


def test_a_time_limit_in_range_is_taken():
    assert get_solver("glpk").check_raw_options({"tmlim": 2.0}, "--solver-option") == {"tmlim": 2}
    assert get_solver("scip").check_raw_options({"limits/time": 1e20}, "--solver-option")["limits/time"] == 1e20


@requires_solver("highs")
def test_an_unknown_option_with_a_close_name_reads_as_two_sentences(capsys):
    err = refused(main, capsys, "solve", str(LENET_10X10), "--formulation", "decomposed", "--pricing-solver",
                  "highs", "--pricing-solver-option", "limits/gap=0.1")
    assert 'HiGHS has no option "limits/gap" (fix: did you mean mip_rel_gap? The names: https://' in err, err
    assert "?;" not in err, err


def test_the_fix_of_an_unknown_name_ends_each_part_as_a_sentence():
    assert base.unknown_name_fix("", "URL") == "a name from URL"
    assert base.unknown_name_fix("did you mean x?", "URL") == "did you mean x? The names: URL"
    assert base.unknown_name_fix("did you mean x? optdist's flag for it: --gap 0.1", "URL") == \
        "did you mean x? optdist's flag for it: --gap 0.1. The names: URL"


# --- 2. a class's pricing that moves to SCIP says so ----------------------------------------------

def _moves(monkeypatch, caplog, installed: bool):
    """A column generation whose HiGHS pricing is cut short at a 0.1-s cap (lenet-10x10-tight-tau0.8,
    as tests/test_colgen.py's move to SCIP), with ``installed`` as whether SCIP can run. Any solve
    cut short at the cap stalls (``STALL_GAP`` -1: how far short it stopped varies with the load;
    this test is about the words and the record, not the threshold)."""
    import logging

    import optdist
    from optdist.milp.decomposition import colgen

    monkeypatch.setattr(colgen, "STALL_GAP", -1.0)
    if not installed:  # SCIP is installed here: the run must see it as missing (its own check, _installed)
        monkeypatch.setattr(colgen, "_installed", lambda solver: False)
    inst = optdist.load_instance(ROOT / "instances/paper/lenet-10x10-tight-tau0.8.json")
    with caplog.at_level(logging.INFO, logger="optdist"):
        res = colgen.column_generation(inst, solver="highs", time_limit=8, threads=1, pricing_time_limit=0.1,
                                       max_rounds=2, branching=False)
    solves = [p for r in res.extra["rounds"][1:] for p in r["pricing"]]
    return res, solves, [r.getMessage() for r in caplog.records]


@requires_solver("scip")
def test_a_class_whose_pricing_moves_to_scip_is_logged_and_recorded(monkeypatch, caplog):
    res, solves, lines = _moves(monkeypatch, caplog, installed=True)
    moved = {p["class"] for p in solves if p["solver"] == "scip"}
    if not moved:
        pytest.skip("no class's HiGHS pricing stalled at the cap in this run")
    recorded = res.extra["pricing_moved"]
    assert {m["class"] for m in recorded} == moved, (recorded, moved)
    for m in recorded:
        assert m["to"] == "scip" and re.fullmatch(r"its HiGHS solve stopped at the 0\.1-s cap ([\d.]+ % short|with "
                                                  r"no column|with no bound)", m["why"]), m
        assert f"class {m['request']}'s pricing moves to scip: {m['why']}" in lines, lines  # its id, r1..r10
        stalled = [r["round"] for r in res.extra["rounds"][1:] for p in r["pricing"]
                   if p["class"] == m["class"] and p["solver"] == "highs"]
        assert m["round"] == stalled[-1], (m, stalled)  # the round of its last HiGHS solve, the one cut short
    assert "pricing_stays" not in res.extra


def test_a_class_that_would_move_to_a_missing_scip_says_once_how_to_move_it(monkeypatch, caplog):
    res, solves, lines = _moves(monkeypatch, caplog, installed=False)
    assert {p["solver"] for p in solves} == {"highs"} and "pricing_moved" not in res.extra
    if all(p["closed"] for p in solves):
        pytest.skip("no class's HiGHS pricing stopped at the cap in this run")
    note = res.extra.get("pricing_stays")
    assert note is not None, res.extra  # before: nothing said the class would have moved
    assert re.fullmatch(r"class r\d+'s pricing stays on HiGHS: its HiGHS solve stopped at the 0\.1-s cap .*; SCIP, "
                        r"which prices such classes better, is not installed \(fix: `pip install pyscipopt` would "
                        r"move it\)", note), note
    assert lines.count(note) == 1, lines
