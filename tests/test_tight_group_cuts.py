"""The group-count cuts and the class-load cuts of the tight model
(``optdist.milp.tight.group_count_cuts``, ``class_load_cuts``, pricing options): valid at every
placement within the model's bounds (chains by random assignments, DAGs by every placement), and
raising the LP relaxation of priced CIFAR requests without moving the optimum of a pricing solve."""

from __future__ import annotations

import numpy as np
import pytest

from optdist.assignment import Assignment
from optdist.evaluate import evaluate
from optdist.instance import Instance, load_instance
from optdist.milp import build
from optdist.milp.data import TIME_UNIT
from optdist.milp.model import BuiltModel
from optdist.milp.tight import add_class_load_cuts, add_group_count_cuts, class_load_cuts, group_count_cuts
from optdist.solvers import get_solver
from tests.conftest import ROOT
from tests.test_dag_evaluator import dag_instance, placements
from tests.test_decompose import priced_lp_and_optimum, random_assignment, tiny

RTOL = 1e-7


def _violations(b: BuiltModel, cuts: dict, asg: Assignment) -> list:
    """The rows ``cuts`` (:func:`group_count_cuts` of ``b``) that ``asg`` violates (owners per
    class counted from ``asg``, stage times from the evaluator). Assignments outside the model's
    per-node bounds (``nmax``) are not placements of the model: none reported."""
    d, inst = b.data, b.inst
    N = inst.n_nodes
    for r in d.requests:
        if asg.owners[r] is None:
            continue
        for k, a in enumerate(asg.owners[r]):
            if (np.bincount(a, minlength=N) > d.nmax[r][k]).any():
                return []
    ev = evaluate(inst, asg)
    out = []
    for (r, k), (classes, lines) in cuts.items():
        if asg.owners[r] is None:
            continue
        owners = set(int(i) for i in asg.owners[r][k])
        q = np.array([len(owners & set(cl)) for cl in classes], dtype=float)
        T = ev.stage_time[r][k] / TIME_UNIT
        for alpha, beta in lines:
            rhs = alpha - float(np.dot(beta, q))
            if T < rhs - 1e-9 * max(abs(rhs), 1.0):
                out.append((r, k, T, rhs))
    return out


def _first_request_placed(inst: Instance, seed: int, n: int = 40) -> list[Assignment]:
    """``n`` random assignments of ``inst`` (seeded) keeping request 0's owners only (the others
    rejected): placements of a model built for request 0."""
    rng = np.random.default_rng(seed)
    return [Assignment([random_assignment(inst, rng).owners[0]] + [None] * (inst.n_requests - 1)) for _ in range(n)]


def _load_slacks(b: BuiltModel, rows: list, asg: Assignment) -> list[float] | None:
    """``T - rhs`` (TIME_UNIT) of each row of ``rows`` (:func:`class_load_cuts` of ``b``) at ``asg``
    (owners and segments per class counted from ``asg``, stage times from the evaluator), in their
    order; None for an assignment outside the model's per-node bounds (``nmax``: not a placement
    of the model)."""
    d, inst = b.data, b.inst
    N = inst.n_nodes
    for r in d.requests:
        if asg.owners[r] is not None and any((np.bincount(a, minlength=N) > d.nmax[r][k]).any()
                                             for k, a in enumerate(asg.owners[r])):
            return None
    ev = evaluate(inst, asg)
    out = []
    for r, k, members, alpha, beta_q, beta_n in rows:
        if asg.owners[r] is None:
            continue
        cnt = np.bincount(asg.owners[r][k], minlength=N)[members]
        out.append(ev.stage_time[r][k] / TIME_UNIT - (alpha - beta_q * np.count_nonzero(cnt) - beta_n * cnt.sum()))
    return out


def _load_violations(b: BuiltModel, rows: list, asg: Assignment) -> list[float]:
    """The slacks of :func:`_load_slacks` below ``-1e-9`` relative: the rows ``asg`` violates."""
    slack = _load_slacks(b, rows, asg) or []
    return [x for x, row in zip(slack, rows) if x < -1e-9 * max(abs(row[3]), 1.0)]


@pytest.mark.parametrize("name", ["lenet-1x4-tau0.6", "cifar-1x4-tau0.8", "micro-2x3-tight"])
def test_load_cuts_hold_at_random_assignments(name):
    """Every class-load row holds at 60 random placements (evaluator stage times) of the tiny sets
    with two classes of devices on a layer (9, 52 and 6 rows; lenet-2x4-tight and
    micro-3x2-admission have none, so nothing to check there)."""
    inst = tiny(name)
    b = build(inst, "tight")
    rows = class_load_cuts(b)
    assert rows
    rng = np.random.default_rng(29)
    for _ in range(60):
        assert _load_violations(b, rows, random_assignment(inst, rng)) == []


