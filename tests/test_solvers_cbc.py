"""CBC's raw options: every numeric parameter is range-checked under any spelling CBC reads.

CBC reads any abbreviation of a parameter down to its mandatory part (``sec`` = ``seconds``)
and ignores a bad value with a note in its log, running on with the default. Once only the
exact names ``sec``/``ratio``/``threads``/``randomCbcSeed`` were checked: ``seconds = -1``,
``ratioGap = 5`` or ``maxNodes = 1.5`` ran silently (new-user break test).
"""

from __future__ import annotations

import logging
import re
import subprocess
from pathlib import Path

import pytest

from optdist.instance import load_instance
from optdist.result import Termination
from optdist.solve import solve
from optdist.solvers.cbc import NUMERIC_OPTIONS, Cbc, full_name
from tests.conftest import requires_solver

MICRO = Path(__file__).resolve().parents[1] / "instances" / "tiny" / "micro-1x3-tau0.6.json"


@pytest.mark.parametrize("raw,says", [
    ({"seconds": -1}, r"seconds = -1 is out of range \(cbc's name for time_limit; fix: give a finite number of seconds > 0\)"),
    ({"SEC": 0}, r"SEC = 0 is out of range \(cbc's name for time_limit"),
    ({"ratioGap": 5}, r"ratioGap = 5 is out of range \(cbc's name for mip_gap; fix: give a relative gap in \[0, 1\]"),
    ({"ratio": "abc"}, r"ratio = \"abc\" is not a number \(cbc's name for mip_gap"),
    ({"thread": 0}, r"thread = 0 is out of range \(cbc's name for threads; fix: give an integer in \[1, 256\]\)"),
    ({"randomC": -1}, r"randomC = -1 is out of range \(cbc's name for seed"),
    ({"allowableGap": -1}, r"allowableGap = -1 is out of range \(cbc's numeric parameter allowableGap; fix: give a number >= 0\)"),
    ({"allow": "tiny"}, r"allow = \"tiny\" is not a number \(cbc's numeric parameter allowableGap"),
    ({"randomSeed": -4}, r"randomSeed = -4 is out of range \(cbc's numeric parameter randomSeed; fix: give an integer in \[0, 2147483647\]\)"),
    ({"maxN": 1.5}, r"maxN = 1.5 is not a whole number \(cbc's numeric parameter maxNodes; fix: give an integer in \[-1, 2147483647\]\)"),
    ({"maxSolutions": True}, r"maxSolutions = true is not a whole number"),
    ({"strategy": 3}, r"strategy = 3 is out of range .*fix: give an integer in \[0, 2\]"),
    ({"integerTolerance": 0.6}, r"integerTolerance = 0.6 is out of range .*fix: give a number in \[1e-20, 0.5\]"),
    ({"sec": 5, "seconds": 3}, r"sec and seconds both set cbc's seconds \(fix: give it once\)"),
])
def test_bad_numeric_raw_options_are_refused_under_any_spelling(raw, says):
    """Checked before anything runs, CBC installed or not (the table, not CBC, is asked)."""
    with pytest.raises(ValueError, match=rf"cbc \[solver_options\]: {says}"):
        Cbc(solver_options=raw)
    with pytest.raises(ValueError, match=says):
        Cbc().check_raw_options(raw)


def test_abbreviations_read_as_cbc_reads_them():
    """Case ignored, any prefix down to the mandatory part; shorter, longer or other names stay as given."""
    assert [full_name(k) for k in ("sec", "SECONDS", "secon", "ratio", "allow", "thread", "randomS", "psi")] == [
        "seconds", "seconds", "seconds", "ratioGap", "allowableGap", "threads", "randomSeed", "psi"]
    assert [full_name(k) for k in ("se", "secs", "threa", "maxs", "cuts", "presolve")] == [None] * 6
    good = {"sec": 5, "ratio": 0.1, "allow": 1e-9, "maxN": 10, "cuts": "off", "strat": 2, "cuto": -3.5}
    assert Cbc().check_raw_options(good) == {
        "seconds": 5, "ratioGap": 0.1, "allowableGap": 1e-9, "maxNodes": 10, "cuts": "off", "strategy": 2, "cutoff": -3.5}


