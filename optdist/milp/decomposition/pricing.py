"""Pricing for the Dantzig-Wolfe master: one request alone, its usage priced by the capacity duals.

Maths (MODEL.md sections 5-6; notation of :mod:`optdist.milp.decomposition.master`). For a
request r of class c, every placement ``p`` of r that satisfies the one-owner, placement,
privacy and *its own* capacity rows (a request alone on the full capacities) is a column
with cost ``c_p = latency_p + lambda shared_p`` (seconds) and usage ``a_p[i, res]`` (bytes of
weights, multiplications, bytes sent by node i). Given prices ``pi[i, res] >= 0`` (seconds per
unit: minus the master's duals of its capacity rows), the pricing problem is

    v_c(pi) = min_p  c_p + sum_{i, res} pi[i, res] a_p[i, res]

and the reduced cost of the best column is ``v_c(pi) - mu_c`` (``mu_c``: the dual of the
class's convexity row). It is the ``tight`` Pyomo formulation of request r alone
(:mod:`optdist.milp.tight`, MODEL.md section 7) with objective
``b.latency(r) + lambda shared + sum pi[i, res] b.usage(r, i, res)``, solved by the adapter or
profile the user chose (any of :mod:`optdist.solvers`: ``optdist solve --pricing-solver``, by
default the run's ``--solver``; GLPK only as the latter, :func:`check_pricing_solver`). The model
is built once per class and
only its objective, bounds and branching rows change between rounds (:meth:`PricingModel.solve`);
a solver with a persistent Pyomo interface (HiGHS) keeps it loaded and receives only those
changes (``keep`` of :meth:`optdist.solvers.base.Solver.solve`), the others load it anew. Identical devices carry
equal prices in the master (aggregated rows), so the tight model's symmetry rows among them
stay exact; here they order the devices lexicographically by their segments per layer
(:func:`optdist.milp.tight.lexicographic_symmetry`), without which branch-and-bound stalls
on a group of identical devices at binding prices. The model also carries the kept-amount
cuts (:func:`optdist.milp.tight.add_kept_cuts`): at bandwidth prices its LP relaxation otherwise
lets participations stay fractional (cheap bytes) while every node keeps its own segments (no
transfer, no wait); on ``cifar-6x5-nexus-rpi3`` at its column generation's LP duals they raise
the LP relaxation 0.1420 -> 0.1496 s (optimum 0.1606 s; ``benchmarks/scale/README.md``).
It also carries the group-count cuts (:func:`optdist.milp.tight.add_group_count_cuts`): the
stage time bounded by the number of owners in each class of identical devices, the facets of the
lower hull of those points (the owner-count and speed cuts of the ``tight`` model are its 1-D
projections and tangents): at the saved binding prices of ``cifar-6x5-nexus-rpi3`` they raise
the LP relaxation by 0.6-1.9 % and the bound after 10 s by 0.6-2.0 %
(``benchmarks/scale/README.md``). On request (``load_cuts``; ``pricing_probe.py --load-cuts``), not
by default, it carries the class-load cuts (:func:`optdist.milp.tight.add_class_load_cuts`): per
class, the stage time bounded by its owners and the segments they hold, the other classes holding
the rest (at binding prices the LP otherwise keeps a slower class's conv participations at
``n / nmax``, a fraction of the partial sums paid, with a fraction of an owner's stage time). At
the saved prices they raise the LP by 0.1-1.3 % and the bound in a fixed time by 0-0.7 %; 60-s runs
with them end within run-to-run spread on ``mixed-8x6-nexus-rpi3`` (one of five with a slow first
round) and at a smaller gap on ``cifar-6x5-nexus-rpi3`` (two pairs, mostly by the incumbent): too
little to switch the engine yet (``benchmarks/scale/README.md``, branch price40).

Both measured at the prices of real column-generation runs (``benchmarks/scale/pricing_probe.py``,
its saved prices in ``benchmarks/scale/pricing_prices/``, ``benchmarks/scale/README.md``): the
kept-amount cuts raise the bound at bandwidth prices but slow the solve at prices 0 (one CIFAR
request alone on ``cifar-6x5-nexus-rpi3``: 44 s instead of 10 s to close), so a solve at prices 0
deactivates them (and the group-count and class-load cuts with them); HiGHS's restarts at the root (it
re-presolves when many integer columns are fixed) cost half the time of the closing solves of
``lenet-10x10-tight-tau0.8`` at its prices and bought nothing at binding CIFAR prices, so a
priced HiGHS solve runs with
:data:`PRICED_HIGHS_OPTIONS` (unless the caller's raw options set them).

What is *proven* is what the master may use: :class:`Priced` carries ``bound``, a valid lower
bound on ``v_c(pi)``: the larger of the solver's dual bound (valid at a time limit too) and
the stage lower bound on the latency alone (:func:`optdist.milp.decomposition.bounds.propagate`;
valid because prices and the shared-data weight are ``>= 0``), capped at the priced value of
the best column known (the start, the solve's own incumbent:
:func:`optdist.milp.decomposition.guard.cap_bound`), so that a solver's false optimum cannot
raise it above a feasible point.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from optdist.instance import Instance
from optdist.jsonfile import json_text
from optdist.milp.decomposition.guard import cap_bound
from optdist.milp.decomposition.single import CUTOFF_STEPS
from optdist.transfers import RESOURCES


#: raw HiGHS options of a pricing solve at non-zero prices (module docstring; raw options the
#: caller gives take precedence)
PRICED_HIGHS_OPTIONS: dict[str, bool] = {"mip_allow_restart": False}


def check_pricing_solver(name: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The pricing solver a caller chose apart from the run's (``optdist solve --pricing-solver``),
    checked before anything is built: ``name`` an adapter or profile of :mod:`optdist.solvers`,
    ``options`` its raw options (over the profile's; None: none).

    GLPK is refused: GLPK 5's branch-and-bound claims false optima on pricing problems (0.002858 s
    proven on saved solve 0 of ``lenet-10x10-tight-tau0.8`` whose optimum is 0.000756 s; module
    docstring of :mod:`optdist.milp.decomposition.guard`, ``benchmarks/scale/README.md`` "GLPK is
    not to be trusted as a pricing solver"); the guard caps such a claim at a known column, but the
    Lagrangian bound then rests on that column, not on a proof. (``--solver glpk`` alone still
    prices with GLPK, guarded as before.) Returns the raw options checked
    (:meth:`optdist.solvers.Solver.check_raw_options`). Raises ValueError for an unknown name (the
    message of ``--solver``), a GLPK adapter or profile, or a raw option the solver refuses.
    """
    from optdist.solvers import get_solver
    from optdist.solvers.glpk import Glpk

    try:
        adapter = get_solver(name)
    except ValueError as e:
        raise ValueError(f"pricing solver: {e}") from None
    if isinstance(adapter, Glpk):
        raise ValueError(f"pricing solver {json_text(name)}: GLPK is not trusted as a pricing solver (GLPK 5 proves false "
                         "optima on pricing problems; benchmarks/scale/README.md) (fix: price with highs or scip: "
                         "--pricing-solver highs on the command line, pricing_solver=\"highs\" in Python; or leave "
                         "it out to price with the run's solver)")
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise ValueError(f"pricing_solver_options must be a mapping of option name to value, not {type(options).__name__} "
                         f"{json_text(options)} (fix: e.g. pricing_solver_options={{\"limits/gap\": 1e-05}})")
    return adapter.check_raw_options(options, "pricing_solver_options")