def test_load_cuts_hold_on_the_coupled_cifar_set():
    """``cifar-6x5-nexus-rpi3`` (2 Nexus + 3 RPi3): every class-load row of request 0's model holds
    at 40 random placements."""
    inst = load_instance(ROOT / "instances/coupled/cifar-6x5-nexus-rpi3.json")
    b = build(inst, "tight", requests=[0])
    rows = class_load_cuts(b)
    assert rows
    for asg in _first_request_placed(inst, seed=7):
        assert _load_violations(b, rows, asg) == []


@pytest.mark.parametrize("cnn", ["res", "cat", "grp", "mrg", "loop"])
def test_load_cuts_hold_at_every_placement_of_a_dag(tmp_path, cnn):
    """The five DAG shapes of MODEL.md section 9 on 3 devices: every placement of one request
    satisfies every class-load row (and the model with them builds)."""
    inst: Instance = dag_instance(tmp_path, cnn, 1, 3)
    b = build(inst, "tight")
    rows = class_load_cuts(b)
    add_class_load_cuts(b)
    assert len(b.model.load_cuts.row) == len(rows)
    for owners in placements(inst, 0):
        assert _load_violations(b, rows, Assignment([owners])) == []


@pytest.mark.parametrize("name", ["lenet-1x4-tau0.6", "lenet-2x4-tight", "cifar-1x4-tau0.8", "micro-2x3-tight",
                                  "micro-3x2-admission"])
def test_group_cuts_hold_at_random_assignments(name):
    """Every group-count row holds at 60 random placements (evaluator stage times), and the
    sets with two classes of devices on a layer (3 + 1 devices) have such rows."""
    inst = tiny(name)
    b = build(inst, "tight")
    cuts = group_count_cuts(b)
    assert cuts or name not in ("lenet-1x4-tau0.6", "cifar-1x4-tau0.8")
    assert all(len(classes) >= 2 for classes, _lines in cuts.values())
    rng = np.random.default_rng(23)
    for _ in range(60):
        assert _violations(b, cuts, random_assignment(inst, rng)) == []


def test_group_cuts_hold_on_the_coupled_cifar_set():
    """``cifar-6x5-nexus-rpi3`` (2 Nexus + 3 RPi3, two classes of devices per layer): every row of
    request 0's model holds at 40 random placements."""
    inst = load_instance(ROOT / "instances/coupled/cifar-6x5-nexus-rpi3.json")
    b = build(inst, "tight", requests=[0])
    cuts = group_count_cuts(b)
    assert any(len(classes) >= 2 for classes, _lines in cuts.values())
    for asg in _first_request_placed(inst, seed=5):
        assert _violations(b, cuts, asg) == []


@pytest.mark.parametrize("cnn", ["res", "cat", "grp", "mrg", "loop"])
def test_group_cuts_hold_at_every_placement_of_a_dag(tmp_path, cnn):
    """A residual block, a concat, a grouped conv and two adds of whole maps (MODEL.md section 9):
    the model has rows (up to 3 classes of devices per layer), and every placement of one
    request on 3 devices satisfies every row."""
    inst: Instance = dag_instance(tmp_path, cnn, 1, 3)
    b = build(inst, "tight")
    cuts = group_count_cuts(b)
    assert cuts
    for owners in placements(inst, 0):
        assert _violations(b, cuts, Assignment([owners])) == []


@pytest.mark.parametrize(("add", "block"), [(add_group_count_cuts, "group_cuts"), (add_class_load_cuts, "load_cuts")])
def test_cuts_keep_the_optimum_of_a_priced_request(add, block):
    """Priced CIFAR request (latency + 0.02 TIME_UNIT per byte sent) on the tiny CIFAR set: the
    group-count rows, or the class-load rows, leave the MILP optimum where it was and the LP
    relaxation no lower."""
    def rows(b: BuiltModel) -> None:
        add(b)
        assert len(b.model.component(block).row) > 0

    inst = tiny("cifar-1x4-tau0.8")
    lp_off, opt_off = priced_lp_and_optimum(inst, lambda b: None)
    lp_on, opt_on = priced_lp_and_optimum(inst, rows)
    assert opt_on == pytest.approx(opt_off, rel=RTOL)
    assert lp_off * (1 - RTOL) <= lp_on <= opt_on * (1 + RTOL)


