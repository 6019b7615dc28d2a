"""The independent evaluator: score any per-map assignment exactly per MODEL.md sections 4-6.

Plain numpy, no Pyomo and nothing from the formulations: every method's answer is re-scored
here. Transfers ``O[i,j]`` along every edge ``u -> k`` of the network (section 4; a DAG's
edges, map offsets and grouped convolutions: section 9), stage times (section 5: ``T[r,k] =
max_j (tc[r,k,j] + wait[r,k,j])``, the wait the longest over k's input edges, parallel or
serial uplink) and node usage (bandwidth summed over all edges) come from
:mod:`optdist.transfers`, the one home of those formulas. Latency of a request = ``sum_k T[r,k]``. Constraints
(section 6): memory, compute, bandwidth per node over the period, placement (first/last layer
and (10h) layers on the request's source, intermediate layers on devices), privacy (10f): a
device receives at most ``Nf`` maps of a layer before SP.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from optdist import transfers as tr
from optdist.assignment import Assignment
from optdist.instance import Instance, parse
from optdist.jsonfile import text_of
from optdist.profiles import Layer

if TYPE_CHECKING:
    from optdist.result import SolveResult

#: THE capacity rule (memory, compute, bandwidth; every node): a placement fits a capacity
#: ``cap`` when its use is at most :func:`capacity_limit` ``(cap) = cap * (1 + REL_TOL) + ABS_TOL``.
#: Why a slack at all: MILP solvers accept a point whose rows hold up to their feasibility
#: tolerance and whose integers are integral up to their integrality tolerance (~1e-6), so a
#: solver's placement may exceed a capacity by that much and must still be accepted. One rule,
#: one home: the evaluator (:func:`evaluate`), the pre-solve checks (:func:`optdist.diagnose.check`)
#: and the right-hand side of every formulation's memory / compute / bandwidth rows
#: (:func:`optdist.milp.data.model_data`) and of the decomposition's master, pricing and bound
#: capacities (:func:`optdist.milp.decomposition.bounds.capacities`) all use it, so a placement
#: the evaluator accepts is one every model can find, and a model's bound holds for it.
#: Heuristics may test ``use <= cap`` strictly: conservative, they never produce a placement
#: the evaluator refuses.
REL_TOL = 1e-6
ABS_TOL = 1e-9


def capacity_limit(cap: Any) -> Any:
    """The most a node may use of capacity ``cap`` (a number or an array): ``cap * (1 + REL_TOL)
    + ABS_TOL`` (:data:`REL_TOL`; an infinite capacity stays infinite)."""
    return cap * (1 + REL_TOL) + ABS_TOL


def share_text(used: float, capacity: float, decimals: int = 1) -> str:
    """`` (N%)``: ``used`` as a percentage of ``capacity`` with ``decimals`` decimals, for a message;
    empty for a capacity of 0, which the message names (a percentage of it is no number)."""
    return f" ({100 * used / capacity:.{decimals}f}%)" if capacity > 0 else ""


@dataclass(frozen=True)
class Violation:
    """A broken constraint: which family, where, and by how much."""

    constraint: str  # memory | compute | bandwidth | placement | privacy | admission
    node: str | None
    request: str | None
    layer: str | None
    amount: float  # how far over the limit (same unit as the limit)
    limit: float
    message: str


@dataclass
class Evaluation:
    """Scores of one assignment. Arrays are per request (nan for rejected) or per node."""

    objective: float
    latency: np.ndarray
    shared_bytes: np.ndarray
    stage_time: list[np.ndarray | None]
    stage_compute: list[np.ndarray | None]
    stage_transfer: list[np.ndarray | None]
    memory_used: np.ndarray
    compute_used: np.ndarray
    bandwidth_used: np.ndarray
    admitted: np.ndarray
    violations: list[Violation] = field(default_factory=list)

    @property
    def feasible(self) -> bool:
        return not self.violations

    @property
    def total_latency(self) -> float:
        return float(np.nansum(self.latency))

    @property
    def makespan(self) -> float:
        return float(np.nanmax(self.latency)) if self.admitted.any() else 0.0

    @property
    def total_shared_bytes(self) -> float:
        return float(np.nansum(self.shared_bytes))

    @property
    def n_rejected(self) -> int:
        return int((~self.admitted).sum())

    def breakdown(self, inst: Instance, r: int | str):  # -> pandas.DataFrame
        """Per-stage time of request ``r`` (its id, e.g. ``"r5"``, or its 0-based index in the
        instance): compute and transfer of the critical receiver; no rows for a rejected request.
        A request the instance does not have is a ValueError naming the valid range
        (:func:`request_index`)."""
        import pandas as pd

        _check_inst(inst, "breakdown", '"r1"')
        r = request_index(inst, r)
        if self.stage_time[r] is None:
            return pd.DataFrame(columns=["layer", "T", "compute", "transfer"])
        return pd.DataFrame(
            {
                "layer": [la.name for la in inst.profile(r).layers],
                "T": self.stage_time[r],
                "compute": self.stage_compute[r],
                "transfer": self.stage_transfer[r],
            }
        )

    def stages(self, inst: Instance, requests: str | int | list | tuple = "all") -> dict:  # -> {id: DataFrame}
        """:meth:`breakdown` of each request of ``requests`` by id, in the order given (each once):
        ``"all"`` (every request of the instance), ids joined by commas (``"r5,r7"``, what ``optdist
        evaluate --stages`` takes) or a list of ids or 0-based indices (:func:`stage_requests`)."""
        _check_inst(inst, "stages", '"r1"')
        return {inst.request_ids[r]: self.breakdown(inst, r) for r in stage_requests(inst, requests)}

    def summary(self, inst: Instance) -> dict:
        return {
            "objective": self.objective,
            "total_latency_s": self.total_latency,
            "makespan_s": self.makespan,
            "shared_bytes": self.total_shared_bytes,
            "rejected": self.n_rejected,
            "feasible": self.feasible,
            "violations": len(self.violations),
        }


def _check_inst(inst: Any, method: str, example: str) -> None:
    """TypeError for an :class:`Evaluation` method's first argument that is no :class:`Instance`
    (``res.evaluation.stages("r1")``, the instance left out: it was an AttributeError, "'str' object
    has no attribute 'n_requests'")."""
    if not isinstance(inst, Instance):
        raise TypeError(f"Evaluation.{method}: its first argument is the instance the placement was scored on, "
                        f"got {_shown(inst)} (fix: e.g. res.evaluation.{method}(inst, {example}), with inst = "
                        "optdist.load_instance(path))")


def request_range(inst: Instance) -> str:
    """The instance's request ids as a range for an error: ``"its 20 requests, r1 ... r20"`` (in
    file order; all of them where there are at most 3)."""
    ids = inst.request_ids
    shown = ", ".join(ids) if len(ids) <= 3 else f"{ids[0]} ... {ids[-1]}"
    return f"its {len(ids)} request{'s' if len(ids) != 1 else ''}, {shown}"


def request_index(inst: Instance, request: int | str) -> int:
    """The 0-based index of ``request`` in ``inst``: a request id (``"r5"``), or an index in
    ``[0, n_requests)`` as it is (a negative one is refused, not counted from the end). Anything
    else is a ValueError naming the instance and the valid range (and the id meant, where one
    differs from it only in case)."""
    if isinstance(request, (int, np.integer)) and not isinstance(request, bool):
        if 0 <= request < inst.n_requests:
            return int(request)
        raise ValueError(f"request index {request}: {text_of(inst.name)} has requests 0..{inst.n_requests - 1} "
                         f"({request_range(inst)}) (fix: give an index in that range, or a request id)")
    if isinstance(request, str) and request in inst.request_ids:
        return inst.request_ids.index(request)
    close = [rid for rid in inst.request_ids if rid.casefold() == str(request).strip().casefold()]
    meant = f"did you mean {text_of(close[0])}? " if close else ""
    raise ValueError(f"request {text_of(request)}: no such request in {text_of(inst.name)} ({request_range(inst)}) "
                     f"(fix: {meant}give request ids of the instance, e.g. {text_of(inst.request_ids[0])})")


def stage_requests(inst: Instance, requests: str | int | list | tuple | range | np.ndarray) -> list[int]:
    """The indices of the requests ``requests`` names, in its order, each once: ``"all"`` (every
    request), ids joined by commas (``"r5,r7"``; spaces around them ignored; one id with a comma in
    it is taken whole), one id or index, or a list/tuple/range/numpy array of ids or indices. An
    empty list, or a request the instance does not have, is a ValueError naming the valid range
    (:func:`request_index`); another type (None, 1.5, a set) is a TypeError saying what is taken
    (was "'NoneType' object is not iterable"; a range or numpy array, read before, is read again)."""
    if isinstance(requests, (int, np.integer)):
        requests = [requests]
    if isinstance(requests, (range, np.ndarray)):  # np.flatnonzero(...), range(3)
        requests = np.atleast_1d(requests).tolist()
    if not isinstance(requests, (str, list, tuple)):
        raise TypeError(f"requests is {_shown(requests)}; it takes \"all\", request ids joined by commas, one id or "
                        f"0-based index, or a list of them (fix: e.g. {text_of(inst.request_ids[0])}, 0 or "
                        f"[{', '.join(map(text_of, inst.request_ids[:2]))}])")
    if isinstance(requests, str):
        if requests.strip() == "all":
            return list(range(inst.n_requests))
        if requests in inst.request_ids:  # one id with a comma in it
            return [inst.request_ids.index(requests)]
        requests = [w.strip() for w in requests.split(",")]
        if any(not w for w in requests):
            raise ValueError(f"requests {text_of(','.join(requests))}: an empty request id (fix: request ids joined by "
                             f"commas, e.g. {text_of(','.join(inst.request_ids[:2]))}, or \"all\")")
    out: list[int] = []
    for w in requests:
        r = request_index(inst, w)
        if r not in out:
            out.append(r)
    if not out:
        raise ValueError(f"no requests named (fix: request ids of {text_of(inst.name)}, e.g. "
                         f"{text_of(inst.request_ids[0])}, or \"all\")")
    return out


def violation_families(inst: Instance, violations: list[Violation]) -> list[str]:
    """The family of each violation as methods name the ones they make by design
    (``extra["not_modelled"]``) and the violation list groups them: its constraint, a placement
    one split into ``placement:ends`` (the first or last layer off its source, eqs. 8-9),
    ``placement:10h`` (another layer (10h) pins to the source runs elsewhere) and
    ``placement:source`` (an intermediate layer on a source)."""
    pos = {rid: r for r, rid in enumerate(inst.request_ids)}
    out = []
    for v in violations:
        r = pos.get(v.request) if v.constraint == "placement" else None
        if r is None:
            out.append(v.constraint)
            continue
        layers = inst.profile(r).layers
        k = next((k for k, la in enumerate(layers) if la.name == v.layer), None)
        # the ends are pinned by eqs. 8-9, which every method models: never a (10h) pin it may not model
        out.append("placement:source" if k is None or not inst.limit(r).on_source[k] else
                   "placement:ends" if k in (0, len(layers) - 1) else "placement:10h")
    return out


#: how the violation list names a family (:func:`violation_families`) that is not a constraint's name
FAMILY_NAMES = {"placement:ends": "placement (first/last layer pins)", "placement:10h": "placement ((10h) pins)",
                "placement:source": "placement (layers on a source)"}


def violation_lines(inst: Instance, violations: list[Violation], all_in: str, per_kind: int = 4) -> list[str]:
    """The violation list as printed: a count per kind (:func:`violation_families`), then for each
    kind its first ``per_kind`` distinct lines, identical ones once with the requests they concern
    (e.g. one device over a layer's cap in 7 requests), and "... and N more" where some are left
    out, with where the whole list is (``all_in``, e.g. the --out file's "violation_list")."""
    if not violations:
        return []
    kinds: dict[str, dict[tuple[str, str], list[Violation]]] = {}  # kind -> (constraint, message) -> its violations
    for v, kind in zip(violations, violation_families(inst, violations)):
        kinds.setdefault(kind, {}).setdefault((v.constraint, v.message), []).append(v)
    counts = ", ".join(f"{sum(map(len, g.values()))} {FAMILY_NAMES.get(k, k)}" for k, g in kinds.items())
    out = [f"{len(violations)} violation(s): {counts}" if len(kinds) > 1 else
           f"{len(violations)} {FAMILY_NAMES.get(next(iter(kinds)), next(iter(kinds)))} violation(s):"]
    hidden = 0
    for kind, groups in kinds.items():
        for (constraint, message), same in list(groups.items())[:per_kind]:
            out.append(f"  [{constraint}] {message}{_requests_of(same)}")
        more = sum(len(same) for same in list(groups.values())[per_kind:])
        if more:
            out.append(f"  ... and {more} more {FAMILY_NAMES.get(kind, kind)} violation(s)")
        hidden += more
    if hidden:
        out.append(f"  ({hidden} not shown; all {len(violations)} are in {all_in})")
    return out


def _requests_of(same: list[Violation]) -> str:
    """`` (7 requests: r1, r2, r3, r4, r5 and 2 more)`` or `` (request r1)``: the requests of
    identical violations that their message does not name (a capacity one names none), or ""."""
    ids = list(dict.fromkeys(v.request for v in same if v.request is not None and f"request {v.request} " not in v.message))
    if not ids:
        return ""
    shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
    return f" ({len(ids)} requests: {shown})" if len(ids) > 1 else f" (request {shown})"


def transfers(
    prev: Layer, nxt: Layer, a_prev: np.ndarray, a_next: np.ndarray, n_nodes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sparse ``O[i,j]`` from layer ``prev`` to layer ``nxt``: (senders, receivers, bytes), i != j.

    :func:`optdist.transfers.transfer_list` of the chain edge ``prev -> nxt``.
    """
    return tr.transfer_list(tr.Edge.between(prev, nxt), a_prev, a_next, n_nodes)


def dense_transfers(prev: Layer, nxt: Layer, a_prev: np.ndarray, a_next: np.ndarray, n_nodes: int) -> np.ndarray:
    """``O[r,i,j]`` for a block of requests: ``a_prev`` (R, P_prev), ``a_next`` (R, P_next) owners.

    :func:`optdist.transfers.transfer_block` of the chain edge ``prev -> nxt``; zero diagonal.
    """
    return tr.transfer_block(tr.Edge.between(prev, nxt), a_prev, a_next, n_nodes)


_BLOCK_CELLS = 4_000_000  # cells per request block: R*N*N (a transfer block), R*L*N (stage arrays), R*S (owners)


def as_instance(instance: Any, call: str = "optdist.solve") -> Instance:
    """``instance`` as an :class:`Instance`: one as it is, a file path (str or ``os.PathLike``)
    loaded (:func:`optdist.instance.load_instance`), or an instance document (a dict, as
    :func:`optdist.generate.generate` returns it) validated (:func:`optdist.instance.parse`;
    file names in it are relative to the current folder). Anything else is a TypeError naming
    ``call``, what it got, what it takes and the fix. Before, ``solve(None)`` raised Python's
    "expected str, bytes or os.PathLike object" and ``evaluate(path, asg)`` an AttributeError."""
    if isinstance(instance, Instance):
        return instance
    if isinstance(instance, (str, os.PathLike)):
        from optdist.instance import load_instance

        return load_instance(instance)
    if isinstance(instance, dict):
        return parse(instance, "instance document (a dict)")
    raise TypeError(f"{call}: the instance is {_shown(instance)}; it takes an Instance, the path of an instance file "
                    f"(str or pathlib.Path) or an instance document (a dict, as optdist.generate returns) (fix: e.g. "
                    f"{call}(\"instances/paper/lenet-3x10-tau0.6.json\"), or {call}(optdist.load_instance(path)))")


def as_assignment(inst: Instance, placement: Any, call: str = "optdist.evaluate", use: str | None = None) -> Assignment:
    """``placement`` as an :class:`Assignment` of ``inst``: one as it is, a
    :class:`~optdist.result.SolveResult`'s ``assignment`` (ValueError if it has none), or the
    placement in a file (str or ``os.PathLike``: an ``optdist-assignment/1`` file or an
    ``optdist-result/1`` one, read as the CLI reads them,
    :func:`optdist.commands.core.load_placement`; ``use`` says what it is taken as). One made for
    another instance or another version of ``inst`` (a SolveResult's ``instance`` or
    ``instance_digest``, a file's ``instance`` or ``instance_digest`` field) whose ids fit is taken
    with a warning naming both instances or content digests (the evaluator scores it on ``inst``
    all the same). Anything else is a TypeError naming ``call``, what it got, what it takes and the fix."""
    if isinstance(placement, Assignment):
        return _of_kind(placement, call)  # its fit is checked as it is scored (evaluate: no second pass) or by fitted
    from optdist.result import SolveResult

    if isinstance(placement, SolveResult):
        if placement.assignment is None:
            raise ValueError(f"{call}: this SolveResult ({placement.method} on {placement.instance}) has no assignment "
                             f"(termination {placement.termination}), so there is no placement to take (fix: give the "
                             "result of a run that found one, an Assignment, or an assignment or result file)")
        misfit = _misfit(inst, placement.assignment, placement.node_ids)
        if placement.instance == inst.name and misfit:  # e.g. a result of the instance before with_spec(devices=...)
            raise ValueError(f"{call}: the SolveResult's placement does not fit {text_of(inst.name)}: {misfit} (fix: "
                             "give a result of this instance, e.g. optdist.solve(inst); a result made before "
                             "with_spec(...) changed the nodes or requests fits the instance it was made for only)")
        if placement.instance != inst.name:  # ids that fit are no proof that it is the same problem
            made = f"the SolveResult was made for instance {text_of(placement.instance)}, not {text_of(inst.name)}"
            if misfit:
                raise ValueError(f"{call}: {made}, and {misfit} (fix: give a result of {text_of(inst.name)}, e.g. "
                                 f"optdist.solve(inst), or score this result on the instance it was made for)")
            logging.getLogger("optdist").warning("%s: %s; it is %s (fix: check you gave the right result)", call, made,
                                                 use or f"scored on {text_of(inst.name)}")
        elif placement.instance_digest not in (None, ours := inst.content_digest()):  # same name, other content
            logging.getLogger("optdist").warning(
                "%s: the SolveResult was made for another version of instance %s (content digest %s, this one's %s: "
                "their content differs); it is %s (fix: check you gave the right result and instance; where %s was "
                "edited on purpose, e.g. other capacities, this is expected)", call, text_of(inst.name),
                placement.instance_digest[:12], ours[:12], use or f"scored on {text_of(inst.name)}", text_of(inst.name))
        return placement.assignment
    if isinstance(placement, (str, os.PathLike)):
        from optdist.commands.core import load_placement

        return load_placement(inst, Path(placement), use=use)
    raise TypeError(f"{call}: the placement is {_shown(placement)}; it takes an Assignment, a SolveResult (its "
                    "assignment) or the path of an assignment or result file (str or pathlib.Path) (fix: e.g. "
                    f"{call}(inst, optdist.solve(inst, method=\"greedy\")), or {call}(inst, \"result.json\"))")


def _of_kind(asg: Assignment, call: str) -> Assignment:
    """``asg`` where its ``owners`` are of the kind an Assignment holds: a list with, per request,
    None (rejected) or a list of 1-D numpy arrays of integer node indices, one per layer; else a
    TypeError naming ``call``, the entry, what it is and the fix. An Assignment made in code with
    Python lists was an AttributeError ("'list' object has no attribute 'shape'"), with float
    arrays numpy's cast TypeError, both deep in the evaluator."""
    def kind() -> str | None:
        if not isinstance(asg.owners, (list, tuple)):
            return f"owners is {_shown(asg.owners)}, not a list with one entry per request"
        for r, own in enumerate(asg.owners):
            if own is not None and not isinstance(own, (list, tuple)):
                return f"owners[{r}] is {_shown(own)}, not None (rejected) or a list with one array per layer"
            for k, a in enumerate(own or ()):
                if not (isinstance(a, np.ndarray) and a.ndim == 1 and a.dtype.kind in "iu" and np.can_cast(a.dtype, np.int64)):
                    got = f"a numpy array of dtype {a.dtype} and shape {a.shape}" if isinstance(a, np.ndarray) else _shown(a)
                    return f"owners[{r}][{k}] is {got}, not a 1-D numpy array of integer node indices (of a dtype that casts to int64 safely: not uint64)"
        return None

    if wrong := kind():
        raise TypeError(f"{call}: the Assignment's {wrong} (fix: give each placed request a list with one numpy "
                        "array of integer node indices per layer, one index per segment, e.g. "
                        "np.asarray(owners, dtype=np.int64), and None for a rejected one; "
                        "Assignment.from_counts(inst, counts) builds one from per-layer counts)")
    return asg


def fitted(inst: Instance, asg: Assignment, call: str) -> Assignment:
    """``asg`` where it fits ``inst`` (its requests, layers, segments and node indices), else the
    ValueError of :func:`_not_of` for ``call`` (e.g. ``optdist.solve(warm_start=...)``); owners of
    another kind are the TypeError of :func:`_of_kind`."""
    misfit = _misfit(inst, _of_kind(asg, call))
    if misfit:
        raise _not_of(inst, misfit, call)
    return asg


def _not_of(inst: Instance, misfit: str, call: str) -> ValueError:
    """The error for an Assignment given to ``call`` that does not fit ``inst`` (``misfit``: how,
    :func:`_misfit`'s words): names the instance and the fix. It was "request r1: 9 layers
    assigned, micro has 4", naming neither."""
    return ValueError(f"{call}: the Assignment does not fit instance {text_of(inst.name)}: {misfit} (fix: an "
                      "Assignment holds the node indices and layer lists of the instance it was made for; give "
                      f"a placement of {text_of(inst.name)}, e.g. optdist.solve(inst).assignment or "
                      "Assignment.load(inst, its file), or use this one with the instance it was made for)")


def defended_scoring(inst: Instance, placement: Any) -> Instance:
    """The instance ``placement`` is scored on by :func:`evaluate`, by the rule of ``optdist
    evaluate`` (:func:`optdist.commands.core._defended_or_not`): a result of ``--method defended``
    (a :class:`~optdist.result.SolveResult` or a result file's path) is scored on the defended
    instance of the defence it records in its ``extra``
    (:func:`optdist.defences.placement.rescored_instance`, the same checks: ValueError naming the
    field and the fix where it does not match ``inst``); an :class:`Assignment` or another
    placement on ``inst`` as it is (an assignment does not say which defence protects it)."""
    from optdist.result import SolveResult

    if isinstance(placement, SolveResult):
        doc: Any = {"format": "optdist-result/1", "method": placement.method, "extra": placement.extra}
        where = f"the SolveResult ({placement.method} on {text_of(placement.instance)})"
    elif isinstance(placement, (str, os.PathLike)):
        from optdist.commands.core import read_placement

        doc, where = read_placement(Path(placement)), str(placement)
    else:
        return inst
    if not (isinstance(doc, dict) and doc.get("format") == "optdist-result/1" and doc.get("method") == "defended"):
        return inst
    from optdist.defences.placement import distribution_alone, rescored_instance

    if not inst.spec.defence:
        if distribution_alone(doc.get("extra")):  # what defended chooses without an entry: nothing is ignored
            return inst
        logging.getLogger("optdist").warning(
            "%s: the defence it records is ignored: %s has no defence entry, so it is scored under its plain limits "
            "(fix: evaluate on the instance the result was solved on)", where, text_of(inst.name))
        return inst
    return rescored_instance(inst, doc.get("extra"), where)


def _misfit(inst: Instance, asg: Assignment, ids: tuple[str, ...] | None = None) -> str | None:
    """How ``asg`` does not fit ``inst`` (None where it does): its request count, a placed
    request's layers or segments, or a node index past ``inst``'s nodes (an assignment holds node
    indices, not ids: one of an instance with more nodes). The one check of a SolveResult taken as
    a placement (:func:`as_assignment`: :func:`evaluate` and ``solve(warm_start=...)``); before, a
    result of a larger instance gave "lenet layer conv1: node index out of range 0..4"."""
    layers_of = [None if own is None else inst.profile(r).layers for r, own in enumerate(asg.owners[:inst.n_requests])]
    if len(asg.owners) != inst.n_requests:
        return (f"its placement does not fit this one's requests and layers (it places {len(asg.owners)} request"
                f"{'s' if len(asg.owners) != 1 else ''}, this one has {inst.n_requests})")
    for r, (own, layers) in enumerate(zip(asg.owners, layers_of)):
        if own is None:
            continue
        rid, cnn = text_of(inst.request_ids[r]), text_of(inst.request_cnn[r])
        if len(own) != len(layers):
            return (f"its placement does not fit this one's requests and layers (request {rid}: {len(own)} layers "
                    f"assigned, its network {cnn} has {len(layers)} here)")
        for a, la in zip(own, layers):
            if len(a) != la.segments:
                return (f"its placement does not fit this one's requests and layers (request {rid} layer "
                        f"{text_of(la.name)}: {len(a)} owners for {la.segments} segments here)")
    for r, (own, layers) in enumerate(zip(asg.owners, layers_of)):
        for a, la in zip(own or (), layers or ()):
            bad = a[(a < 0) | (a >= inst.n_nodes)]
            if bad.size:  # named by id (``ids``: its instance's), as the CLI names a node of a file
                n = int(bad[0])
                node = (f"node index {n}" if ids is None or not 0 <= n < len(ids) else
                        f"node {text_of(ids[n])} of its instance (index {n} there)" if ids[n] in inst.node_ids else
                        f"unknown node id {text_of(ids[n])} (index {n} of its instance)")
                return (f"its placement does not fit this one's nodes: it puts layer {la.name} of request "
                        f"{text_of(inst.request_ids[r])} on {node}, and this one has nodes 0..{inst.n_nodes - 1} "
                        f"({inst.node_ids[0]} ... {inst.node_ids[-1]}; an assignment holds node indices, not ids)")
    return None


def _shown(value: Any) -> str:
    """``value`` in an error: None, or its type and a short repr."""
    if value is None:
        return "None"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


def evaluate(inst: Instance | str | Path | dict, asg: Assignment | SolveResult | str | Path) -> Evaluation:
    """Score ``asg`` on ``inst``: latency per request and stage, shared data, node use, violations.

    ``inst``: an :class:`Instance`, an instance file's path or an instance document
    (:func:`as_instance`); ``asg``: an :class:`Assignment`, a
    :class:`~optdist.result.SolveResult` (its assignment) or an assignment or result file's path,
    read as ``optdist evaluate`` reads it (:func:`as_assignment`). Another type, or an Assignment whose
    owners are no numpy integer arrays (:func:`_of_kind`), is a TypeError naming what is taken.

    Requests of one CNN are scored together in blocks: the owners of every segment of a block
    in one (R, S) array, their counts per layer and node (R, L, N) at once, a dense ``O[r,i,j]``
    per edge (:func:`optdist.transfers.transfer_block`), the receivers' waits per layer, and the
    stage times of every (request, layer) at the end. Byte and usage sums are of integers (exact
    in float64, any order); times are summed per request in stage order, as one request alone.
    Raises ValueError when an assignment does not fit the instance (request, layer or segment
    count, node index out of range). A result of ``--method defended`` (SolveResult or result
    file) is scored under the defence it chose, as ``optdist evaluate`` scores it
    (:func:`defended_scoring`).
    """
    inst = defended_scoring(as_instance(inst, "optdist.evaluate"), asg)
    asg = as_assignment(inst, asg)
    N, R, D = inst.n_nodes, inst.n_requests, inst.n_devices
    if len(asg.owners) != R:
        raise _not_of(inst, _misfit(inst, asg) or f"{len(asg.owners)} requests", "optdist.evaluate")
    rho = inst.rate
    serial = inst.objective.uplink == "serial"
    mem, comp, bw = np.zeros(N), np.zeros(N), np.zeros(N)
    latency, shared = np.full(R, np.nan), np.full(R, np.nan)
    st: list[np.ndarray | None] = [None] * R
    sc: list[np.ndarray | None] = [None] * R
    stt: list[np.ndarray | None] = [None] * R
    viol: list[Violation] = []
    ids = inst.node_ids
    is_src = np.arange(N) >= D

    groups: dict[str, list[int]] = {}
    for r in range(R):
        rid = inst.request_ids[r]
        own = asg.owners[r]
        if own is None:
            if not inst.objective.admission:
                viol.append(Violation("admission", None, rid, None, 1, 0, f"request {rid} is rejected but admission control is off"))
            continue
        prof = inst.profile(r)
        if len(own) != prof.n_layers:
            raise _not_of(inst, _misfit(inst, asg) or f"request {rid}: {len(own)} layers", "optdist.evaluate")
        for k, la in enumerate(prof.layers):
            a = own[k]
            if a.shape != (la.segments,):
                raise _not_of(inst, _misfit(inst, asg) or f"request {rid} layer {la.name}: {a.shape}", "optdist.evaluate")
        groups.setdefault(inst.request_cnn[r], []).append(r)

    for cnn, members in groups.items():
        prof, lim = inst.profiles[cnn], inst.limits[cnn]
        L, into = prof.n_layers, tr.edges(prof)
        block = max(1, _BLOCK_CELLS // max(N * N, L * N, prof.n_segments))  # requests per block
        seconds = inst.segment_seconds(members[0])  # (L, N) per CNN
        start = np.cumsum([0] + [la.segments for la in prof.layers])  # layer k: segments start[k]:start[k+1]
        layer_of = np.repeat(np.arange(L), np.diff(start))  # (S,) the layer of every segment
        for b0 in range(0, len(members), block):
            rs = np.array(members[b0 : b0 + block])
            B = len(rs)
            src = inst.request_source[rs]
            sh = np.zeros(B)
            # (B, S): the owner of every segment of every layer
            owners = np.concatenate([a for r in rs for a in asg.owners[r]]).reshape(B, -1)
            if owners.min() < 0 or owners.max() >= N:
                la = prof.layers[layer_of[np.nonzero((owners < 0) | (owners >= N))[1].min()]]
                raise _not_of(inst, _misfit(inst, asg) or f"{cnn} layer {la.name}: a node index out of range 0..{N - 1}",
                              "optdist.evaluate")
            # counts (B, L, N) of every layer at once: layer k's owner i counted as "node" k * N + i
            cnt = tr.counts(owners + layer_of * N, L * N).reshape(B, L, N)
            own = [owners[:, start[k] : start[k + 1]] for k in range(L)]  # (B, P_k) views
            tc = cnt * seconds  # (B, L, N): n_j c_k / e_j, or measured (section 9)
            wait = np.zeros((B, L, N))  # when owner j of layer k has all its input
            for k, (la, n_used) in enumerate(zip(prof.layers, cnt.sum(axis=0))):
                m_used, c_used = tr.layer_usage(la, n_used)
                mem += m_used
                comp += c_used
                for edge in into[k]:
                    if tr.moves_nothing(edge, own[edge.u], own[k]):
                        continue  # O = 0: no bytes sent, no wait
                    O = tr.transfer_block(edge, own[edge.u], own[k], N, cnt[:, edge.u], cnt[:, k])
                    sent = tr.bytes_sent(O)
                    bw += sent.sum(axis=0)
                    sh += sent.sum(axis=1)
                    wait[:, k] = np.maximum(wait[:, k], tr.incoming_wait(O, rho, serial))
                viol += _layer_violations(inst, rs, src, la, k, lim, cnt[:, k], is_src, D, ids)
            # stage times of every (request, layer) row at once, and the critical owner's compute and wait
            flat, row = (B * L, N), np.arange(B * L)
            tc, wait = tc.reshape(flat), wait.reshape(flat)
            T, c = tr.stage_times(cnt.reshape(flat), tc, wait)
            T, Tc, Tt = T.reshape(B, L), tc[row, c].reshape(B, L), wait[row, c].reshape(B, L)
            for q, r in enumerate(rs):
                st[r], sc[r], stt[r] = T[q], Tc[q], Tt[q]
            latency[rs] = T.sum(axis=1)
            shared[rs] = sh

    for name, used, capa in (
        ("memory", mem, inst.memory),
        ("compute", comp, inst.compute_capacity),
        ("bandwidth", bw, inst.bandwidth_capacity),
    ):
        for n in np.flatnonzero(used > capacity_limit(capa)):
            viol.append(Violation(name, ids[n], None, None, float(used[n] - capa[n]), float(capa[n]), f"{ids[n]} uses {used[n]:.6g} of {name}, capacity {capa[n]:.6g}{share_text(used[n], capa[n])}"))

    admitted = asg.admitted
    obj = inst.objective
    base = float(np.nanmax(latency)) if (obj.kind == "makespan" and admitted.any()) else float(np.nansum(latency))
    objective = base + obj.shared_weight * float(np.nansum(shared))
    if obj.admission:
        objective += inst.rejection_penalty() * int((~admitted).sum())
    return Evaluation(objective, latency, shared, st, sc, stt, mem, comp, bw, admitted, viol)


def _layer_violations(inst, rs, src, la, k, lim, cnt, is_src, D, ids) -> list[Violation]:
    """Placement (eqs. 8, 9, 10h) and privacy (10f) violations of layer k for requests ``rs``."""
    out: list[Violation] = []
    if lim.on_source[k]:
        bad = cnt > 0
        bad[np.arange(len(rs)), src] = False
        for q, n in zip(*np.nonzero(bad)):
            out.append(Violation("placement", ids[n], inst.request_ids[rs[q]], la.name, float(cnt[q, n]), 0, f"{la.name} must run on the request's source {ids[src[q]]} (eqs. 8, 9, 10h) but {ids[n]} owns {cnt[q, n]} segment(s)"))
        return out
    for q, n in zip(*np.nonzero((cnt > 0) & is_src[None, :])):
        out.append(Violation("placement", ids[n], inst.request_ids[rs[q]], la.name, float(cnt[q, n]), 0, f"source {ids[n]} computes intermediate layer {la.name} (sources only run the first and last layers)"))
    if lim.device_cap[k] is not None:
        nf = lim.nf[k]
        got = cnt[:, :D] if la.kind != "fc" else (cnt[:, :D] > 0) * la.in_maps
        for q, n in zip(*np.nonzero(got > nf)):
            out.append(Violation("privacy", ids[n], inst.request_ids[rs[q]], la.name, float(got[q, n] - nf), float(nf), f"{ids[n]} receives {got[q, n]} maps of {la.name} but Nf = {nf} at tau {lim.tau} (10f)"))
    return out
