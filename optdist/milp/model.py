"""Build an exact formulation of MODEL.md section 7 as a Pyomo model.

``build(inst, "compact" | "per-map" | "tight", relax=..., requests=..., capacity_override=...)``
returns a :class:`BuiltModel`: the ``ConcreteModel`` (objective ``model.obj``, minimised, in
``TIME_UNIT`` seconds), one Block per constraint family, and the maps between model values
and per-map :class:`Assignment` objects (solution read-back, warm starts).
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyomo.environ as pyo

from optdist.assignment import Assignment
from optdist.instance import Instance
from optdist.jsonfile import json_text, quoted
from optdist.milp import constraints as C
from optdist.milp.data import TIME_UNIT, ModelData, model_data
from optdist.milp.extract import check_holdable, owners_from_model, set_model_values
from optdist.milp.objective import add_objective
from optdist.milp.variables import add_assignment_variables, add_stage_variables, add_transfer_variables
from optdist.names import closest
from optdist.solvers.base import stop_at_once
from optdist.transfers import RESOURCES

#: Pyomo formulations: per-map (one binary per map, paper eq. 10), compact (counts and flows),
#: tight (counts, aggregated stage times, stage cuts, symmetry; :mod:`optdist.milp.tight`).
FORMULATIONS = ("compact", "per-map", "tight")


def unknown_formulation(formulation: object, choices: Sequence[str]) -> str:
    """The error for ``formulation``, not one of ``choices`` (:func:`build`'s, or
    :data:`optdist.milp.solve.SOLVE_FORMULATIONS`): the name as given, the close match and the
    choices, quoted (was "choose one of ('auto', ...)", a Python tuple, with no fix)."""
    close = closest(formulation, list(choices), ignore_case=True)
    return (f"unknown formulation {json_text(formulation)} (fix: {f'did you mean {json_text(close)}? ' if close else ''}"
            f"choose from {quoted(list(choices))})")


#: variables Pyomo builds per second with their rows, at the fast end of what was measured
#: (2 cores; 0.1-0.25 M variables/s for the variables alone): a build estimated slower than the
#: time left is refused up front (:class:`BuildTimeout`)
BUILD_RATE = 200_000
#: the slow end of it, on a busy machine (verify43, load 2.7: a compact build estimated at 1.5 s at
#: :data:`BUILD_RATE` took 15.1 s; left43: per-map 1.6 M variables in 31 s at load 1.4-2): where a
#: build may be long, ``progress`` says so (:func:`build`), from the estimate at this rate
SLOW_BUILD_RATE = 20_000

#: Constraint families in build order; each can be left out with ``build(relax=...)``.
FAMILIES: dict[str, Callable[[BuiltModel], None]] = {
    "one_owner": C.add_one_owner_constraints,
    "placement": C.add_placement_constraints,
    "memory": C.add_memory_constraints,
    "compute": C.add_compute_constraints,
    "bandwidth": C.add_bandwidth_constraints,
    "privacy": C.add_privacy_constraints,
    "transfers": C.add_transfer_constraints,
    "stage_time": C.add_stage_time_constraints,
}


def family_function(formulation: str, family: str) -> Callable[[BuiltModel], None]:
    """The function that adds ``family`` to ``formulation`` (tight has its own transfers, stage_time)."""
    if formulation == "tight" and family in ("transfers", "stage_time"):
        from optdist.milp import tight

        return {"transfers": tight.add_tight_transfer_constraints,
                "stage_time": tight.add_tight_stage_time_constraints}[family]
    return FAMILIES[family]


@dataclass
class BuiltModel:
    """A built formulation: the Pyomo model plus what is needed to read and seed it.

    ``transfer[(r, t, i, j)]`` is the Pyomo expression of ``O[r,t,i,j]`` (bytes, ``i != j``, of
    transition t: from layer u on i to layer k on j, ``t = k`` and ``u = k-1`` on a chain,
    :mod:`optdist.milp.data`; tight: only the elementwise flows);
    ``sent[(r, t, i)]`` the bytes node i ships in transition t of request r, ``sent_max`` a bound
    on it. Objective values in seconds are ``pyo.value(model.obj) * time_unit``.
    """

    inst: Instance
    formulation: str
    data: ModelData
    model: pyo.ConcreteModel
    transfer: dict[tuple[int, int, int, int], pyo.Expression] = field(default_factory=dict)
    sent: dict[tuple[int, int, int], pyo.Expression] = field(default_factory=dict)
    sent_max: dict[tuple[int, int, int], float] = field(default_factory=dict)
    time_unit: float = TIME_UNIT

    @property
    def pairwise(self) -> bool:
        """Products ``O[i,j]`` per sender/receiver pair (compact, per-map; tight with serial uplink)."""
        return self.formulation != "tight" or self.inst.objective.uplink == "serial"

    @property
    def requests(self) -> tuple[int, ...]:
        return self.data.requests

    @property
    def relax(self) -> frozenset[str]:
        return self.data.relax

    def admit(self, r: int) -> pyo.Expression | int:
        """``a_r = 1 - reject_r`` with admission control, else 1."""
        return 1 - self.model.reject[r] if self.inst.objective.admission else 1

    def mapwise(self, r: int, k: int) -> bool:
        """Layer k of request r is indexed per map (``A[r,k,p,i]``): every layer in per-map, the
        layers of :meth:`ModelData.map_layers` in compact and tight (MODEL.md section 9)."""
        return self.formulation == "per-map" or k in self.data.map_layers(r)

    def map_edge(self, r: int, t: int) -> bool:
        """Transition t moves data by map identity in this model: a grouped convolution, or a
        whole-map (flow) edge between layers indexed per map (products ``w`` per map)."""
        ed = self.data.edge(r, t)
        return ed.kind == "group" or (ed.kind == "flow" and self.mapwise(r, ed.u))

    def y(self, r: int, k: int, i: int) -> pyo.Var:
        """Participation of node i in layer k (``n`` itself for a one-segment layer)."""
        if self.data.layers(r)[k].segments == 1:
            return self.model.n[r, k, i]
        return self.model.y[r, k, i]

    def families(self) -> dict[str, pyo.Block]:
        """The constraint-family Blocks present in the model."""
        return {f: self.model.component(f) for f in FAMILIES if self.model.component(f) is not None}

    def latency(self, r: int) -> pyo.Expression:
        """``latency_r = sum_k T[r,k]`` (TIME_UNIT seconds; 0 when rejected)."""
        return pyo.quicksum((self.model.T[r, k] for k in range(len(self.data.layers(r)))))

    def usage(self, r: int, i: int, resource: str) -> pyo.Expression:
        """What request r uses of node i's ``resource`` per period, in the instance's capacity units.

        ``memory``: weight bytes held, ``sum_k m_k n[r,k,i]`` (eq. 10b); ``compute``:
        multiplications, ``sum_k c_k n[r,k,i]`` (10c); ``bandwidth``: bytes sent,
        ``sum_k sent[r,k,i]`` (10d). ``0`` if i is no candidate of r. Raises ValueError for
        another resource name.
        """
        d, m = self.data, self.model
        if resource == "bandwidth":
            return pyo.quicksum((e for (q, _k, s), e in self.sent.items() if q == r and s == i))
        attr = {"memory": "weight_bytes_per_segment", "compute": "mults_per_segment"}.get(resource)
        if attr is None:
            raise ValueError(f"resource {json_text(resource)}: use one of {quoted(RESOURCES)}")
        if i not in d.cand[r]:
            return 0
        return pyo.quicksum((float(getattr(la, attr)) * m.n[r, k, i] for k, la in enumerate(d.layers(r))
                             if getattr(la, attr)))

    def set_objective(self, expr: pyo.Expression) -> None:
        """Replace the objective (minimised, TIME_UNIT seconds), e.g. latency plus priced usage."""
        self.model.obj.set_value(expr)

    def objective_seconds(self) -> float:
        """Current value of the objective, in seconds."""
        return float(pyo.value(self.model.obj)) * self.time_unit

    def to_assignment(self) -> Assignment:
        """Per-map assignment of the loaded solution (compact: maps labelled along the flows).

        Requests outside the model are ``None``; ``meta['requests']`` lists those modelled.
        """
        return owners_from_model(self)

    def set_warm_start(self, asg: Assignment) -> None:
        """Set every variable of the modelled requests to the values ``asg`` implies.

        tight: identical requests are first permuted (with their sources) and identical devices
        relabelled to satisfy the symmetry rows (same objective; :func:`optdist.milp.tight.canonical`).
        Raises ``ValueError`` naming ``asg``'s own request if no value of the variables holds it
        (:func:`optdist.milp.extract.check_holdable`; checked before that permutation).
        """
        if self.formulation == "tight":
            from optdist.milp.tight import canonical

            check_holdable(self, asg)  # the permutation would name another request
            asg = canonical(self, asg)
        set_model_values(self, asg)

    def stats(self) -> dict[str, int]:
        """Size of the model: variables (integer), constraints."""
        m = self.model
        vars_ = list(m.component_data_objects(pyo.Var, descend_into=True))
        return {
            "variables": len(vars_),
            "integer_variables": sum(1 for v in vars_ if v.is_integer()),
            "constraints": sum(1 for _ in m.component_data_objects(pyo.Constraint, active=True, descend_into=True)),
        }


def build(
    inst: Instance,
    formulation: str = "compact",
    *,
    relax: frozenset[str] = frozenset(),
    requests: Sequence[int] | None = None,
    capacity_override: Mapping[str, np.ndarray] | None = None,
    bounds: Mapping[int, np.ndarray] | None = None,
    stage_max: Mapping[int, Sequence[float]] | None = None,
    deadline: float | None = None,
    interruptible: bool = False,
    progress: bool = False,
) -> BuiltModel:
    """Build ``formulation`` for ``inst``.

    ``relax``: constraint families to leave out (names in :data:`FAMILIES`); the bounds and
    big-Ms are derived only from the families kept. ``requests``: model only these request
    indices (the others are absent; capacities stay whole). ``capacity_override``: per-node
    arrays replacing ``memory`` / ``compute_capacity`` / ``bandwidth_capacity`` (short names
    ``compute`` and ``bandwidth`` accepted), e.g. a decomposition's share per request.
    ``bounds``: request -> (L, N) upper bounds on ``n[r,k,i]`` (e.g. from bound propagation)
    that tighten ``nmax``. ``stage_max``: request -> per-layer upper bounds on ``T[r,k]``
    (seconds; ``inf`` = none), e.g. below a latency cutoff: they bound ``T`` and the
    elementwise flows (:meth:`ModelData.flow_max`; flows that cannot arrive in time are not
    created). ``deadline``: a ``time.perf_counter()`` value; building stops with
    :class:`BuildTimeout` between constraint families once it has passed. ``interruptible`` (for
    a caller that handles BuildTimeout): inside a :func:`~optdist.solvers.base.stop_on_signals`
    block (``optdist.solve``, the CLI) a SIGINT/SIGTERM stops the build at once with
    :class:`BuildInterrupted` (:func:`~optdist.solvers.base.stop_at_once`); otherwise the block
    records it and the build runs to its end. ``progress`` (``optdist export``): a build estimated
    to take :data:`~optdist.milp.run.PROGRESS_AFTER_S` or more says, before it starts, its size and
    time (:meth:`~optdist.milp.data.ModelData.size_estimate` at :data:`SLOW_BUILD_RATE` and
    :data:`BUILD_RATE`, and a formulation
    half its size or less), then each step built with the seconds so far, as INFO notes of the
    ``optdist.progress`` logger (a solve's progress lines; ``-q`` hides them): a per-map export
    of a 250-request instance built for minutes without a word.

    DAG networks (MODEL.md section 9): every formulation has one transition per edge and is
    exact; compact and tight index per map the layers where map identity matters (grouped
    convolutions, adds of whole maps from several layers: :func:`~optdist.milp.data.map_identity_layers`)
    and count the others.
    """
    if formulation not in FORMULATIONS:
        raise ValueError(unknown_formulation(formulation, FORMULATIONS))
    relax = frozenset(relax)
    unknown = sorted(relax - set(FAMILIES))
    if unknown:
        raise ValueError(f"relax: unknown constraint families {unknown}; known: {list(FAMILIES)}")

    said = None  # the build's start, where its progress is said (progress and a long build)

    def check(step: str) -> None:
        if said is not None:
            progress_log.info("%7.1fs  %s built", time.perf_counter() - said, step)
        if deadline is not None and time.perf_counter() > deadline:
            raise BuildTimeout(f"time limit reached while building the {formulation} model ({step})")

    def interrupted(signum: int) -> BuildInterrupted:
        return BuildInterrupted(f"{signal.Signals(signum).name} while building the {formulation} model: "
                                "stopped before its solver ran")

    with stop_at_once(interrupted) if interruptible else contextlib.nullcontext():
        data = model_data(inst, relax, requests, capacity_override, bounds, stage_max)
        if progress:
            from optdist.milp.run import PROGRESS_AFTER_S, progress as progress_log

            size = data.size_estimate(formulation)
            if size / SLOW_BUILD_RATE >= PROGRESS_AFTER_S:  # at the fast rate alone, a 15-s build said nothing
                said = time.perf_counter()
                progress_log.info("building the %s model of %s: ~%s variables, ~%s to %s (at ~%s to %s variables/s)%s",
                                  formulation, inst.name, f"{size:,}", _duration(size / BUILD_RATE),
                                  _duration(size / SLOW_BUILD_RATE), f"{BUILD_RATE:,}", f"{SLOW_BUILD_RATE:,}",
                                  _smaller(data, formulation, size))
        if deadline is not None:
            size = data.size_estimate(formulation)
            need, left = size / BUILD_RATE, deadline - time.perf_counter()
            if need > left:
                raise BuildTimeout(
                    f"the {formulation} model has ~{size:,} variables: building it takes ~{need:.0f} s "
                    f"(at ~{BUILD_RATE:,} variables/s), more than the {max(left, 0):.1f} s left of the time limit; "
                    "raise --time-limit or use the default formulation (auto)")
        return _build(inst, formulation, data, relax, check)


def _duration(seconds: float) -> str:
    """``seconds`` as "40 s", "12 min" or "9.1 h" (a build's time hint)."""
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def _smaller(data: ModelData, formulation: str, size: int) -> str:
    """"; --formulation tight has ~N" for the smallest other formulation of at most half ``size``
    variables (:meth:`~optdist.milp.data.ModelData.size_estimate`), else ""."""
    other = {f: data.size_estimate(f) for f in FORMULATIONS if f != formulation}
    best = min(other, key=other.get)
    return f" (--formulation {best} has ~{other[best]:,})" if 2 * other[best] <= size else ""


def _build(inst: Instance, formulation: str, data: ModelData, relax: frozenset[str],
           check: Callable[[str], None]) -> BuiltModel:
    """:func:`build`'s steps: variables, constraint families (not those in ``relax``), symmetry
    (tight), objective; ``check(step)`` after each step (raises to stop)."""
    m = pyo.ConcreteModel(name=f"{inst.name}-{formulation}")
    b = BuiltModel(inst, formulation, data, m)
    add_assignment_variables(b)
    check("variables")
    add_transfer_variables(b)
    check("transfer variables")
    add_stage_variables(b)
    for family in FAMILIES:
        if family not in relax:
            family_function(formulation, family)(b)
            check(family)
    if formulation == "tight":
        from optdist.milp.tight import add_symmetry

        add_symmetry(b)
    add_objective(b)
    return b


class BuildTimeout(TimeoutError):
    """The time limit passed while the model was being built (no solver was started); or a signal
    stopped the build (:class:`BuildInterrupted`): callers keep what they know as at a time limit."""


class BuildInterrupted(BuildTimeout):
    """SIGINT/SIGTERM stopped the build (:func:`build` with ``interruptible``); the run is
    ``interrupted``, no solver ran."""
