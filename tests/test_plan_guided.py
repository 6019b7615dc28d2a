"""The plan-guided online method (optdist.heuristics.plan_guided): registered, online, feasible."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest

import optdist
from optdist.assignment import Assignment
from optdist.commands.core import load_placement
from optdist.evaluate import evaluate
from optdist.instance import load_instance

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "instances" / "tiny"
COUPLED = ROOT / "instances" / "coupled"


def test_follows_the_plan_of_an_exact_forecast():
    res = optdist.solve(TINY / "micro-2x3-tight.json", method="plan-guided", plan_time_limit=20)
    ev = res.evaluation
    assert ev.feasible and ev.n_rejected == 0
    assert res.extra["followed"] == 2 and res.extra["repaired"] == 0
    assert ev.objective == pytest.approx(res.extra["plan_objective"], rel=1e-9)  # the plan itself
    assert len(res.extra["rejected_ids"]) == 0 and res.extra["decision_ms_max"] >= res.extra["decision_ms_mean"] > 0


def test_requests_beyond_the_forecast_are_repaired_on_the_capacity_left():
    inst = load_instance(TINY / "micro-2x3-tight.json")
    short = inst.with_spec(requests=inst.spec.requests[:1])  # the forecast misses the second request
    res = optdist.solve(inst, method="plan-guided", forecast=short, plan_time_limit=20)
    assert res.extra["followed"] == 1 and res.extra["repaired"] == 1
    assert res.evaluation.feasible and res.evaluation.n_rejected == 0


def test_a_forecast_on_other_nodes_or_classes_is_refused():
    inst = load_instance(TINY / "micro-2x3-tight.json")
    with pytest.raises(ValueError, match="nodes"):  # 5 nodes against 4
        optdist.solve(inst, method="plan-guided", forecast=load_instance(TINY / "lenet-1x4-tau0.6.json"))
    with pytest.raises(ValueError, match="classes"):  # a request on source 2, which inst has none on
        optdist.solve(inst, method="plan-guided", forecast=load_instance(TINY / "micro-2x2-tau0.6.json"))


@pytest.mark.slow
@pytest.mark.parametrize("method", ["plan-guided", "plan-rollout"])
def test_places_every_request_of_a_coupled_set_where_greedy_rejects(method):
    """lenet-8x4-rpi3: the per-request optima overrun bandwidth by 30 %; greedy rejects 2 of 8."""
    inst = load_instance(COUPLED / "lenet-8x4-rpi3.json")
    greedy = optdist.solve(inst, method="greedy")
    res = optdist.solve(inst, method=method, plan_time_limit=30, polish_time_limit=10)
    assert greedy.evaluation.n_rejected > 0
    assert res.evaluation.feasible and res.evaluation.n_rejected == 0
    best = 0.0100013628809  # instances/coupled.solu =best=
    assert res.evaluation.total_latency <= 1.05 * best


def test_cli_solve_prints_the_decision_times(capsys):
    from optdist.cli import main

    assert main(["solve", str(TINY / "micro-2x3-tight.json"), "--method", "plan-guided", "--time-limit", "20",
                 "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "method       plan-guided" in out and "ms per request" in out and "us per segment" in out


def test_improve_keeps_the_plan_feasible_and_never_costs_more():
    inst = load_instance(TINY / "lenet-2x4-tight.json")
    base = optdist.solve(inst, method="plan-guided", plan_time_limit=20)
    better = optdist.solve(inst, method="plan-guided", plan_time_limit=20, improve=True)
    assert better.evaluation.feasible and better.evaluation.n_rejected == 0
    assert better.evaluation.objective <= base.evaluation.objective * (1 + 1e-9)
    assert better.extra["followed"] == 2 and 0 <= better.extra["improved"] <= 2


# ---- plan-rollout: the same plan, a one-step look-ahead per request ------------------------------
def test_rollout_follows_an_exact_forecast_no_worse_than_its_plan_and_is_deterministic():
    """With the forecast exact and in order, the base policy's own choice is always a candidate,
    so the rollout's placement costs at most the plan it started from (module docstring)."""
    inst = load_instance(TINY / "lenet-2x4-tight.json")
    runs = [optdist.solve(inst, method="plan-rollout", plan_time_limit=20, seed=0) for _ in range(2)]
    for res in runs:
        ev = res.evaluation  # re-scored by the evaluator (optdist.solve)
        assert ev.feasible and ev.n_rejected == 0 and res.extra["rejected"] == 0
        assert res.extra["plan_found_by"] == "exact engine"
        assert ev.objective <= res.extra["plan_objective"] * (1 + 1e-9)
        assert sum(res.extra["chosen"].values()) == inst.n_requests and res.extra["rollouts"] >= inst.n_requests
        assert res.extra["decision_ms_max"] >= res.extra["decision_ms_mean"] > 0
    a, b = (r.assignment.owners for r in runs)
    assert all((x == y).all() for ra, rb in zip(a, b) for x, y in zip(ra, rb))


