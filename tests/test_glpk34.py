"""glpk34: break34a's false optima and bounds with GLPK, and the plan-guided crash with admission control.

The instances are break34a's repro files (tests/data/glpk34/), each solved in well under a second.
"""

from __future__ import annotations

import shutil

import pytest

from optdist.result import Termination
from optdist.solve import solve
from tests.conftest import ROOT

DATA = ROOT / "tests" / "data" / "glpk34"


def need_glpk() -> None:
    if shutil.which("glpsol") is None:
        pytest.skip("glpsol not installed (apt-get install glpk-utils)")


# --- 1. decomposition + GLPK: a refuted infeasibility in the cutoff rounds ------------------------------------------


@pytest.mark.parametrize("path, optimum", [
    ("decomp/fz102.json", 0.182728),  # brute force, HiGHS/CBC/SCIP
    ("decomp2/fz1056.json", 0.30272),
    ("decomp3/fz1176.json", 0.0432197457),  # makespan
])
def test_decomposed_glpk_never_claims_a_false_optimum_nor_a_bound_above_the_optimum(path, optimum):
    """Before: ``optimal`` at 0.184508583 / 0.8016 / 0.0432339285 with the bound equal (GLPK calls the
    cutoff model the greedy placement lies in infeasible); now GLPK's infeasibility on a cutoff model
    raises no bound (its claims are checked), the bound is at most the optimum, and ``optimal`` only
    at the optimum."""
    need_glpk()
    res = solve(DATA / path, solver="glpk", time_limit=60)
    assert res.bound is None or res.bound <= optimum * (1 + 1e-7), (res.bound, optimum)  # none: a capped claim (cap44)
    assert res.objective is not None and res.objective >= optimum * (1 - 1e-7)
    if res.termination is Termination.OPTIMAL:
        assert res.objective == pytest.approx(optimum, rel=1e-7), res.extra


def test_a_refuted_infeasibility_is_recorded_and_leaves_the_run_unproven():
    """fz1176 (makespan): GLPK calls the cutoff model the greedy placement lies in infeasible; the
    claim is recorded as a cap and the run is not ``optimal``, though its placement is the optimum."""
    need_glpk()
    res = solve(DATA / "decomp3" / "fz1176.json", solver="glpk", time_limit=60)
    assert res.termination is not Termination.OPTIMAL, res.extra
    capped = res.extra["bound_capped"]
    assert capped[0]["solver"] == "glpk" and capped[0]["reported"] is None, capped
    assert "alone, latency cutoff" in capped[0]["what"]
    assert "capped at a feasible point's objective" in res.extra["optimality_unproven"]


def test_single_solve_reverts_to_the_stage_bound_and_solves_once_without_a_cutoff():
    """The refuted round says so, the bound falls back to the stage bounds' (earlier claims may be
    false too) and one round without a cutoff follows."""
    need_glpk()
    from optdist.instance import load_instance
    from optdist.milp.decomposition.single import solve_single

    inst = load_instance(DATA / "decomp3" / "fz1176.json")
    record: list[dict] = []
    ss = solve_single(inst, 0, solver="glpk", time_limit=30, bound_log=record)
    refuted = [s for s in ss.steps if str(s.get("result", "")).startswith("refuted")]
    assert len(refuted) == 1, ss.steps
    assert ss.steps[-1]["cutoff"] is None and ss.steps[-1] is not refuted[0]
    assert ss.bound is not None and ss.bound <= 0.0432197457 * (1 + 1e-7)
    assert len(record) == 1 and record[0]["capped_to"] == pytest.approx(0.0432339285)