def _listed_numeric_parameters() -> set[str]:
    """The double and integer parameters ``cbc -?`` lists, spelled as it lists them."""
    text = subprocess.run(["cbc", "-?", "-quit"], capture_output=True, text=True, check=True, timeout=30).stdout
    found: set[str] = set()
    for section in re.findall(r"(?:double|integer) parameters:\n((?: .*\n)+)", text, re.I):
        found |= set(section.split())
    return found


@requires_solver("cbc")
def test_the_table_is_cbcs_own():
    """Every numeric parameter the installed CBC lists is in the table, with CBC's own range and kind."""
    listed = _listed_numeric_parameters()
    assert len(listed) > 30 and listed <= set(NUMERIC_OPTIONS), sorted(listed - set(NUMERIC_OPTIONS))
    for spec, (kind, low, high) in NUMERIC_OPTIONS.items():
        full = spec.replace("(", "").replace(")", "")
        text = subprocess.run(["cbc", f"-{full}??", "-quit"], capture_output=True, text=True, timeout=30).stdout
        got = re.search(r"Range of values is (\S+) to (\S+);", text)
        assert got, (full, text)
        cbc_low, cbc_high = (float(x) for x in got.groups())
        assert (max(low, -1.79769e308), min(high, 1.79769e308)) == pytest.approx((cbc_low, cbc_high), rel=1e-5), full
        assert ("integer" if kind is int else "double") in subprocess.run(
            ["cbc", f"-{full}", "abc", "-quit"], capture_output=True, text=True, timeout=30).stdout, full


@requires_solver("cbc")
def test_an_abbreviated_time_limit_overrides_the_generic_one_and_is_recorded():
    """``sec`` is CBC's ``seconds``: the result records it under its full name and as the time limit applied."""
    res = solve(load_instance(MICRO), solver="cbc", time_limit=20, solver_options={"sec": 7})
    assert res.options["solver_options"] == {"seconds": 7}
    assert res.options["time_limit"] == 7 and res.options["overridden"] == {"time_limit": 20}


class _Messages(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(record.getMessage())


@requires_solver("cbc")
def test_a_time_limit_stop_with_an_incumbent_loads_it_without_pyomos_aborted_warning(capfd):
    """fixes17: CBC stopping at its time limit with an incumbent is 'aborted' with a solution to
    Pyomo, whose load_from printed "Loading a SolverResults object with an 'aborted' status, but
    containing a solution" over a correctly handled time_limit result. The warm start gives CBC
    its incumbent at once; the compact model's gap stays wide for many seconds (bound 0.0052 vs
    0.00689 after 4 s here), so the run stops at the limit."""
    inst = load_instance(Path(__file__).resolve().parents[1] / "instances" / "paper" / "lenet-10x10-tau0.8.json")
    messages = _Messages()
    core = logging.getLogger("pyomo.core")
    core.addHandler(messages)
    try:
        res = solve(inst, formulation="compact", solver="cbc", time_limit=4, threads=1, warm_start="greedy")
    finally:
        core.removeHandler(messages)
    assert res.termination is Termination.TIME_LIMIT and res.extra["solver_status"] == "aborted/maxTimeLimit"
    assert res.objective is not None and res.evaluation.feasible and res.bound < res.objective
    assert not [m for m in messages.seen if "aborted" in m], messages.seen
    assert "aborted' status" not in capfd.readouterr().err


def test_the_filter_leaves_pyomos_other_messages_and_errors():
    """Only that one message is dropped, and only during the load: a result without a solution
    still raises Pyomo's ValueError, and the filter is gone afterwards."""
    import pyomo.environ as pyo
    from pyomo.opt import SolverResults, SolverStatus

    from optdist.solvers.base import load_results

    m = pyo.ConcreteModel()
    res = SolverResults()
    res.solver.status = SolverStatus.error
    with pytest.raises(ValueError, match="Cannot load a SolverResults object with bad status: error"):
        load_results(m, res)
    assert not logging.getLogger("pyomo.core").filters
