"""The pricing floors (optdist/milp/decomposition/floor.py: owner counts, and owner counts per
device group): never above the exact single-request priced optimum (brute force on micro networks,
the tight pricing model on LeNet and CIFAR), at random capacity prices; the typed floor at least
the count floor at prices equal within each group; refused on DAGs; the dual ascent's bound never
above a feasible objective."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

import optdist
from optdist.milp.decomposition.floor import PricingFloor, TypedFloor, class_bound, class_floors, dual_ascent
from optdist.milp.decomposition.pricing import PricingModel
from optdist.milp.decomposition.single import alone
from optdist.transfers import RESOURCES


def random_prices(inst, rng: np.random.Generator, scale: float) -> dict[str, np.ndarray]:
    """Per-node prices (seconds per unit) that make a typical request's usage cost about ``scale``
    times its latency: bandwidth ~ 1 s per 1e7 bytes, compute per 1e10 mults, memory per 1e9 bytes;
    a quarter of the nodes priced 0."""
    N = inst.n_nodes
    unit = {"memory": 1e-9, "compute": 1e-10, "bandwidth": 1e-7}
    return {res: scale * unit[res] * rng.random(N) * (rng.random(N) > 0.25) for res in RESOURCES}


def priced(inst, r, owners, prices) -> float:
    cost, use = alone(inst, r, owners)
    return cost + sum(float(prices[res] @ use[:, q]) for q, res in enumerate(RESOURCES))


def all_placements(inst) -> list[list[np.ndarray]]:
    """Every placement of request 0 (owners per layer) within privacy and its nodes' capacities alone."""
    prof, lim, src, D = inst.profile(0), inst.limit(0), int(inst.request_source[0]), inst.n_devices
    per_layer = []
    for k, la in enumerate(prof.layers):
        if lim.on_source[k]:
            per_layer.append([np.full(la.segments, src)])
        else:
            choices = [np.array(t) for t in itertools.product(range(D), repeat=la.segments)]
            cap = lim.device_cap[k]
            per_layer.append([a for a in choices if cap is None or np.bincount(a, minlength=D).max() <= cap])
    have = np.stack([inst.memory, inst.compute_capacity, inst.bandwidth_capacity], axis=1)
    return [list(p) for p in itertools.product(*per_layer) if (alone(inst, 0, list(p))[1] <= have * (1 + 1e-9)).all()]


#: heterogeneous micro sets (device fields of MODEL.md section 2 overridden per node): a fast device
#: alone, a group of three with their own speed and memory, a slow radio, a source with its own
#: rate; and three single devices with a serialised uplink and a shared-data weight
HETERO = {
    "groups-1-3-1": {"tau": 0.95, "sources": [{"id": "cam1", "type": "rpi3", "rate": 3.5e6}],
                     "devices": [{"id": "fast", "type": "nexus", "mults_per_s": 1.2e8, "rate": 1.1e7}]
                     + [{"id": f"mid{i}", "type": "nexus", "mults_per_s": 7.4e9, "memory": 1.2e6,
                         "compute_capacity": 8e6} for i in range(3)]
                     + [{"id": "slowradio", "type": "nexus", "rate": 5.6e5, "memory": 7e4, "compute_capacity": 6e6}]},
    "serial-shared": {"tau": 0.8, "sources": [{"id": "cam1", "type": "rpi3"}],
                      "objective": {"shared_weight": 1e-7, "uplink": "serial"},
                      "devices": [{"id": "a", "type": "rpi3", "mults_per_s": 4e9, "rate": 1.7e5, "memory": 3.3e5,
                                   "compute_capacity": 8.2e6},
                                  {"id": "b", "type": "rpi3", "mults_per_s": 1.1e9, "rate": 2.9e6},
                                  {"id": "c", "type": "nexus", "mults_per_s": 2.5e9, "rate": 1e5,
                                   "compute_capacity": 9.8e5}]},
}


@pytest.mark.parametrize("name", sorted(HETERO))
def test_floors_below_brute_force_heterogeneous(name, tmp_path):
    """Both floors at most the cheapest priced placement (enumerated, capacities checked) on
    heterogeneous devices, at prices 0 and random prices that differ within a group, for the
    latency weight 1, 0 (priced usage only) and 0.5."""
    doc = {"format": "optdist-instance/1", "name": name, "period_s": 1.0, "privacy": {"micro": "synthetic"},
           "requests": [{"id": "r1", "source": "cam1", "cnn": "micro"}], **HETERO[name]}
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(doc))
    inst = optdist.load_instance(str(path))
    runs = [(c, u) for c, u in (alone(inst, 0, p) for p in all_placements(inst))]
    floors = [PricingFloor(inst, 0), TypedFloor(inst, 0)]
    assert len(floors[1].groups) == 3
    rng = np.random.default_rng(5)
    for scale in (0.0, 0.3, 3.0, 100.0, 3000.0):
        for _ in range(2):
            prices = random_prices(inst, rng, scale)
            for w in (1.0, 0.0, 0.5):
                best = min(w * c + sum(float(prices[res] @ u[:, q]) for q, res in enumerate(RESOURCES)) for c, u in runs)
                for f in floors:
                    assert f.evaluate(prices, weight=w)[0] <= best * (1 + 1e-9) + 1e-15


