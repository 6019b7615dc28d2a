"""solv33: a user adapter's answer is checked (a greedy placement refutes a false bound), its
exceptions and wrong return types are a failed solver call, its overrun of the time limit is
warned; a profile may not take another adapter's name; conformance by feature, not name; HiGHS
raw threads range-checked; profile messages."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

import optdist
from optdist.result import Termination
from optdist.solvers import register, unregister
from optdist.solvers.base import Solver, SolverOutcome
from optdist.solvers.highs import Highs

from .conftest import requires_solver
from .helpers import mixed_instance

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "instances" / "tiny" / "lenet-1x4-tau0.8.json"
OPTIMUM = 0.0010392827  # lenet-1x4-tau0.8, proven by HiGHS at gap 0


class FirstFeasibleOptimal(Highs):
    """Stops at its first incumbent (gap 1) but claims it optimal, bound = incumbent."""

    name = "ffo"

    def _solve(self, model, opts, warm_start, tee, raw):
        out = super()._solve(model, {**opts, "mip_gap": 1.0}, warm_start, tee, raw)
        out.termination = Termination.OPTIMAL
        out.bound = out.incumbent
        return out


class HonestHighs(Highs):
    name = "honest"


class _Base(Solver):
    pyomo_name = "none"
    install_hint = "none"

    @classmethod
    def _check_available(cls) -> bool:
        return True


class Raiser(_Base):
    name = "raiser"

    def _solve(self, model, opts, warm_start, tee, raw):
        raise RuntimeError("boom")


class BadRet(_Base):
    name = "badret"

    def _solve(self, model, opts, warm_start, tee, raw):
        return {"termination": "optimal"}


class Slow(_Base):
    name = "slow"

    def _solve(self, model, opts, warm_start, tee, raw):
        time.sleep(3.2)
        return SolverOutcome(Termination.TIME_LIMIT, "slept")


def test_a_user_adapters_false_optimal_is_refuted_by_a_greedy_placement():
    res = optdist.solve(optdist.load_instance(TINY), solver=FirstFeasibleOptimal, formulation="tight")
    assert res.termination is Termination.FEASIBLE
    assert res.bound is None
    assert res.objective == pytest.approx(OPTIMUM, rel=1e-6)  # the greedy's, better than the adapter's
    assert res.extra["claimed_bound"] > res.objective * 1.2
    assert "adapter ffo" in res.extra["warning"] and f"{res.extra['claimed_bound']:.9g}" in res.extra["warning"]
    res = optdist.solve(optdist.load_instance(TINY), solver=HonestHighs, formulation="tight")  # a true bound stands
    assert res.termination is Termination.OPTIMAL
    assert res.bound == pytest.approx(OPTIMUM, rel=1e-6)
    assert "warning" not in res.extra


@pytest.mark.parametrize("cls, said", [(Raiser, "raised RuntimeError: boom"),
                                       (BadRet, "returned dict, not SolverOutcome")])
def test_a_user_adapter_that_raises_or_returns_no_outcome_is_a_failed_call(cls, said):
    res = optdist.solve(optdist.load_instance(TINY), solver=cls, formulation="tight")
    assert res.termination is Termination.ERROR
    assert f"adapter {cls.name} ({__name__}.{cls.__qualname__}) {said}" in res.extra["solver_error"]
    assert "(fix: " in res.extra["solver_error"]


def test_the_cli_reports_a_raising_user_adapter_as_a_failed_solver(capsys):
    from optdist.cli import main

    register("raiser", Raiser)
    try:
        rc = main(["solve", str(TINY), "--solver", "raiser", "--formulation", "tight"])
    finally:
        unregister("raiser")
    err = capsys.readouterr().err
    assert rc == 1 and "bug in optdist" not in err
    assert "adapter raiser" in err and "raised RuntimeError: boom" in err


def test_a_user_adapter_past_its_time_limit_is_warned():
    # a 1-s limit, not 0.3 s: at 0.3 s the tight model's build ran out of time on the two busy cores of a final
    # check (no adapter call); it sleeps 3.2 s, past the time left plus OVERRUN_GRACE_S (1 s)
    res = optdist.solve(optdist.load_instance(TINY), solver=Slow, formulation="tight", time_limit=1.0)
    assert "adapter slow" in res.extra.get("warning", ""), res.extra
    assert re.search(r"ran ([3-9]\.\d|\d\d+\.\d) s with a", res.extra["warning"])  # slept 3.2 s (more on a busy machine)
    assert "opts['time_limit']" in res.extra["warning"]


def test_a_profile_may_not_take_another_adapters_name(tmp_path):
    from optdist.solvers.profiles import profiles

    (tmp_path / "highs.toml").write_text('name = "highs"\nsolver = "cbc"\n')
    with pytest.raises(ValueError, match=r"highs\.toml: profile name \"highs\" is the name of the adapter highs.*"
                                         r"fix: choose another name"):
        profiles(tmp_path)
    (tmp_path / "highs.toml").write_text('name = "highs"\nsolver = "highs"\n')  # its own defaults: fine
    assert profiles(tmp_path)["highs"].solver == "highs"


class LogHighs2(Highs):
    name = "loghighs"


def test_the_conformance_suite_takes_a_registered_highs_subclass_as_persistent():
    from tests.test_solver_conformance import test_a_kept_model_re_solves_as_a_fresh_load

    register("loghighs", LogHighs2)
    try:
        test_a_kept_model_re_solves_as_a_fresh_load("loghighs")
    finally:
        unregister("loghighs")


def test_highs_raw_threads_0_is_refused_in_a_profile_too(tmp_path):
    from optdist.solvers import get_solver

    prof = tmp_path / "p17.toml"
    prof.write_text('name = "p17"\nsolver = "highs"\n[solver_options]\nthreads = 0\n')
    with pytest.raises(ValueError, match=r"p17\.toml: .*threads = 0 is out of range \(highs's name for threads; "
                                         r"fix: give an integer in \[1, 256\]"):
        get_solver(str(prof))


def test_a_typo_under_a_profiles_options_says_the_close_option_and_the_fix(tmp_path):
    from optdist.solvers import get_solver

    prof = tmp_path / "p3.toml"
    prof.write_text('name = "p3"\nsolver = "highs"\n[options]\nthread = 1\n')
    with pytest.raises(ValueError, match=r"p3\.toml: .*unknown option \"thread\" \(fix: did you mean threads\? "
                                         r"the generic options are"):
        get_solver(str(prof))


@requires_solver("cbc")
@requires_solver("glpk")
def test_a_shell_solver_failure_on_a_profiles_raw_option_names_the_profile(tmp_path):
    from optdist.solvers import get_solver

    prof = tmp_path / "p8.toml"  # no basis file: glpsol fails reading it (model, since left41, is refused up front)
    prof.write_text(f'name = "p8"\nsolver = "glpk"\n[solver_options]\nini = "{TINY}"\nnointopt = ""\n')
    with pytest.raises(ValueError, match=rf'glpk failed with the raw solver options ini = "{TINY}", nointopt = "" .*'
                                         rf"ini, nointopt from the \[solver_options\] of solver profile p8 \({prof}\); fix:"):
        optdist.solve(TINY, solver=str(prof), formulation="tight")
    assert get_solver(str(prof)).profile.name == "p8"
    prof = tmp_path / "p7.toml"
    prof.write_text('name = "p7"\nsolver = "cbc"\n[solver_options]\npresolve = "bogus"\n')
    with pytest.raises(ValueError, match=rf'{prof}: cbc \[solver_options\]: CBC does not take presolve = "bogus"'):
        optdist.solve(TINY, solver=str(prof), formulation="tight")
    prof.write_text('name = "p7"\nsolver = "cbc"\n[solver_options]\nfoobar = 3\n')
    with pytest.raises(ValueError, match=rf'{prof}: cbc \[solver_options\]: CBC has no option "foobar"'):
        optdist.solve(TINY, solver=str(prof), formulation="tight")


def test_a_missing_profile_folder_is_said_to_be_missing(tmp_path):
    import os
    import subprocess
    import sys

    missing = tmp_path / "nonexist"
    env = {**os.environ, "OPTDIST_SOLVERS": str(missing), "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-m", "optdist", "solve", str(TINY), "--solver", "foo"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert (f"profiles in {missing} (OPTDIST_SOLVERS's folder, which does not exist, so no profile is read, the "
            "bundled ones in the package's solvers/ included: create it, or unset OPTDIST_SOLVERS): none") in run.stderr


@requires_solver("cbc")
def test_an_optimal_closed_by_the_absolute_tolerance_says_so(tmp_path, capsys):
    """Admission with a 1e-12 penalty: CBC closes objective 3e-12 s, bound 2.5e-12 s (gap 0.05 % by
    the gap's floor) by its absolute tolerance, not the requested 1e-4."""
    import json

    from optdist.cli import main

    doc = mixed_instance("penalty_tiny", objective={"admission": True, "rejection_penalty": 1e-12})
    path = tmp_path / "penalty_tiny.json"
    path.write_text(json.dumps(doc))
    assert main(["solve", str(path), "--solver", "cbc"]) == 0
    out = capsys.readouterr().out
    assert "termination  optimal (within the absolute gap tolerance 1e-11 s)" in out
    assert "within gap 0.0001" not in out