def test_rollout_places_requests_beyond_the_forecast_and_keeps_every_capacity():
    inst = load_instance(TINY / "micro-2x3-tight.json")
    short = inst.with_spec(requests=inst.spec.requests[:1])  # the second request is not forecast
    res = optdist.solve(inst, method="plan-rollout", forecast=short, plan_time_limit=20, seed=0)
    assert res.evaluation.feasible and res.evaluation.n_rejected == 0
    assert res.extra["chosen"].get("plan") == 1 and sum(res.extra["chosen"].values()) == 2
    exact = optdist.solve(inst, threads=1).evaluator_objective  # the optimum: no online method beats it
    assert res.evaluator_objective >= exact * (1 - 1e-9)


def test_rollout_refuses_a_forecast_on_other_nodes():
    inst = load_instance(TINY / "micro-2x3-tight.json")
    with pytest.raises(ValueError, match="plan-rollout|nodes"):
        optdist.solve(inst, method="plan-rollout", forecast=load_instance(TINY / "lenet-1x4-tau0.6.json"))


def test_a_plan_the_exact_engine_misses_comes_from_shares_of_the_devices(monkeypatch):
    """Where the exact engine returns no placement of the forecast, the plan is the placement by
    shares of the devices, improved (and followed: nothing is rejected)."""
    import sys

    from optdist.result import SolveResult, Termination

    solve_mod = sys.modules["optdist.solve"]  # the module (``optdist.solve`` is also the function)

    inst = load_instance(TINY / "lenet-2x4-tight.json")
    real = solve_mod.method_function

    def engine_finds_nothing(method):
        if method != "milp":
            return real(method)
        return lambda i, **_: SolveResult(instance=i.name, method="milp", termination=Termination.NO_SOLUTION,
                                          objective=None, wall_time=0.0, assignment=None)

    monkeypatch.setattr(solve_mod, "method_function", engine_finds_nothing)
    for method in ("plan-guided", "plan-rollout"):
        res = optdist.solve(inst, method=method, plan_time_limit=10, seed=0)
        assert res.extra["plan_found_by"] == "shares of the devices, improved"
        assert res.evaluation.feasible and res.evaluation.n_rejected == 0
        assert res.evaluation.objective <= res.extra["plan_objective"] * (1 + 1e-9)


