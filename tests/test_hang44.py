"""hang44: the decomposition's own HiGHS MIPs (integer masters, the relabelling MIP) start no sub-MIPs.

A HiGHS sub-MIP checks no cancellation and its presolve checks its clock only now and then
(``optdist.solvers.highs.NO_SUB_MIPS``): a per-device integer master given 1.5 s sat 7.7 min in
the presolve of a sub-MIP of a sub-MIP inside an in-process ``column_generation`` call on
``mixed-8x6-nexus-rpi3`` (2026-12-06), past every cancel and a SIGTERM. HiGHS's own log says how
deep its sub-MIPs went (``Max sub-MIP depth``): before, 6 on the market-split MIP below.
"""

from __future__ import annotations

import re

import highspy
import numpy as np
import pytest

from optdist.solvers import highs as highs_adapter
from optdist.solvers.highs import run_stoppable

#: the options run_stoppable sets (named here, not read from optdist, so that the test sees HiGHS's values)
SUB_MIP_OPTIONS = ("mip_heuristic_run_rens", "mip_heuristic_run_rins", "mip_heuristic_run_root_reduced_cost")


def _market_split(n: int = 20, m: int = 3) -> highspy.Highs:
    """A market-split MIP (Cornuejols-Dawande), one thread: small, hard for branch and bound, and
    HiGHS's RENS/RINS start sub-MIPs (six deep) on it at its root within a 2-s limit."""
    rng = np.random.default_rng(0)
    A = rng.integers(0, 100, size=(m, n))
    b = A.sum(1) // 2
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    for _ in range(n):
        h.addVar(0.0, 1.0)
    for _ in range(2 * m):
        h.addVar(0.0, highspy.kHighsInf)
    h.changeColsIntegrality(n, np.arange(n, dtype=np.int32), np.array([highspy.HighsVarType.kInteger] * n))
    h.changeColsCost(2 * m, np.arange(n, n + 2 * m, dtype=np.int32), np.ones(2 * m))
    for i in range(m):
        idx = np.r_[np.arange(n), n + 2 * i, n + 2 * i + 1].astype(np.int32)
        h.addRow(float(b[i]), float(b[i]), len(idx), idx, np.r_[A[i].astype(float), 1.0, -1.0])
    return h


def test_a_raw_highs_mip_runs_without_sub_mips(tmp_path):
    """run_stoppable's HiGHS starts no sub-MIP (its log: ``Max sub-MIP depth 0``; before: 6 here),
    still stops at its own time limit with an incumbent and a bound (RENS/RINS/root reduced cost
    off on the real Highs object)."""
    h = _market_split()
    log = tmp_path / "highs.log"
    h.setOptionValue("time_limit", 2.0)
    h.setOptionValue("log_file", str(log))
    h.setOptionValue("log_to_console", False)
    h.setOptionValue("output_flag", True)
    run_stoppable(h)
    depth = re.findall(r"Max sub-MIP depth\s+(\d+)", log.read_text())
    assert depth == ["0"], depth
    for name in SUB_MIP_OPTIONS:
        assert h.getOptionValue(name) in (False, (highspy.HighsStatus.kOk, False)), name
    info = h.getInfo()
    assert h.getModelStatus() in (highspy.HighsModelStatus.kTimeLimit, highspy.HighsModelStatus.kOptimal)
    assert info.primal_solution_status == 2  # an incumbent (the market split has 0/1 points of finite cost)
    assert info.mip_dual_bound <= info.objective_function_value + 1e-9


def test_a_refused_sub_mip_option_names_the_option_and_the_fix(monkeypatch):
    """A HiGHS that does not know an option of NO_SUB_MIPS (renamed in another version) is an
    error naming that option and the fix, before any solve (before: sub-MIPs were left on)."""
    monkeypatch.setattr(highs_adapter, "NO_SUB_MIPS", {"mip_heuristic_run_renamed": False})
    h = _market_split()
    with pytest.raises(RuntimeError, match=r"refused option 'mip_heuristic_run_renamed' = False.*fix: install "
                                           r"highspy 1\.11 or later"):
        run_stoppable(h)
    assert h.getModelStatus() == highspy.HighsModelStatus.kNotset