def test_a_checked_adapters_infeasibility_on_a_cutoff_model_raises_no_bound_on_the_way():
    """fz1056's request alone (optimum 0.15136 s, greedy 0.4008 s), one cutoff at 0.2424 s between
    them: an adapter whose claims are checked (a user's; GLPK) that calls that cutoff model
    infeasible (falsely: the optimum lies in it, no known placement does) raised the bound offered
    to the run's progress (``on_bound``: what a run stopped then reports) to 0.2424 s, above the
    optimum, before a later round could refute it. Now such a claim raises nothing."""
    if shutil.which("cbc") is None:
        pytest.skip("cbc not installed (apt-get install coinor-cbc)")
    from optdist.instance import load_instance
    from optdist.milp.decomposition.single import INF, solve_single
    from optdist.solvers import adapters_for_call
    from optdist.solvers.base import SolverOutcome
    from optdist.solvers.cbc import Cbc

    class CutoffLiar(Cbc):
        name = "cutoff-liar"

        def _solve(self, model, opts, warm_start, tee, raw):
            if not warm_start:
                return SolverOutcome(Termination.INFEASIBLE, "infeasible (false)")
            return super()._solve(model, opts, warm_start, tee, raw)

    inst = load_instance(DATA / "decomp2" / "fz1056.json")
    seen: list[float] = []
    with adapters_for_call({"solver": CutoffLiar}):
        ss = solve_single(inst, 0, solver="cutoff-liar", time_limit=30, on_bound=seen.append, steps=(2.0, INF))
    assert ss.steps[1]["cutoff"] == pytest.approx(0.2424, rel=1e-3), ss.steps
    assert seen and max(seen) <= 0.15136 * (1 + 1e-7), seen
    assert ss.bound is not None and ss.bound <= 0.15136 * (1 + 1e-7)


def test_pricing_refutes_an_infeasibility_claim_its_known_column_disproves():
    """Column generation's pricing rounds, as solve_single's: a solver's ``infeasible`` on the round
    whose MIP start is the known column (a user adapter that says so whenever it is given a start;
    GLPK's false claims are on other models) is recorded, the bound falls back to the stage bound
    (before: the known column "proven" optimal, bound 0.184508583 > the optimum 0.182728). A user
    adapter's claims are checked: it prices without cutoffs, so its one solve is refuted."""
    if shutil.which("cbc") is None:
        pytest.skip("cbc not installed (apt-get install coinor-cbc)")
    import numpy as np

    from optdist.instance import load_instance
    from optdist.milp.decomposition.pricing import PricingModel
    from optdist.milp.decomposition.single import alone, greedy_alone
    from optdist.solvers import adapters_for_call
    from optdist.solvers.base import SolverOutcome
    from optdist.solvers.cbc import Cbc
    from optdist.transfers import RESOURCES

    class StartRefuter(Cbc):
        name = "start-refuter"

        def _solve(self, model, opts, warm_start, tee, raw):
            if warm_start:
                return SolverOutcome(Termination.INFEASIBLE, "infeasible (false)")
            return super()._solve(model, opts, warm_start, tee, raw)

    inst = load_instance(DATA / "decomp" / "fz102.json")
    own = greedy_alone(inst, 0)
    cost, _ = alone(inst, 0, own)
    with adapters_for_call({"solver": StartRefuter}):
        pm = PricingModel(inst, 0, solver="start-refuter")
        zero = {k: np.zeros(inst.n_nodes) for k in RESOURCES}
        pr = pm.solve(zero, time_limit=20, mip_gap=1e-6, threads=None, seed=None, start=own, start_value=cost)
    assert not pr.proven and pr.bound == pytest.approx(pm.stage_bound) and pr.bound <= 0.182728
    # a user adapter's claims are checked: it prices without cutoffs from the start (one solve)
    assert [e["what"] for e in pm.bound_log] == ["pricing of request 0, no cutoff"]
    assert all(e["reported"] is None for e in pm.bound_log)
    assert [s["result"].split(":")[0] for s in pr.log["steps"] if "result" in s] == ["refuted"]

# --- 2. per-map + GLPK with a huge rejection penalty: GLPK's bound checked by a greedy placement ----------------------


def test_glpk_bound_is_checked_like_a_user_adapters_and_highs_is_not():
    from optdist.solvers import get_solver

    assert get_solver("glpk").bound_checked()
    assert not any(get_solver(s).bound_checked() for s in ("highs", "scip", "cbc"))


def test_per_map_glpk_false_optimum_is_refuted_by_a_greedy_placement():
    """Before: ``optimal`` 8.90312624e-05 with the bound equal; the greedy scores 7.90026909e-05 (HiGHS
    proves it optimal)."""
    need_glpk()
    res = solve(DATA / "penalty" / "penalty-max.json", solver="glpk", formulation="per-map", time_limit=30)
    assert res.termination is Termination.FEASIBLE and res.bound is None
    assert res.objective == pytest.approx(7.90026909e-05, rel=1e-8)
    assert res.extra["claimed_bound"] == pytest.approx(8.90312624e-05, rel=1e-8)
    assert "adapter glpk (optdist.solvers.glpk.Glpk) claimed a bound of 8.90312624e-05 s" in res.extra["warning"]
    assert "fix: --solver highs" in res.extra["warning"]


