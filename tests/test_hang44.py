"""hang44: the decomposition's own HiGHS MIPs (integer masters, the relabelling MIP) run their sub-MIPs without presolve.

HiGHS 1.16 hears no cancellation in a sub-MIP nor in presolve, and the cover loop of its
presolve's ``strengthenInequalities`` reads no clock (``optdist.solvers.highs.NO_SUB_MIP_PRESOLVE``):
twice a per-device integer master of an in-process ``column_generation`` on
``mixed-8x6-nexus-rpi3`` sat there, in the presolve of a sub-MIP of a sub-MIP (one given 1.5 s, for
7.7 min), through every cancel and a SIGTERM. ``run_stoppable`` now sets ``mip_root_presolve_only``
(HiGHS then solves every sub-MIP with ``presolve`` off) and keeps the sub-MIP heuristics (without
them the 60-s incumbent on ``cifar-6x5`` was worse: ``benchmarks/scale/README.md`` "hang44").
"""

from __future__ import annotations

import re

import highspy
import pytest

from optdist.solvers import highs as highs_adapter
from optdist.solvers.highs import run_stoppable
from tests.helpers import market_split


def _value(h: highspy.Highs, name: str):
    """An option's value (``getOptionValue`` returns ``(status, value)`` in highspy 1.16)."""
    got = h.getOptionValue(name)
    return got[1] if isinstance(got, tuple) else got


def test_a_raw_highs_mip_runs_its_sub_mips_without_presolve(tmp_path):
    """run_stoppable's HiGHS holds ``mip_root_presolve_only`` on (HiGHS then sets ``presolve`` off in
    each sub-MIP; before: off, so each sub-MIP ran presolve), keeps its own presolve and its
    sub-MIP heuristics (its log: sub-MIPs started), and stops at its own time limit with an
    incumbent and a bound."""
    h = market_split(20, 3)
    log = tmp_path / "highs.log"
    h.setOptionValue("time_limit", 2.0)
    h.setOptionValue("log_file", str(log))
    h.setOptionValue("log_to_console", False)
    h.setOptionValue("output_flag", True)
    run_stoppable(h)
    assert _value(h, "mip_root_presolve_only") is True
    assert _value(h, "presolve") == "choose"
    for name in ("mip_heuristic_run_rens", "mip_heuristic_run_rins", "mip_heuristic_run_root_reduced_cost"):
        assert _value(h, name) is True, name
    text = log.read_text()
    assert "Presolving model" in text  # the MIP's own presolve
    depth = re.findall(r"Max sub-MIP depth\s+(\d+)", text)
    assert len(depth) == 1 and int(depth[0]) > 0, depth
    info = h.getInfo()
    assert h.getModelStatus() in (highspy.HighsModelStatus.kTimeLimit, highspy.HighsModelStatus.kOptimal)
    assert info.primal_solution_status == 2
    assert info.mip_dual_bound <= info.objective_function_value + 1e-9


def test_a_refused_sub_mip_option_names_the_option_and_the_fix(monkeypatch):
    """A HiGHS that does not know an option of NO_SUB_MIP_PRESOLVE (renamed in another version) is
    an error naming that option and the fix, before any solve (before: the option did not exist)."""
    monkeypatch.setattr(highs_adapter, "NO_SUB_MIP_PRESOLVE", {"mip_root_presolve_only_renamed": True})
    h = market_split(20, 3)
    with pytest.raises(RuntimeError, match=r"refused option 'mip_root_presolve_only_renamed' = True.*fix: install "
                                           r"highspy 1\.11 or later"):
        run_stoppable(h)
    assert h.getModelStatus() == highspy.HighsModelStatus.kNotset