def test_an_over_forecast_plans_the_prefix_that_fits_and_places_every_request():
    """Three times the requests forecast: no placement of the forecast exists; the plan is the one
    that places more forecast requests of the placement by shares of a longest prefix that fits
    (here the two real requests), improved, and the exact engine's with admission control; so
    neither method rejects and both reach the optimum of lenet-2x4-tight."""
    inst = load_instance(TINY / "lenet-2x4-tight.json")
    reqs = inst.spec.requests
    fc = inst.with_spec(name="over", requests=[*reqs, *(q.model_copy(update={"id": f"{q.id}-{k}"})
                                                        for k in (2, 3) for q in reqs)])
    best = optdist.solve(inst, threads=1).evaluator_objective
    for method in ("plan-guided", "plan-rollout"):
        res = optdist.solve(inst, method=method, forecast=fc, plan_time_limit=10, seed=0)
        assert res.extra["plan_found_by"] in ("shares of the devices, improved (2 of 6 forecast)",
                                              "exact engine, admission control")
        assert res.evaluation.feasible and res.evaluation.n_rejected == 0
        assert res.evaluator_objective == pytest.approx(best, rel=1e-6)


@pytest.mark.parametrize("method", ["plan-guided", "plan-rollout"])
@pytest.mark.parametrize("option, value", [("repair_time_limit", 0), ("repair_time_limit", -5.0),
                                           ("repair_time_limit", math.nan), ("plan_time_limit", -1.0),
                                           ("plan_time_limit", "abc")])
def test_bad_limits_are_refused_by_name(method: str, option: str, value) -> None:
    """repair_time_limit = 0 or -5 was accepted (the exact solves then got no time, silently),
    and a bad plan_time_limit was reported as 'time_limit'."""
    said = "not a number" if isinstance(value, str) else "out of range"  # a type, or a number outside the range
    with pytest.raises(ValueError, match=rf"{method}: {option} = .* {said} \(fix: give a finite number"):
        optdist.solve(TINY / "micro-2x3-tight.json", method=method, **{option: value})


@pytest.mark.parametrize("method, options", [("plan-rollout", {}), ("plan-guided", {"improve": True})])
def test_a_signal_stops_the_whole_online_run(method: str, options: dict, sigterm_during) -> None:
    """SIGTERM (or Ctrl-C) during one exact single-request solve stopped only that solve and the
    run went on with the next ones to the end, 'feasible' (lenet-20x10-rpi3: 28 s after the
    signal, exit 0). Now it is 'interrupted' (CLI exit 143; 130 for Ctrl-C) and no further exact solve starts
    (the signal lands in the first one's model build, which stops at once: no solver call at all, or
    only calls that return 'not started')."""
    import optdist.heuristics.plan_guided as pg

    res, calls, outcomes = sigterm_during(pg, "_exact_alone", lambda: optdist.solve(
        TINY / "micro-2x3-tight.json", method=method, plan_time_limit=20, seed=0, **options))
    assert res.termination == "interrupted" and res.extra["interrupted"] == "SIGTERM"
    assert calls and all(s.startswith("not started") for s in outcomes), outcomes
    assert res.evaluation is not None and len(res.assignment.owners) == 2  # every request placed or rejected


@pytest.mark.parametrize("method", ["plan-guided", "plan-rollout"])
@pytest.mark.parametrize("name, field", [("micro-2x3-makespan", "objective.kind"), ("micro-2x3-serial", "objective.uplink")])
def test_an_objective_it_cannot_place_names_the_field_and_the_fix(method: str, name: str, field: str) -> None:
    with pytest.raises(ValueError, match=rf"{name}.*\(fix: use the milp method \(--method milp\), or set {field} to "):
        optdist.solve(TINY / f"{name}.json", method=method)