@pytest.mark.parametrize("kind", [PricingFloor, TypedFloor])
@pytest.mark.parametrize("path", ["instances/tiny/micro-1x3-tau0.6.json", "instances/tiny/micro-2x3-serial.json"])
def test_floor_below_brute_force(path, kind):
    """Every placement of a micro request enumerated: the floor (and the floor plus the optimum at
    prices 0) is at most the cheapest priced placement, at prices 0 and at random prices."""
    inst = optdist.load_instance(path)
    placements = all_placements(inst)
    floor = kind(inst, 0)
    rng = np.random.default_rng(1)
    zero = {res: np.zeros(inst.n_nodes) for res in RESOURCES}
    alone0 = min(priced(inst, 0, p, zero) for p in placements)
    assert 0 < floor.evaluate(zero)[0] <= alone0 * (1 + 1e-12)
    for scale in (0.3, 1.0, 10.0, 100.0):
        for _ in range(3):
            prices = random_prices(inst, rng, scale)
            best = min(priced(inst, 0, p, prices) for p in placements)
            value, use = floor.evaluate(prices)
            assert value <= best * (1 + 1e-12)
            assert class_bound(floor, prices, alone0)[0] <= best * (1 + 1e-12)
            assert use.shape == (inst.n_nodes, 3) and (use >= 0).all()


@pytest.mark.parametrize("kind", [PricingFloor, TypedFloor])
@pytest.mark.parametrize("path,scales", [
    ("instances/tiny/lenet-1x4-tau0.6.json", (0.0, 1.0, 30.0)),
    ("instances/tiny/lenet-1x4-tau0.8.json", (1.0, 30.0)),
    ("instances/coupled/lenet-9x5-nexus-rpi3.json", (1.0, 30.0)),
    pytest.param("instances/tiny/cifar-1x4-tau0.8.json", (0.0, 1.0), marks=pytest.mark.slow),
])
def test_floor_below_exact_pricing(path, scales, kind):
    """LeNet (homogeneous and Nexus/RPi3) and CIFAR: the floor is at most the tight pricing model's
    optimum (closed, gap 1e-9) at random prices, and at most the priced optimum with the shared-data
    weight too."""
    inst = optdist.load_instance(path)
    pm = PricingModel(inst, 0, solver="highs")
    floor = kind(inst, 0)
    rng = np.random.default_rng(7)
    zero = {res: np.zeros(inst.n_nodes) for res in RESOURCES}
    b0 = pm.solve(zero, time_limit=60, mip_gap=1e-9, threads=1, seed=0)
    assert b0.proven
    for scale in scales:
        prices = random_prices(inst, rng, scale)
        out = pm.solve(prices, time_limit=60, mip_gap=1e-9, threads=1, seed=0)
        assert out.proven
        assert out.value == pytest.approx(priced(inst, 0, out.owners, prices), rel=1e-6)
        assert floor.evaluate(prices)[0] <= out.value * (1 + 1e-7)
        assert class_bound(floor, prices, b0.bound)[0] <= out.value * (1 + 1e-7)


@pytest.mark.parametrize("path", ["instances/coupled/lenet-9x5-nexus-rpi3.json", "instances/coupled/cifar-6x5-nexus-rpi3.json",
                                  "instances/tiny/micro-1x3-tau0.6.json"])
def test_typed_floor_at_least_count_floor(path):
    """At prices equal within each group of identical devices (the master's rows), the typed floor
    is at least the count floor (each of its terms is; module docstring), and its usage is a
    supergradient: at doubled prices the floor is at most value + (price change) . usage."""
    inst = optdist.load_instance(path)
    from optdist.milp.decomposition.classes import identical_device_groups

    groups = identical_device_groups(inst)
    rng = np.random.default_rng(3)
    for r in sorted({inst.request_class(r): r for r in range(inst.n_requests)}.values()):
        old, new = PricingFloor(inst, r), TypedFloor(inst, r)
        assert len(new.groups) == len(groups)
        for scale in (0.0, 1.0, 10.0, 100.0):
            prices = random_prices(inst, rng, scale)
            for res in RESOURCES:  # one price per group (and per other node)
                for g in groups:
                    prices[res][g] = prices[res][g[0]]
            v_old, v_new = old.evaluate(prices)[0], new.evaluate(prices)[0]
            assert v_old <= v_new * (1 + 1e-12)
            value, use = new.evaluate(prices, weight=0.0)
            up = {res: 2 * p for res, p in prices.items()}
            change = sum(float(prices[res] @ use[:, q]) for q, res in enumerate(RESOURCES))
            assert new.evaluate(up, weight=0.0)[0] <= (value + change) * (1 + 1e-9) + 1e-15