@pytest.mark.parametrize("block", ["group_cuts", "load_cuts"])
def test_cuts_raise_the_lp_of_the_coupled_cifar_pricing_model(block):
    """One request of ``cifar-6x5-nexus-rpi3`` at the saved prices of a column-generation run
    (``benchmarks/scale/pricing_prices/``, solve 2): the LP relaxation of the pricing model rises
    by more than 1 % with the group-count rows, and with the class-load rows over those
    (``load_cuts``; 0.129714 -> 0.131431 s when measured)."""
    import json

    import optdist.milp.decomposition.pricing as pricing

    s = json.loads((ROOT / "benchmarks/scale/pricing_prices/cifar-6x5-nexus-rpi3.json").read_text())["solves"][2]
    prices = {k: np.asarray(v) for k, v in s["prices"].items()}
    inst = load_instance(ROOT / "instances/coupled/cifar-6x5-nexus-rpi3.json")
    pm = pricing.PricingModel(inst, s["r"], solver="highs", load_cuts=block == "load_cuts")
    on = pm.lp_value(prices)
    pm.b.model.component(block).row.deactivate()
    off = pm.lp_value(prices)
    assert on >= off * 1.01


@pytest.mark.parametrize("family", ["group_cuts", "load_cuts"])
def test_pricing_with_the_cuts_keeps_every_priced_optimum(family):
    """One micro request on 2 RPi3 + 1 Nexus (two classes on its multi-segment conv layer): at
    random prices, equal within each device type (as the master sets them), the pricing model's
    proven optimum, with the group-count or class-load rows active, equals the brute-force minimum
    of latency plus priced usage over every placement the evaluator finds feasible. For the
    class-load rows, one of them holds with equality at a brute-force optimum (a row only slightly
    too strong would cut it off and fail this test), and at prices 0 with the rows on the tight
    model's optimum is the least latency of those placements."""
    import itertools

    from optdist.generate import generate
    from optdist.instance import parse
    from optdist.milp.decomposition.pricing import PricingModel
    from optdist.milp.decomposition.repair import alone

    inst = parse(generate("mix", {"micro": 1}, {"rpi3": 2, "nexus": 1}, 0.95, sources=1, privacy="synthetic"), "mix")
    pm = PricingModel(inst, 0, solver="highs", load_cuts=family == "load_cuts")
    block = pm.b.model.component(family)
    assert len(block.row) > 0
    rows = class_load_cuts(pm.b) if family == "load_cuts" else []
    lim, src = inst.limit(0), int(inst.request_source[0])
    choices = [[np.array(c) for c in itertools.product([src] if lim.on_source[k] else range(inst.n_devices),
                                                        repeat=la.segments)]
               for k, la in enumerate(inst.profile(0).layers)]
    placements = [(owners, *alone(inst, 0, owners)) for owners in map(list, itertools.product(*choices))
                  if evaluate(inst, Assignment([owners])).feasible]
    assert len(placements) > 20
    rng = np.random.default_rng(3)
    active, tight = 0, []
    for _ in range(6):
        prices = {res: np.zeros(inst.n_nodes) for res in ("memory", "compute", "bandwidth")}
        for q, res in enumerate(prices):
            top = max(max(p[2][:, q].max() for p in placements), 1.0)
            for group in ([0, 1], [2]):
                prices[res][group] = rng.choice([0.0, 1.0]) * rng.uniform(0, 2e-4) / top
        priced = [cost + sum(float(prices[res] @ use[:, q]) for q, res in enumerate(prices))
                  for _owners, cost, use in placements]
        brute = min(priced)
        out = pm.solve(prices, time_limit=30, mip_gap=1e-9, threads=1, seed=0)
        active += block.active
        assert out.proven
        assert out.value == pytest.approx(brute, rel=1e-7)
        assert out.bound <= brute * (1 + 1e-7)
        if family == "load_cuts":
            tight += [min(_load_slacks(pm.b, rows, Assignment([p[0]]))) for p, v in zip(placements, priced)
                      if v <= brute * (1 + 1e-9)]
    assert active >= 3  # the rows took part in most of the solves (on at non-zero prices)
    if family == "load_cuts":
        assert min(tight) <= 1e-6  # a row binds at an optimum
        # prices 0 with the rows on (the pricing leaves them off there): the least latency
        b = build(inst, "tight", requests=[0])
        add_class_load_cuts(b)
        b.set_objective(b.latency(0))
        out = get_solver("highs").solve(b.model, mip_gap=1e-9, threads=1)
        assert out.incumbent * b.time_unit == pytest.approx(min(cost for _o, cost, _u in placements), rel=1e-7)