# ---- plan_start: the exact engine's plan starts from a given placement of the forecast ----------
@pytest.mark.parametrize("method", ["plan-guided", "plan-rollout"])
def test_the_plan_starts_from_the_given_placement(method: str, monkeypatch, tmp_path) -> None:
    """The start reaches the exact engine as its warm start (a spy around the real solve), the
    plan costs at most the start, and a file is read as the forecast's placement."""
    import importlib

    solve_mod = importlib.import_module("optdist.solve")  # the module (``optdist.solve`` is also the function)

    inst = load_instance(TINY / "lenet-2x4-tight.json")
    start = optdist.solve(inst, method="greedy")
    assert start.evaluation.feasible
    real, seen = solve_mod.solve, []

    def spy(instance, method="milp", **options):
        if method == "milp":
            seen.append(options.get("warm_start"))
        return real(instance, method, **options)

    monkeypatch.setattr(solve_mod, "solve", spy)
    path = tmp_path / "start.json"
    start.assignment.save(inst, path)
    for given, said in ((start.assignment, "given"), (path, str(path))):
        seen.clear()
        res = real(inst, method=method, plan_time_limit=20, plan_start=given, seed=0)
        assert len(seen) == 1 and seen[0] is not None
        assert seen[0].to_json(inst)["requests"] == start.assignment.to_json(inst)["requests"]
        assert res.extra["plan_start"] == said
        assert res.extra["plan_engine_objective"] <= start.evaluation.objective * (1 + 1e-9)
        assert res.evaluation.feasible and res.evaluation.n_rejected == 0


def test_a_plan_start_that_is_not_a_placement_of_the_forecast_is_refused(tmp_path) -> None:
    inst = load_instance(TINY / "lenet-2x4-tight.json")
    with pytest.raises(ValueError, match=r"plan-guided: plan_start .*none\.json.*\(fix: give a placement of forecast"):
        optdist.solve(inst, method="plan-guided", plan_start=tmp_path / "none.json")
    one = optdist.solve(load_instance(TINY / "lenet-1x4-tau0.6.json"), method="greedy").assignment
    with pytest.raises(ValueError, match=r"plan-rollout: plan_start places 1 requests, forecast .* has 2 \(fix: "):
        optdist.solve(inst, method="plan-rollout", plan_start=one)


@pytest.mark.slow
def test_a_rollout_from_the_best_known_plan_of_mixed_8x6_is_no_worse_than_it() -> None:
    """mixed-8x6-nexus-rpi3: with the best known placement (benchmarks/scale/coupled/best) as the
    plan's start, plan-rollout places every request at most at that placement's latency."""
    inst = load_instance(COUPLED / "mixed-8x6-nexus-rpi3.json")
    best = ROOT / "benchmarks" / "scale" / "coupled" / "best" / "mixed-8x6-nexus-rpi3.json"
    res = optdist.solve(inst, method="plan-rollout", plan_time_limit=10, polish_time_limit=5, plan_start=best, seed=0)
    assert res.evaluation.feasible and res.evaluation.n_rejected == 0
    start = evaluate(inst, load_placement(inst, best)).objective  # instances/coupled.solu =best=
    assert res.extra["plan_engine_objective"] <= start * (1 + 1e-9)
    assert res.evaluation.total_latency <= res.extra["plan_objective"] * (1 + 1e-9)


@pytest.mark.parametrize("given", [5, {"requests": {}}, ["r0.json"]], ids=["int", "dict", "list"])
def test_a_plan_start_of_another_type_names_the_option_and_the_fix(given) -> None:
    """Neither an Assignment nor a path: a ValueError naming plan_start (was a bare TypeError of Path())."""
    with pytest.raises(ValueError, match=r"plan-guided: plan_start .*an Assignment or the path of .*\(fix: "):
        optdist.solve(TINY / "lenet-2x4-tight.json", method="plan-guided", plan_start=given)


def test_a_given_plan_start_that_does_not_fit_the_forecast_names_the_option() -> None:
    """An Assignment with a node index out of range / a layer missing: refused naming plan_start
    before the engine runs (the evaluator's bare error named neither the option nor the fix)."""
    inst = load_instance(TINY / "lenet-2x4-tight.json")
    owners = optdist.solve(inst, method="greedy").assignment.owners
    far = [[np.array(a) for a in o] for o in owners]
    far[0][0] = np.full_like(far[0][0], 99)
    short = [[np.array(a) for a in o] for o in owners]
    short[1] = short[1][:-1]
    for bad in (Assignment(far), Assignment(short)):
        with pytest.raises(ValueError, match=r"plan-rollout: plan_start \(given\): .*\(fix: give a placement of forecast"):
            optdist.solve(inst, method="plan-rollout", plan_start=bad)