def test_typed_floor_refuses_too_many_states(monkeypatch):
    """Past MAX_TYPED_STATES states in a layer the typed floor names the count; class_floors then
    keeps the count floor."""
    from optdist.milp.decomposition import floor as floor_mod

    inst = optdist.load_instance("instances/coupled/lenet-9x5-nexus-rpi3.json")
    monkeypatch.setattr(floor_mod, "MAX_TYPED_STATES", 2)
    with pytest.raises(ValueError, match="owner-count states"):
        TypedFloor(inst, 0)
    assert isinstance(class_floors(inst, [0])[0], PricingFloor)
    monkeypatch.undo()
    assert isinstance(class_floors(inst, [0])[0], TypedFloor)
    assert isinstance(class_floors(inst, [0], typed=False)[0], PricingFloor)


def test_floor_refuses_dags(tmp_path):
    """A residual network (an add layer with two inputs) is refused by name; class_floors skips it."""
    from tests.test_dag_evaluator import dag_instance

    inst = dag_instance(tmp_path, "res", 1, 3)
    with pytest.raises(ValueError, match="chain networks"):
        PricingFloor(inst, 0)
    assert class_floors(inst, [0]) == [None]
    assert dual_ascent([None], [1], np.ones(3), lambda pi: {}, lambda u: u, deadline=math.inf, target=1.0)[0] == -math.inf


def test_dual_ascent_bound_below_feasible_and_above_start():
    """On a coupled LeNet set the ascent's best L(pi) is at least L(0) (the floors alone) and at
    most the objective of a feasible placement (column generation's incumbent, evaluator-scored)."""
    from optdist.milp.decomposition.colgen import MasterProblem, column_generation

    inst = optdist.load_instance("instances/coupled/lenet-8x4-rpi3.json")
    P = MasterProblem(inst)
    floors = class_floors(inst, [m[0] for m in P.members])
    zero = np.zeros(len(P.rows))
    start, *_ = dual_ascent(floors, P.sizes, P.rhs, P.node_prices, P.usage, deadline=math.inf, target=1.0, max_steps=1)
    assert start == pytest.approx(sum(n * f.evaluate(P.node_prices(zero))[0] for n, f in zip(P.sizes, floors)))
    res = column_generation(inst, time_limit=20, threads=1, seed=0)
    ev = optdist.evaluate(inst, res.assignment)
    assert ev.feasible
    best, pi, log = dual_ascent(floors, P.sizes, P.rhs, P.node_prices, P.usage, deadline=math.inf,
                                target=ev.objective, max_steps=300)
    assert start <= best <= ev.objective * (1 + 1e-9)
    assert (pi >= 0).all() and log[-1]["bound"] == best
    # column generation ran the same steps after round 0 (its "floor"), and its bound stays valid
    floor = res.extra["rounds"][0]["floor"]
    assert floor is not None and floor <= res.bound * (1 + 1e-9) and res.bound <= ev.objective * (1 + 1e-9)


@pytest.mark.parametrize("path,best", [("instances/coupled/lenet-9x5-nexus-rpi3.json", 0.0100541235061),
                                       ("instances/coupled/lenet-8x4-rpi3.json", 0.0100013628809)])