def test_sweep_worker_refutes_glpks_bound_too():
    need_glpk()
    from optdist.bench.spec import Run
    from optdist.bench.worker import execute_in_process

    path = str(DATA / "penalty" / "penalty-max.json")
    run = Run(instance="penalty-max", instance_path=path, method="milp", solver="glpk", formulation="per-map",
              options={"time_limit": 30})
    payload = execute_in_process(run)
    text = str(payload)
    assert "claimed a bound of 8.90312624e-05 s" in text, text[:2000]
    assert "'termination': 'optimal'" not in text


# --- 3. plan-guided / plan-rollout with admission control: the single-request solve places its request -------------


@pytest.mark.parametrize("method", ["plan-guided", "plan-rollout"])
@pytest.mark.parametrize("path, optimum", [("crash/period-min-adm.json", 0.258939612), ("crash/fz133.json", 1263.2)])
def test_plan_methods_with_admission_control_do_not_crash(method, path, optimum):
    """Before: TypeError ('NoneType' object is not iterable) in single._fits: the exact repair's model
    rejected its request, and that rejection became the next round's MIP start."""
    res = solve(DATA / path, method=method, time_limit=10)
    assert res.termination is Termination.FEASIBLE and res.evaluation.feasible
    assert res.objective >= optimum * (1 - 1e-7)


def test_single_solve_places_its_request_under_admission_control():
    """Both requests of period-min-adm fit nowhere (the optimum rejects both): alone, each is
    infeasible placed, not "solved" by its rejection (before: the crash, in the round after)."""
    from optdist.instance import load_instance
    from optdist.milp.decomposition.single import solve_single

    inst = load_instance(DATA / "crash" / "period-min-adm.json")
    assert inst.objective.admission
    ss = solve_single(inst, 0, solver="highs", time_limit=10)
    assert ss.termination is Termination.INFEASIBLE and not ss.has_solution


# --- 4. wording: the serial-uplink fix fits the caller; a finished PPO training's policy.json is recognised ---------


def test_training_on_a_serial_uplink_names_the_instances_uplink_as_the_fix_not_a_method(tmp_path, capsys):
    """Before: "(fix: use --method milp, ...)" from train-rl, which has no --method."""
    from optdist.cli import main

    serial = ROOT / "instances" / "tiny" / "micro-2x3-serial.json"
    assert main(["train-rl", str(serial), "--episodes", "2", "--out", str(tmp_path / "rl")]) == 2
    err = capsys.readouterr().err
    assert "(fix: set objective.uplink to 'parallel': RL trains on the parallel uplink only" in err, err
    assert "use --method milp" not in err and "Traceback" not in err
    with pytest.raises(ValueError, match=r"^the RL environment .*\(fix: set objective.uplink to 'parallel'"):
        import gymnasium as gym

        from optdist.rl import ENV_ID

        gym.make(ENV_ID, instance=serial)
    with pytest.raises(ValueError, match=r"^greedy .*\(fix: use the milp method \(--method milp\), or set "):
        solve(serial, method="greedy")


@pytest.mark.slow  # a MaskablePPO training of 256 env steps: 4-7 s
def test_resume_after_a_finished_ppo_training_says_its_policy_ran_to_its_end(tmp_path, capsys):
    """Before: the hint knew DQN's policy.json only; a finished MaskablePPO training got none."""
    from optdist.cli import main

    out, inst = tmp_path / "ppo", ROOT / "instances" / "tiny" / "lenet-1x4-tau0.6.json"
    assert main(["train-rl", str(inst), "--algo", "maskable-ppo", "--timesteps", "64", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["train-rl", str(inst), "--algo", "maskable-ppo", "--timesteps", "64", "--out", str(out),
                 "--resume"]) == 2
    err = capsys.readouterr().err
    assert "holds no checkpoint to resume (its policy.json is of a MaskablePPO training that ran to its end, " in err
    assert "Traceback" not in err