# ---- a plan cut short: never fewer requests placed than the greedy, the construction given its time ----
@pytest.mark.parametrize("method", ["plan-guided", "plan-rollout"])
def test_a_plan_cut_short_still_places_every_request(method: str) -> None:
    """mixed-8x6-nexus-rpi3 with a 0.01-s plan: the exact engine, the placement by shares and the
    admission-control plan all find nothing in time. The plan was then empty ('none'), every
    request was repaired alone online and one was rejected (greedy: 2); now the shares run again
    for repair_time_limit s (0.24 s needed at load 0) and every request is placed."""
    inst = load_instance(COUPLED / "mixed-8x6-nexus-rpi3.json")
    res = optdist.solve(inst, method=method, plan_time_limit=0.01, polish_time_limit=0, seed=0)
    assert res.extra["plan_found_by"] == "shares of the devices, after the plan's time"
    assert res.evaluation.feasible and res.evaluation.n_rejected == 0


@pytest.mark.parametrize("method", ["plan-guided", "plan-rollout"])
def test_a_plan_cut_short_places_at_least_what_the_greedy_places(method: str, monkeypatch) -> None:
    """mixed-8x6-nexus-rpi3 with a 0.01-s plan and no placement by shares at all (the construction
    finds nothing): the plan was empty ('none'); now it is the better of the greedy's placement of
    the forecast and step 3's repairs made in turn before the first request (whichever places
    more), so nothing is rejected that the greedy places, and the placement keeps every capacity."""
    import optdist.heuristics.plan_guided as pg

    monkeypatch.setattr(pg, "placement_by_construction", lambda inst, *, deadline: None)
    inst = load_instance(COUPLED / "mixed-8x6-nexus-rpi3.json")
    greedy = optdist.solve(inst, method="greedy")
    res = optdist.solve(inst, method=method, plan_time_limit=0.01, repair_time_limit=1.0, seed=0)
    assert res.extra["plan_found_by"].startswith(("the greedy (", "repairs in turn ("))
    assert res.evaluation.n_rejected <= greedy.evaluation.n_rejected
    assert not [v for v in res.evaluation.violations if v.constraint != "admission"]  # only the rejections


def test_the_fallback_gives_the_placement_by_shares_the_time_the_engine_left(monkeypatch) -> None:
    """Where the exact engine finds nothing, the placement by shares got a quarter of the plan's
    time and improvement the rest, so a construction that needed more than that quarter gave no
    plan at all (mixed-8x6-nexus-rpi3 at --time-limit 1 under load: a request rejected that the
    shares, found in 0.24 s at load 0, place). Here a construction that finds nothing in less
    than half the plan's time: it still gives the plan, and nothing is rejected."""
    import sys

    import optdist.heuristics.plan_guided as pg
    from optdist.result import SolveResult, Termination

    solve_mod = sys.modules["optdist.solve"]
    real_method, real_construct = solve_mod.method_function, pg.placement_by_construction
    limit = 2.0

    def engine_finds_nothing(method):
        if method != "milp":
            return real_method(method)
        return lambda i, **_: SolveResult(instance=i.name, method="milp", termination=Termination.NO_SOLUTION,
                                          objective=None, wall_time=0.0, assignment=None)

    def slow_construction(inst, *, deadline):
        return real_construct(inst, deadline=deadline) if deadline - time.perf_counter() >= limit / 2 else None

    monkeypatch.setattr(solve_mod, "method_function", engine_finds_nothing)
    monkeypatch.setattr(pg, "placement_by_construction", slow_construction)
    res = optdist.solve(COUPLED / "mixed-8x6-nexus-rpi3.json", method="plan-guided", plan_time_limit=limit,
                        polish_time_limit=0, seed=0)
    assert res.extra["plan_found_by"] == "shares of the devices, improved"
    assert res.evaluation.feasible and res.evaluation.n_rejected == 0