def test_dual_ascent_typed_below_known_objective(path, best):
    """The ascent on the typed floors, searched on the count floors (``coarse``, as column
    generation runs it), ends at least where the count floors alone end and never above a known
    feasible objective (instances/coupled.solu: =best= / =opt=, re-scored placements)."""
    from optdist.milp.decomposition.colgen import MasterProblem

    inst = optdist.load_instance(path)
    P = MasterProblem(inst)
    reps = [m[0] for m in P.members]
    typed, counts = class_floors(inst, reps), class_floors(inst, reps, typed=False)
    assert all(isinstance(f, TypedFloor) for f in typed) and all(isinstance(f, PricingFloor) for f in counts)
    rows = [(row.resource, row.nodes[0] < inst.n_devices) for row in P.rows]
    low, *_ = dual_ascent(counts, P.sizes, P.rhs, P.node_prices, P.usage, deadline=math.inf, target=best,
                          device_rows=rows, max_steps=200)
    high, pi, log = dual_ascent(typed, P.sizes, P.rhs, P.node_prices, P.usage, deadline=math.inf, target=best,
                                device_rows=rows, max_steps=200, coarse=counts)
    assert any(e["phase"] == "fine" for e in log)
    assert 0 < low <= high * (1 + 1e-12) and high <= best * (1 + 1e-9)
    # the bound is L at the returned prices, with the typed floors
    again = float(-pi @ P.rhs) + sum(n * class_bound(f, P.node_prices(pi))[0] for n, f in zip(P.sizes, typed))
    assert again == pytest.approx(high, rel=1e-9)


def test_typed_floor_infinite_where_no_group_can_hold_a_layer(tmp_path):
    """Devices whose memory cannot hold fc1 on any node: the typed floor is built (no state for
    that layer) and is +inf, as the request has no placement (the pricing model finds none)."""
    doc = json.loads(open("instances/tiny/lenet-1x4-tau0.6.json").read())
    for i, dev in enumerate(doc["devices"]):
        dev["memory"] = 3e4 + 100 * (i % 2)  # fc1 holds 122880 bytes of weights
    path = tmp_path / "small-memory.json"
    path.write_text(json.dumps(doc))
    inst = optdist.load_instance(str(path))
    floor = TypedFloor(inst, 0)
    assert len(floor.groups) >= 2 and any(len(c) == 0 for c in floor.counts)
    zero = {res: np.zeros(inst.n_nodes) for res in RESOURCES}
    assert floor.evaluate(zero)[0] == math.inf
    assert isinstance(class_floors(inst, [0])[0], TypedFloor)
    out = PricingModel(inst, 0, solver="highs").solve(zero, time_limit=20, mip_gap=1e-9, threads=1, seed=0)
    assert out.owners is None


def test_typed_floor_refused_past_the_state_limit_on_a_real_set(tmp_path):
    """17 single-device groups (memories differ by a byte): 2^17 owner-count states in an
    8-segment layer, past MAX_TYPED_STATES; the message names the request, layer and count, and
    class_floors keeps the count floor (still a valid floor, used by the ascent)."""
    from optdist.milp.decomposition.floor import MAX_TYPED_STATES

    doc = json.loads(open("instances/tiny/lenet-1x4-tau0.6.json").read())
    doc["devices"] = [{"id": f"d{i}", "type": "rpi3", "memory": 1e6 + i} for i in range(17)]
    path = tmp_path / "many-groups.json"
    path.write_text(json.dumps(doc))
    inst = optdist.load_instance(str(path))
    assert 2 ** 17 > MAX_TYPED_STATES
    with pytest.raises(ValueError, match=r"request 0 \(ReLU1\): 131072 owner-count states over 17 device groups"):
        TypedFloor(inst, 0)
    (floor,) = class_floors(inst, [0])
    assert isinstance(floor, PricingFloor)
    zero = {res: np.zeros(inst.n_nodes) for res in RESOURCES}
    out = PricingModel(inst, 0, solver="highs").solve(zero, time_limit=30, mip_gap=1e-9, threads=1, seed=0)
    assert out.proven and 0 < floor.evaluate(zero)[0] <= out.value * (1 + 1e-9)


def test_dual_ascent_stops_at_a_signal(sigint_handled):
    """A SIGINT received in a stop_on_signals block (a Ctrl-C of ``optdist solve``) ends the ascent
    as its deadline would, with a valid bound (here none yet: -inf); before, its up to 2000 steps
    ran on (up to 30 s in column generation) and the Ctrl-C waited for them (lead39)."""
    import os
    import signal
    import time

    from optdist.milp.decomposition.colgen import MasterProblem
    from optdist.solvers.base import stop_on_signals

    inst = optdist.load_instance("instances/coupled/lenet-8x4-rpi3.json")
    P = MasterProblem(inst)
    floors = class_floors(inst, [m[0] for m in P.members])
    args = (floors, P.sizes, P.rhs, P.node_prices, P.usage)
    _, _, log = dual_ascent(*args, deadline=math.inf, target=1.0, max_steps=50)
    assert any(e["phase"] == "steps" for e in log)  # without a signal: steps
    with stop_on_signals(lambda signum: None):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # (the handler runs at the next bytecode)
        best, _, log = dual_ascent(*args, deadline=math.inf, target=1.0, max_steps=50)
    assert not any(e["phase"] == "steps" for e in log) and best == -math.inf
