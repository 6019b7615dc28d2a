"""The kept-amount cuts of the tight model (``optdist.milp.tight.kept_cuts``): valid at every
placement within the model's bounds (chains by random assignments, DAGs by every placement),
and raising the LP relaxation of a priced CIFAR request without moving its optimum."""

from __future__ import annotations

import numpy as np
import pytest

from optdist.assignment import Assignment
from optdist.evaluate import evaluate
from optdist.instance import Instance, load_instance
from optdist.milp import build
from optdist.milp.data import TIME_UNIT
from optdist.milp.model import BuiltModel
from optdist.milp.tight import add_kept_cuts, kept_cuts
from optdist.result import Termination
from optdist.solvers import get_solver
from tests.test_dag_evaluator import dag_instance, placements
from tests.test_decompose import priced_lp_and_optimum, random_assignment, tiny

RTOL = 1e-7


def _violations(b: BuiltModel, asg: Assignment) -> list:
    """The rows of :func:`kept_cuts` that ``asg`` violates, each product at the largest value
    the model's rows allow it (``f[t,j,j] <= min(n[u,j], need_j)``, ``z <= n[u,j] x[k,j]``,
    ``v <= y[u,j] need_j``), stage times from the evaluator. Assignments outside the model's
    per-node bounds (``nmax``) are not placements of the model: none reported."""
    d, inst = b.data, b.inst
    N = inst.n_nodes
    ev = evaluate(inst, asg)
    for r in d.requests:
        for k, a in enumerate(asg.owners[r]):
            if (np.bincount(a, minlength=N) > d.nmax[r][k]).any():
                return []
    out = []
    for r, s, var, idx, l, lb, slope in kept_cuts(b):
        t, j = idx[1], idx[-1]
        ed = d.edge(r, t)
        own = asg.owners[r]
        n_u = int((own[ed.u] == j).sum())
        need = int((own[ed.k][ed.offset:ed.offset + ed.span] == j).sum()) if ed.sliced else int((own[ed.k] == j).sum())
        y = float((own[l] == j).any())
        p = {"f": min(n_u, need), "z": n_u * (need > 0), "v": need * (n_u > 0)}[var]
        T = ev.stage_time[r][s] / TIME_UNIT
        rhs = lb * (1 - y) + slope * p
        if T < rhs - 1e-9 * max(rhs, 1.0):
            out.append((r, s, var, idx, T, rhs))
    return out


@pytest.mark.parametrize("name", ["lenet-1x4-tau0.6", "lenet-2x4-tight", "cifar-1x4-tau0.8", "micro-2x3-tight",
                                  "micro-3x2-admission"])
def test_kept_cuts_hold_at_random_assignments(name):
    """Every kept-amount row holds at 40 random placements (evaluator stage times), and the
    CIFAR and LeNet models have such rows."""
    inst = tiny(name)
    b = build(inst, "tight")
    assert kept_cuts(b) or name.startswith("micro")
    rng = np.random.default_rng(17)
    for _ in range(40):
        asg = random_assignment(inst, rng)
        assert _violations(b, asg) == []


@pytest.mark.parametrize("cnn", ["res", "cat", "grp", "mrg", "loop"])
def test_kept_cuts_hold_at_every_placement_of_a_dag(tmp_path, cnn):
    """A residual block, a concat, a grouped conv and two adds of whole maps (the last three with
    layers indexed per map; MODEL.md section 9): every placement of one request on 3 devices
    satisfies every row."""
    inst: Instance = dag_instance(tmp_path, cnn, 1, 3)
    b = build(inst, "tight")
    for owners in placements(inst, 0):
        assert _violations(b, Assignment([owners])) == []


def test_kept_cuts_raise_the_lp_bound_of_pricing_and_keep_the_optimum():
    """Priced CIFAR request (latency + 0.02 TIME_UNIT per byte sent) on the tiny CIFAR set: the
    rows raise the LP relaxation and leave the MILP optimum where it was."""
    def kept(b: BuiltModel) -> None:
        add_kept_cuts(b)
        assert len(b.model.kept_cuts.row) > 0

    inst = tiny("cifar-1x4-tau0.8")
    lp_off, opt_off = priced_lp_and_optimum(inst, lambda b: None)
    lp_on, opt_on = priced_lp_and_optimum(inst, kept)
    assert opt_on == pytest.approx(opt_off, rel=RTOL)
    assert lp_off < lp_on <= opt_on * (1 + RTOL)


def test_kept_cuts_raise_the_lp_of_the_coupled_cifar_pricing_model():
    """One request of ``cifar-6x5-nexus-rpi3`` priced at 5e-8 s per byte on every device's
    radio (about the LP duals of its column generation): the LP relaxation rises."""
    import pyomo.environ as pyo

    inst = load_instance("instances/coupled/cifar-6x5-nexus-rpi3.json")
    lp = {}
    for cuts in (False, True):
        b = build(inst, "tight", requests=[0])
        if cuts:
            add_kept_cuts(b)
        price = 5e-8 / TIME_UNIT
        b.set_objective(b.latency(0) + price * pyo.quicksum(b.usage(0, i, "bandwidth")
                                                            for i in range(inst.n_devices)))
        pyo.TransformationFactory("core.relax_integer_vars").apply_to(b.model)
        out = get_solver("highs").solve(b.model, threads=1)
        assert out.termination is Termination.OPTIMAL
        lp[cuts] = out.incumbent
    assert lp[True] >= lp[False] * 1.02