@dataclass
class Priced:
    """One pricing solve (seconds throughout).

    ``owners``: per layer, the owner node of every segment of request ``r`` (None if no
    placement was found); ``value``: its priced objective ``c_p + pi a_p``; ``bound``: a proven
    lower bound on ``v_c(pi)`` (``-inf`` if the solver proved nothing); ``proven``: the solve
    closed (``bound`` equals the optimum up to the gap); ``failed``: why its solver failed
    (termination ``error``, e.g. its process killed: ``extra["solver_error"]``), None if it did not.
    """

    r: int
    owners: list[np.ndarray] | None
    value: float | None
    bound: float
    proven: bool
    seconds: float
    log: dict = field(default_factory=dict)
    failed: str | None = None


class PricingModel:
    """The tight model of request ``r`` alone, built once, re-priced by :meth:`solve`.

    ``inst``'s objective must be the sum of latencies (``kind = 'latency'``); admission is the
    master's reject column, so the request is always placed here. ``keep_loaded``: keep the
    model loaded in a persistent solver between solves (module docstring; False loads it anew
    each time, as a solver without a persistent interface does: same results, for measuring).
    Raises ``ValueError`` for a makespan objective, :class:`optdist.solvers.SolverUnavailable`
    for a solver not installed, :class:`optdist.milp.model.BuildTimeout` when the model cannot be
    built by ``deadline`` (a ``time.perf_counter()`` value; None: no limit), or its subclass
    :class:`~optdist.milp.model.BuildInterrupted` when SIGINT/SIGTERM stops the build. ``bound_log``: the
    list the bounds capped by :func:`~optdist.milp.decomposition.guard.cap_bound` are recorded in
    (a run's, shared by its models; default: the model's own, ``self.bound_log``). ``load_cuts``:
    add the class-load cuts (module docstring; active at non-zero prices as the group-count cuts).
    """

    def __init__(self, inst: Instance, r: int, *, solver: str, solver_options: dict | None = None,
                 keep_loaded: bool = True, deadline: float | None = None,
                 bound_log: list[dict] | None = None, load_cuts: bool = False) -> None:
        from optdist.milp.decomposition.bounds import base_bounds, propagate
        from optdist.milp.model import build
        from optdist.milp.objective import shared_bytes_expr
        from optdist.milp.run import adapter_for
        from optdist.milp.tight import add_class_load_cuts, add_group_count_cuts, add_kept_cuts, lexicographic_symmetry
        from optdist.solvers.highs import Highs

        if inst.objective.kind != "latency":
            raise ValueError(f"{inst.name}: column generation needs objective.kind = 'latency' (the sum over "
                             f"requests), not {json_text(inst.objective.kind)}")
        if inst.objective.admission:
            inst = inst.with_spec(objective=inst.objective.model_copy(update={"admission": False}))
        self.inst, self.r, self.keep_loaded, self.solver = inst, r, keep_loaded, solver
        self.bound_log: list[dict] = [] if bound_log is None else bound_log
        self.adapter = adapter_for(solver, solver_options)
        self.raw_options = dict(self.adapter.solver_options)  # the profile's and the caller's
        self.highs = isinstance(self.adapter, Highs)
        t0 = time.perf_counter()
        self.b = build(inst, "tight", requests=[r], deadline=deadline, interruptible=True)
        lexicographic_symmetry(self.b)  # identical devices ordered lexicographically: pricing closes
        add_kept_cuts(self.b)  # kept amounts pay stage time at fractional participation: a tighter LP
        add_group_count_cuts(self.b)  # stage time by owners per class of devices: a tighter LP
        if load_cuts:  # stage time by a class's owners and segments: a tighter LP (module docstring)
            add_class_load_cuts(self.b)
        tu = self.b.time_unit
        self.base = self.b.latency(r)
        if inst.objective.shared_weight > 0:
            self.base = self.base + (inst.objective.shared_weight / tu) * shared_bytes_expr(self.b, r)
        nodes = sorted(set(int(i) for i in self.b.data.cand[r]))
        self.usage = {(i, res): self.b.usage(r, i, res) for i in nodes for res in RESOURCES}
        self.cand, self.ub = base_bounds(inst, r)
        self.stage_bound = propagate(inst, r, self.cand, self.ub).lower_bound  # seconds, latency only
        import pyomo.environ as pyo

        m = self.b.model
        m.latency_cut = pyo.Param(mutable=True, initialize=1e30)
        m.latency_cut_row = pyo.Constraint(expr=self.b.latency(r) <= m.latency_cut)
        self.ub_n = {key: v.ub for key, v in m.n.items() if key[0] == r}
        self.ub_T = {key: v.ub for key, v in m.T.items() if key[0] == r}
        self.ub_f = {key: v.ub for key, v in m.f.items() if key[0] == r} if m.component("f") is not None else {}
        self.build_s = time.perf_counter() - t0
        self.count_terms: list = []  # the count rows' price terms (:meth:`set_count_prices`)
        self.pack_terms: list = []  # the packing rows' price terms (:meth:`set_pack_prices`)
        self.round_terms: list = []  # the rounding rows' price terms (:meth:`set_round_prices`)

    def use_solver(self, solver: str, solver_options: dict | None = None) -> None:
        """Solve this model with ``solver`` (adapter or profile; ``solver_options``: its raw
        options) from now on: the model, its limits and prices stay, only the solver changes
        (column generation hands a class whose HiGHS pricing stalls to SCIP,
        :data:`optdist.milp.decomposition.colgen.STALL_PRICING_SOLVER`)."""
        from optdist.milp.run import adapter_for
        from optdist.solvers.highs import Highs

        self.solver = solver
        self.adapter = adapter_for(solver, solver_options)
        self.raw_options = dict(self.adapter.solver_options)
        self.highs = isinstance(self.adapter, Highs)

    def set_limits(self, limits: Sequence[tuple[Sequence[int], str, bool, float]], *,
                   exact_bytes: bool | None = None) -> bool:
        """Restrict the placements to those whose usage meets ``limits`` (branching rows of
        :mod:`optdist.milp.decomposition.branch`): each ``(nodes, resource, upper, value)`` is
        ``sum_{i in nodes} usage(r, i, resource) <= value`` (``upper``) or ``>= value``, in the
        instance's capacity units. ``[]`` lifts them. Returns False when a limit cannot hold
        (no candidate node of ``nodes`` can carry the resource and ``value > 0``): no placement.

        The model's usage expressions take every placement's true usage, so every placement
        that meets the limits stays feasible and every bound stays valid. Where the tight model
        relaxes a byte count (lower McCormick: bytes at least the true ones), a ``>=`` limit on
        bandwidth also adds the missing halves (:meth:`_exact_bytes`; ``exact_bytes`` None, the
        default), so that a placement the model returns meets the limit in truth; the caller
        still checks its true usage. ``exact_bytes`` True adds them under a ``<=`` limit on
        bandwidth too: there they change no integer point (a placement meeting the limit in truth
        meets it in the model's bytes, which the halves make the true ones) but tighten the LP
        (the ``<=`` sibling of ``lenet-10x10-tight-tau0.8``'s first branching at prices 0: 3.9 s and
        791 nodes with them, 25 s and 6,026 nodes without; benchmarks/milp/README.md, branch
        tight11j). ``exact_bytes`` False leaves them out: the model is then a relaxation of the
        limited one (the true bytes meet every McCormick half), so its proven bound stays valid
        for the placements that meet the limits, and it is much easier to solve (the first
        child of ``lenet-10x10-tight-tau0.8``: 12 s proven against 29 s stopped 0.8 % short;
        benchmarks/milp/README.md, branch tight11i), but a placement it returns may meet a ``>=``
        limit on bandwidth only in the model's bytes (the caller solves again with them).
        """
        import pyomo.environ as pyo

        m = self.b.model
        if m.component("branch_limits") is not None:
            m.del_component("branch_limits")
        ok = True
        rows = []
        for nodes, res, upper, value in limits:
            terms = [self.usage[(i, res)] for i in nodes if (i, res) in self.usage
                     and not isinstance(self.usage[(i, res)], int)]
            if not terms:
                ok &= upper or value <= 0
                continue
            e = sum(terms) / max(abs(float(value)), 1.0)  # scaled: the row's right-hand side is ~1
            v = float(value) / max(abs(float(value)), 1.0)
            rows.append(e <= v if upper else e >= v)
        if exact_bytes is not False and any(res == "bandwidth" and (exact_bytes or not upper)
                                            for _n, res, upper, _v in limits):
            rows += self._exact_bytes()
        if rows:
            m.branch_limits = pyo.ConstraintList()
            for row in rows:
                m.branch_limits.add(row)
        return ok

    def set_count_prices(self, counts: Sequence[tuple[Sequence[int], str, float, float]]) -> None:
        """Price the weights of the loads (the master's count rows,
        :class:`optdist.milp.decomposition.master.CountRow`): each ``(nodes, resource,
        threshold, sigma)`` adds ``sigma`` seconds per unit of ``ceil(usage_i / threshold) - 1``
        over the nodes of ``nodes`` (the multiples of ``threshold`` strictly below the request's
        usage of ``resource`` there). ``[]`` lifts them.

        Maths: an integer ``w_i >= 0`` per node with ``w_i >= usage_i (1 - 1e-9) / threshold - 1``
        and ``sigma w_i`` in the objective (:meth:`solve` adds it). At an integer placement the
        least ``w_i`` is the weight, and the model's bytes are at least the true ones (a lower
        McCormick expression, pushed down to the true bytes by the minimisation), so the model's
        minimum stays a lower bound on ``min_p c_p + pi . a_p + sigma n_p``.
        """
        import pyomo.environ as pyo

        m = self.b.model
        for name in ("count_w", "count_rows"):
            if m.component(name) is not None:
                m.del_component(name)
        self.count_terms = []
        pairs = [(q, i) for q, (nodes, res, _t, sg) in enumerate(counts) if sg > 0
                 for i in nodes if (i, res) in self.usage and not isinstance(self.usage[(i, res)], int)]
        if not pairs:
            return
        m.count_w = pyo.Var(pairs, domain=pyo.NonNegativeIntegers)
        m.count_rows = pyo.ConstraintList()
        tu = self.b.time_unit
        for q, i in pairs:
            _nodes, res, t, sg = counts[q]
            m.count_rows.add(m.count_w[q, i] >= self.usage[(i, res)] * ((1 - 1e-9) / float(t)) - 1)
            self.count_terms.append((float(sg) / tu) * m.count_w[q, i])

    def set_pack_prices(self, packs: Sequence[tuple[Sequence[int], str, float, Sequence[float], Sequence[float],
                                                   float]]) -> None:
        """Price the weights of the loads on the master's packing rows
        (:class:`optdist.milp.decomposition.master.PackRow`): each ``(nodes, resource, cap,
        thresholds, steps, sigma)`` adds ``sigma`` seconds per unit of ``sum_j steps[j] [usage_i >=
        thresholds[j]]`` over the nodes of ``nodes`` (each of capacity ``cap``). ``[]`` lifts them.

        Maths: a binary ``z_ij`` per node and threshold with ``usage_i <= t_j + (cap - t_j) z_ij``
        and ``sigma steps[j] z_ij`` in the objective (:meth:`set_prices`). A placement's usage is
        at most ``cap``, so every placement stays feasible with ``z_ij = [usage_i > t_j]``, which
        charges at most its true weight (a load exactly at ``t_j`` may go uncharged), and the
        model's bytes are at least the true ones (pushed down by the minimisation, as in
        :meth:`set_count_prices`): the model's minimum stays a lower bound on
        ``min_p c_p + pi . a_p + sigma n_p``.
        """
        import pyomo.environ as pyo

        m = self.b.model
        for name in ("pack_z", "pack_rows"):
            if m.component(name) is not None:
                m.del_component(name)
        self.pack_terms = []
        keys = [(q, i, j) for q, (nodes, res, cap, ts, _st, sg) in enumerate(packs) if sg > 0
                for i in nodes if (i, res) in self.usage and not isinstance(self.usage[(i, res)], int)
                for j, t in enumerate(ts) if t < cap]
        if not keys:
            return
        m.pack_z = pyo.Var(keys, domain=pyo.Binary)
        m.pack_rows = pyo.ConstraintList()
        tu = self.b.time_unit
        for q, i, j in keys:
            _nodes, res, cap, ts, st, sg = packs[q]
            t = float(ts[j])
            m.pack_rows.add((self.usage[(i, res)] - t) / t <= (cap / t - 1) * m.pack_z[q, i, j])
            self.pack_terms.append((float(sg) * float(st[j]) / tu) * m.pack_z[q, i, j])

    def set_round_prices(self, rounds: Sequence[tuple[Sequence[int], str, float, float, float]]) -> None:
        """Price the weights of the placements on the master's rounding rows
        (:class:`optdist.milp.decomposition.master.RoundRow`): each ``(nodes, resource, step,
        offset, sigma)`` adds ``sigma`` seconds per unit of ``floor((U - offset) / step + eps)``,
        ``U`` the request's usage of ``resource`` summed over ``nodes``, ``eps`` =
        :data:`~optdist.milp.decomposition.master.ROUND_EPS`. ``[]`` lifts them.

        Maths: an integer ``w >= 0`` per row with ``w >= (U - offset) / step + eps - 1`` and
        ``sigma w`` in the objective (:meth:`set_prices`); its least value is exactly the weight
        (solver tolerances can only lower it), and the model's bytes are at least the true ones,
        pushed down by the minimisation (:meth:`set_count_prices`): the model's minimum stays a
        lower bound on ``min_p c_p + pi . a_p + sigma n_p``.
        """
        import pyomo.environ as pyo

        from optdist.milp.decomposition.master import ROUND_EPS

        m = self.b.model
        for name in ("round_w", "round_rows"):
            if m.component(name) is not None:
                m.del_component(name)
        self.round_terms = []
        keep = [q for q, (_n, _r, _d, _c, sg) in enumerate(rounds) if sg > 0]
        if not keep:
            return
        m.round_w = pyo.Var(keep, domain=pyo.NonNegativeIntegers)
        m.round_rows = pyo.ConstraintList()
        tu = self.b.time_unit
        for q in keep:
            nodes, res, step, offset, sg = rounds[q]
            terms = [self.usage[(i, res)] for i in nodes if (i, res) in self.usage
                     and not isinstance(self.usage[(i, res)], int)]
            u = sum(terms) if terms else 0.0
            m.round_rows.add(m.round_w[q] >= (u - float(offset)) / float(step) + ROUND_EPS - 1)
            self.round_terms.append((float(sg) / tu) * m.round_w[q])

    def _exact_bytes(self) -> list:
        """The halves of the McCormick products in the bytes sent that the tight model leaves out
        (:func:`optdist.milp.tight.add_tight_transfer_variables`: they only matter where the bytes
        are pushed up, as a ``>=`` limit does), so that at every integer point the model's bytes
        are the true bytes (MODEL.md section 4, eq. 6):

        * ``v = y[u,i] need_i`` (partial sums kept): ``v >= need_i - U (1 - y[u,i])``;
        * ``z = n[u,i] x[k,i]`` (maps kept for one's own fc layer): ``z >= n[u,i] - U (1 - x[k,i])``;
        * ``x2 = x[u,i] x[k,i]``: ``x2 >= x[u,i] + x[k,i] - 1``;
        * ``wv = x[u,i] y[k,j]``: ``wv <= x[u,i]``, ``wv <= y[k,j]``;
        * the per-map products of layers indexed per map (:func:`optdist.milp.constraints.map_upper_rows`),

        per transition t = u -> k (MODEL.md section 9; a chain: ``u = k-1``; ``need_i``: the
        segments of t's receiving slice i owns). (Flows ``f`` are exact already: a placement
        realises any flows with its owner counts.)
        """
        from optdist.milp.constraints import map_upper_rows
        from optdist.milp.variables import receiving

        m, d, b = self.b.model, self.b.data, self.b
        out = map_upper_rows(b)
        for key in m.v:
            r, t, i = key
            U = d.recv_max(r, t, i)
            out.append(m.v[key] >= receiving(b, r, t, i) - U * (1 - b.y(r, d.src(r, t), i)))
        for key in m.z:
            r, t, i = key
            U = int(d.nmax[r][d.src(r, t), i])
            out.append(m.z[key] >= m.n[r, d.src(r, t), i] - U * (1 - m.n[r, d.dst(r, t), i]))
        for key in m.x2:
            r, t, i = key
            out.append(m.x2[key] >= m.n[r, d.src(r, t), i] + m.n[r, d.dst(r, t), i] - 1)
        for key in m.wv:
            r, t, i, j = key
            out.append(m.wv[key] <= m.n[r, d.src(r, t), i])
            out.append(m.wv[key] <= b.y(r, d.dst(r, t), j))
        return out

    def _restrict(self, cutoff: float | None):
        """Bounds of the placements with latency at most ``cutoff`` (seconds; None: all).

        Returns the propagation (:func:`bounds.propagate`) or None. Every placement priced below
        a known column's priced value ``V`` has latency ``<= V`` (prices are ``>= 0``), so the
        domain :func:`bounds.propagate` leaves for the cutoff ``V`` holds every better column:
        the owner counts, stage times and elementwise flows get its bounds, the latency a row.
        """
        from optdist.milp.decomposition.bounds import propagate

        m, r, inst, tu = self.b.model, self.r, self.inst, self.b.time_unit
        for key, ub in self.ub_n.items():
            m.n[key].setub(ub)
        for key, ub in self.ub_T.items():
            m.T[key].setub(ub)
        for key, ub in self.ub_f.items():
            m.f[key].setub(ub)
        m.latency_cut.set_value(1e30)
        if cutoff is None:
            return None
        p = propagate(inst, r, self.cand, self.ub, cutoff=cutoff)
        if p.pruned:
            return p
        m.latency_cut.set_value(cutoff / tu * (1 + 1e-9))
        slack = cutoff - p.lower_bound
        stage_max = [x + slack for x in p.stage_lb]
        for k, (nd, u) in enumerate(zip(self.cand, p.ub)):
            for i, ui in zip(nd, u):
                if (r, k, int(i)) in m.n:
                    v = m.n[r, k, int(i)]
                    v.setub(min(v.ub if v.ub is not None else ui, int(ui)))
            if k and (r, k) in m.T:
                m.T[r, k].setub(stage_max[k] / tu * (1 + 1e-9))
        for (q, t, i, j), ub in self.ub_f.items():  # t: the transition u -> k (a chain: t = k)
            lim = self.b.data.flow_time_cap(q, t, i, j, stage_max[self.b.data.dst(q, t)])
            if math.isfinite(lim):
                m.f[q, t, i, j].setub(lim if ub is None else min(ub, lim))
        return p

    def set_prices(self, prices: dict[str, np.ndarray]) -> None:
        """The objective at ``prices`` (resource -> array over nodes, seconds per unit): latency
        plus the priced usage and the count rows' prices (:meth:`set_count_prices`); at prices 0
        the kept-amount and group-count cuts are off (the former only slow the solve there) and a
        priced HiGHS solve runs with :data:`PRICED_HIGHS_OPTIONS` (module docstring)."""
        tu = self.b.time_unit
        terms = [(float(prices[res][i]) / tu) * e for (i, res), e in self.usage.items()
                 if prices[res][i] > 0 and not isinstance(e, int)]
        terms += self.count_terms + self.pack_terms + self.round_terms
        self.b.set_objective(self.base + sum(terms) if terms else self.base)
        for name in ("kept_cuts", "group_cuts", "load_cuts"):
            blk = self.b.model.component(name)
            if blk is not None and terms:
                blk.activate()
            elif blk is not None:
                blk.deactivate()
        if self.highs:
            self.adapter.solver_options = {**(PRICED_HIGHS_OPTIONS if terms else {}), **self.raw_options}

    def lp_value(self, prices: dict[str, np.ndarray]) -> float:
        """The LP relaxation's value at ``prices`` (seconds; HiGHS, 1 thread), a lower bound on
        ``v_c(pi)``: what the benchmark probes compare formulations by."""
        import pyomo.environ as pyo

        from optdist.milp.run import adapter_for

        self.set_prices(prices)
        m = self.b.model.clone()
        pyo.TransformationFactory("core.relax_integer_vars").apply_to(m)
        return adapter_for("highs").solve(m, threads=1).incumbent * self.b.time_unit

    def partial_relaxation(self, prices: dict[str, np.ndarray], integer: Sequence[str], *, time_limit: float,
                           fix_time_limit: float | None = None) -> dict[str, float | str | None]:
        """Which integrality carries the pricing gap (a benchmark probe, ``pricing_probe.py time
        --integer-only``): the model at ``prices`` with only the variable families named in
        ``integer`` (components of the built model: ``n``, ``y``, ``f``, ``s``, ...) integer, every
        other integer variable continuous within its bounds, solved by HiGHS (1 thread, relative gap
        1e-5; the model's own adapter and options where it prices with HiGHS) for at most
        ``time_limit`` seconds. Its optimum, hence its proven bound, is a lower bound on ``v_c(pi)``
        (a relaxation of the pricing model: every point of that model, whose symmetry rows keep one
        of each set of placements that differ by a permutation of identical equally priced devices, is
        one of its points); its best point (``relaxed``) is one only where HiGHS proved it optimal.

        ``fix_time_limit``: then those families are fixed at the relaxation's incumbent (rounded),
        integrality is restored everywhere and the model is solved again for at most that long:
        the value of a placement (an upper bound on ``v_c(pi)``) next to the relaxed point, or
        None where none exists (the fixed counts have no integral completion), and the proven
        bound of that fixed model (the least value of any placement with those families there).

        Returns ``relaxed`` / ``relaxed_bound`` (seconds; None where HiGHS found no point /
        proved nothing), ``relaxed_status`` and, with ``fix_time_limit``, ``fixed``, ``fixed_bound``
        and ``fixed_status``. Works on a clone: the model itself is unchanged. Raises ValueError for
        a name in ``integer`` that is not an integer variable family of the model.
        """
        import pyomo.environ as pyo

        from optdist.milp.run import adapter_for

        self.set_prices(prices)
        m = self.b.model.clone()
        fams = {v.local_name: v for v in m.component_objects(pyo.Var)}
        ints = sorted(name for name, v in fams.items() if any(x.is_integer() for x in v.values()))
        # a family may be empty (no s on LeNet): allowed, as nothing in it is continuous
        bad = sorted(name for name in set(integer) if name not in fams or (len(fams[name]) and name not in ints))
        if bad:
            named = ", ".join(name or "''" for name in bad)
            raise ValueError(f"{named}: not an integer variable family of the pricing model "
                             f"(fix: one or more of {', '.join(ints)})")
        relaxed = []
        for name, var in fams.items():
            if name not in integer:
                for x in (x for x in var.values() if x.is_integer()):
                    relaxed.append((x, x.domain))
                    lb, ub = x.lb, x.ub
                    x.domain = pyo.Reals
                    x.setlb(lb)
                    x.setub(ub)
        # the model's own HiGHS adapter (its options as set_prices left them), else a plain HiGHS
        highs, tu = (self.adapter if self.highs else adapter_for("highs")), self.b.time_unit
        out = highs.solve(m, threads=1, time_limit=time_limit, mip_gap=1e-5)
        res: dict[str, float | str | None] = {
            "relaxed": None if out.incumbent is None else out.incumbent * tu,
            "relaxed_bound": None if out.bound is None else out.bound * tu,
            "relaxed_status": str(out.termination)}
        if fix_time_limit is None:
            return res
        for x, dom in relaxed:
            lb, ub = x.lb, x.ub
            x.domain = dom
            x.setlb(lb)
            x.setub(ub)
        found = out.incumbent is not None
        for name in integer:
            for x in fams[name].values():
                if found and x.value is not None:
                    x.fix(round(x.value))
        out2 = highs.solve(m, threads=1, time_limit=fix_time_limit, mip_gap=1e-5) if found else None
        res["fixed"] = None if out2 is None or out2.incumbent is None else out2.incumbent * tu
        res["fixed_bound"] = None if out2 is None or out2.bound is None else out2.bound * tu
        res["fixed_status"] = "no relaxed point" if out2 is None else str(out2.termination)
        return res

    def solve(self, prices: dict[str, np.ndarray], *, time_limit: float, mip_gap: float, threads: int | None,
              seed: int | None, tee: bool = False, start: list[np.ndarray] | None = None,
              start_value: float | None = None, steps: Sequence[float] = CUTOFF_STEPS) -> Priced:
        """``v_c(pi)`` (module docstring) at ``prices`` (resource -> array over nodes, seconds per
        unit, ``>= 0``; ``time_limit`` may be ``inf``: none): the best placement found and a proven
        bound, by rising latency cutoffs.

        Every placement's latency is at most its priced value (prices and the shared-data
        weight are ``>= 0``). For cutoffs ``c = min(LB0 (1 + delta), V)`` (``LB0``: the stage
        bound on the latency, ``delta`` in ``steps``, ``V``: the best priced value known, at
        first ``start_value`` of ``start``, a column of the previous rounds), the model is
        restricted to latencies ``<= c`` (:meth:`_restrict`); placements outside it are priced
        above ``c``. So each restricted solve with bound ``b`` proves ``v_c(pi) >= min(b, c)``,
        and one whose optimum ``v`` is at most ``c`` is optimal for the whole (as in
        :func:`optdist.milp.decomposition.single.solve_single`). A restricted model with no
        placement proves ``v_c(pi) >= c``, unless the known column lies in it (its MIP start): that
        claim is false (GLPK, as in :func:`~optdist.milp.decomposition.single.solve_single`), recorded
        in ``bound_log`` (:func:`~optdist.milp.decomposition.guard.cap_bound`), the bound reverts to the
        stage bounds' and one solve without a cutoff follows. An adapter whose claims are checked
        (:meth:`~optdist.solvers.base.Solver.bound_checked`: GLPK, a user's) prices without cutoffs
        from the start: no bound rests on its claim that a restricted model has no placement. Each step may use all the time left; a step stopped
        by the time limit ends the solve (``proven`` False, the best bound so far kept).
        The time each solve takes to load the model comes off its limit in the adapter
        (:meth:`optdist.solvers.base.Solver.limit_left`). Raises ``ValueError`` for a negative price."""
        from optdist.assignment import Assignment
        from optdist.milp.run import solve_built
        from optdist.result import Termination

        for res in RESOURCES:
            if (np.asarray(prices[res]) < 0).any():
                raise ValueError(f"price of {res} must be >= 0")
        b, r, tu = self.b, self.r, self.b.time_unit
        self.set_prices(prices)
        t0 = time.perf_counter()
        deadline = t0 + max(float(time_limit), 0.05)
        best_val = math.inf
        best_owners: list[np.ndarray] | None = None
        if start is not None and start_value is not None:
            best_val, best_owners = float(start_value), [a.copy() for a in start]
        lb = staged = self.stage_bound  # latency <= priced value; staged: the stage bounds' alone (optdist's own)
        log: dict = {"steps": []}
        nodes = 0
        proven = False
        failed: str | None = None
        # trusted: the solver's infeasibility (none refuted yet, and not an adapter whose claims are
        # checked, Solver.bound_checked: GLPK, a user's): an untrusted one prices without cutoffs
        trusted = not self.adapter.bound_checked()
        todo = list(steps) if trusted else [math.inf]
        while todo:
            d = todo.pop(0)
            c = self.stage_bound * (1 + d) if math.isfinite(d) and math.isfinite(self.stage_bound) else math.inf
            c = min(c, best_val) if trusted else math.inf
            p = self._restrict(c if math.isfinite(c) else None)
            step = {"cutoff": c}
            log["steps"].append(step)
            if p is not None and p.pruned:  # no placement has latency <= c
                step["result"] = "pruned by stage bounds"
                lb, staged = max(lb, c), max(staged, c)
                if c >= best_val:
                    proven = True
                    break
                continue
            seed_asg = None
            if best_owners is not None and c >= best_val:  # its latency is at most its priced value
                own: list = [None] * self.inst.n_requests
                own[r] = best_owners
                seed_asg = Assignment(own)
            left = deadline - time.perf_counter()
            if left <= 0:
                break
            out, asg, _ = solve_built(b, self.adapter, time_limit=max(left, 0.05) if math.isfinite(left) else None,
                                      mip_gap=mip_gap, threads=threads, seed=seed, tee=tee, start=seed_asg,
                                      keep=self.keep_loaded)
            nodes += out.nodes or 0
            step.update({"status": out.status, "termination": str(out.termination), "nodes": out.nodes})
            if out.termination is Termination.ERROR:  # the solver failed (e.g. killed): the bound so far
                failed = out.extra.get("solver_error") or f"solver {self.solver} ended in error ({out.status})"
                break
            if out.termination is Termination.INFEASIBLE and seed_asg is not None:  # refuted by the known column
                cut = f"latency cutoff {c:.9g} s" if math.isfinite(c) else "no cutoff"
                cap_bound(math.inf, [best_val], solver=self.solver, what=f"pricing of request {r}, {cut}",
                          record=self.bound_log)
                step["result"] = f"refuted: the known placement (priced {best_val:.9g} s) lies in this model"
                lb, proven = staged, False  # every bound its claims raised is suspect
                todo, trusted = ([math.inf] if trusted else []), False  # then one solve without a cutoff
                continue
            if out.termination is Termination.INFEASIBLE:
                lb = max(lb, c)
                if c >= best_val:
                    proven = True
                    break
                if not math.isfinite(c):  # the whole model has no placement
                    best_val, best_owners, lb, proven = math.inf, None, math.inf, True
                    break
                continue
            value = None if out.incumbent is None else out.incumbent * tu
            if value is not None and value < best_val and asg is not None and asg.owners[r] is not None:
                best_val, best_owners = value, asg.owners[r]
            if out.bound is not None:
                sb = out.bound * tu
            elif out.termination is Termination.OPTIMAL and value is not None:
                sb = value * (1 - mip_gap)  # the solver proved the gap but reports no bound
            else:
                sb = -math.inf
            # the restricted model's bound: capped at the points inside it only (its own; the best
            # known where c >= its priced value >= its latency); one above a point outside it, whose
            # latency exceeds c, is no false claim (min(sb, c) below is all that is kept of it)
            sb = cap_bound(sb, [value, best_val if c >= best_val else None], solver=self.solver,
                           what=f"pricing of request {r}", record=self.bound_log)
            lb = max(lb, min(sb, c))
            if out.termination is not Termination.OPTIMAL:
                break  # time limit (or the solver stopped): the bound so far
            if value is not None and value <= c * (1 + 1e-12) or not math.isfinite(c) or c >= best_val:
                proven = True
                break
        self._restrict(None)
        secs = time.perf_counter() - t0
        log["nodes"] = nodes
        if best_owners is None:
            return Priced(r, None, None, lb, proven, secs, log, failed)
        return Priced(r, best_owners, best_val, cap_bound(lb, [best_val], solver=self.solver,
                                                          what=f"pricing of request {r}", record=self.bound_log),
                      proven, secs, log, failed)
