"""Typed results shared by every method (MILP, heuristics, RL).

The gap is optdist's own, bounded definition (Berthold's primal-dual convention):
``gap = |primal - bound| / max(|primal|, |bound|, eps)``; 0 when equal, 1 when the signs
differ, ``None`` without a primal or a bound. Every returned assignment is re-scored by the
independent evaluator (:func:`finalize`), never trusted from the method itself.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from optdist.assignment import Assignment, check_instance_field, made_for_warning
from optdist.evaluate import Evaluation, _misfit, evaluate
from optdist.instance import Instance
from optdist.io import atomic_write_json, restore_non_finite
from optdist.jsonfile import json_text, text_of

GAP_EPS = 1e-9
AGREE_RTOL = 1e-6  # claimed objective vs evaluator (MODEL.md section 7)


class Termination(StrEnum):
    """Why a method stopped."""

    OPTIMAL = "optimal"  # proven within the requested gap
    FEASIBLE = "feasible"  # a solution without an optimality proof (heuristics, RL)
    TIME_LIMIT = "time_limit"
    ITERATION_LIMIT = "iteration_limit"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    NO_SOLUTION = "no_solution"  # stopped without any solution
    INTERRUPTED = "interrupted"  # stopped by the user (SIGINT/SIGTERM); any incumbent is kept, with its bound
    VIOLATED = "violated"  # the returned placement breaks constraints (the evaluator's violations say which)
    ERROR = "error"


#: terminations that claim a usable placement: never kept for one the evaluator finds infeasible
CLAIMS_FEASIBLE = frozenset({Termination.OPTIMAL, Termination.FEASIBLE})


def gap(primal: float | None, bound: float | None) -> float | None:
    """``|p - d| / max(|p|, |d|, eps)``; 1 if the signs differ; ``None`` if either is missing/inf."""
    if primal is None or bound is None or not math.isfinite(primal) or not math.isfinite(bound):
        return None
    if primal == bound:
        return 0.0
    if primal * bound < 0:
        return 1.0
    return abs(primal - bound) / max(abs(primal), abs(bound), GAP_EPS)


def closes_gap(objective: float | None, bound: float | None, mip_gap: float, abs_gap: float = 0.0) -> bool:
    """Whether ``bound`` proves ``objective`` (both s, minimisation) optimal within the requested
    relative ``mip_gap`` (:func:`gap`; at least :data:`GAP_EPS`, with a relative slack of 1e-6 for
    rounding) or within ``abs_gap`` (s, the solver's own absolute tolerance: ``objective - bound``
    at most it, as for a bound above the objective). False without an objective or a bound. The
    one home of the rule for the exact engine's ``optimal``: the decomposition's termination
    (:func:`optdist.milp.decomposition.orchestrate._settle`) and a run a limit stopped
    (:func:`finalize`)."""
    g = gap(objective, bound)
    if g is None:
        return False
    return g <= max(mip_gap, GAP_EPS) * (1 + 1e-6) or objective - bound <= abs_gap * (1 + 1e-6)


def within_rounding(bound: float, objective: float | None) -> float:
    """``bound`` (seconds), or ``objective`` (seconds, a feasible point's) where ``bound`` exceeds
    it by no more than the solvers' tolerance (relative gap at most :data:`AGREE_RTOL`: rounding,
    as :func:`optdist.milp.decomposition.guard.cap_bound` lets stand silently). A bound further
    above is a false claim and is returned as it is, so that the run's bound carries it to
    :func:`finalize`, which caps it at the run's placement and records the cap (the one home of
    the run's cap). None or a non-finite ``objective``: ``bound``. Used by the per-class solves
    of the decomposition and by the solver adapters that read a bound from a log (CBC, GLPK)."""
    if objective is None or not math.isfinite(objective) or not bound > objective:
        return bound
    return objective if (gap(objective, bound) or 0.0) <= AGREE_RTOL else bound


@dataclass
class SolveResult:
    """What any method returns: termination, objective and bound, timing, assignment, scores."""

    instance: str
    method: str
    termination: Termination
    objective: float | None = None  # as claimed by the method / solver
    bound: float | None = None  # proven lower bound (minimisation), if any
    wall_time: float = 0.0
    solver: str | None = None
    formulation: str | None = None
    nodes: int | None = None
    assignment: Assignment | None = None
    evaluation: Evaluation | None = None
    options: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    scored_on: Instance | None = field(default=None, repr=False)  # a method's own constraints (e.g. a defence)
    #: the node ids of the instance it was solved on (:func:`finalize`): its assignment holds node indices, and
    #: a misfit on another instance names the node by id (:func:`optdist.evaluate.as_assignment`)
    node_ids: tuple[str, ...] | None = field(default=None, repr=False, compare=False)
    #: the :meth:`~optdist.instance.Instance.content_digest` of the instance it was solved on (:func:`finalize`; a
    #: loaded result: its file's ``instance_digest``, None in a file written before it was): a result taken as the
    #: placement of another version of that instance is warned about (:func:`optdist.evaluate.as_assignment`)
    instance_digest: str | None = field(default=None, repr=False, compare=False)

    @property
    def gap(self) -> float | None:
        return gap(self.objective, self.bound)

    @property
    def has_solution(self) -> bool:
        return self.assignment is not None

    @property
    def evaluator_objective(self) -> float | None:
        return None if self.evaluation is None else self.evaluation.objective

    def summary(self) -> dict:
        ev = self.evaluation
        return {
            "instance": self.instance,
            "method": self.method,
            "solver": self.solver,
            "formulation": self.formulation,
            "termination": str(self.termination),
            "objective": self.objective,
            "bound": self.bound,
            "gap": self.gap,
            "wall_time_s": self.wall_time,
            "nodes": self.nodes,
            "evaluator_objective": self.evaluator_objective,
            "feasible": None if ev is None else ev.feasible,
            "violations": None if ev is None else len(ev.violations),
            "rejected": None if ev is None else ev.n_rejected,
            "total_latency_s": None if ev is None else ev.total_latency,
            "shared_bytes": None if ev is None else ev.total_shared_bytes,
        }

    def to_json(self, inst: Instance) -> dict:
        """The ``optdist-result/1`` document of this result, its requests and node use named by
        ``inst``'s ids. ``instance_digest`` (its own and its assignment's) is the content digest of
        the instance it was solved on (:attr:`instance_digest`: set by :func:`finalize`, or read by
        :meth:`load`), ``inst``'s where unknown: a result saved with an edited version of that
        instance still says it was made for the other one, so reading it there warns."""
        digest = self.instance_digest or inst.content_digest()
        out = {"format": "optdist-result/1", **self.summary(), "instance_digest": digest,
               "options": self.options, "extra": self.extra}
        ev = self.evaluation
        if ev is not None:
            out["requests"] = {
                inst.request_ids[r]: None
                if ev.stage_time[r] is None
                else {
                    "latency_s": float(ev.latency[r]),
                    "shared_bytes": float(ev.shared_bytes[r]),
                    "stages": ev.breakdown(inst, r).to_dict(orient="records"),
                }
                for r in range(inst.n_requests)
            }
            out["node_use"] = {
                nid: {
                    "memory": float(ev.memory_used[n]),
                    "compute": float(ev.compute_used[n]),
                    "bandwidth": float(ev.bandwidth_used[n]),
                }
                for n, nid in enumerate(inst.node_ids)
            }
            out["violation_list"] = [v.__dict__ for v in ev.violations]
        if self.assignment is not None:
            out["assignment"] = {**self.assignment.to_json(inst), "instance_digest": digest}
        return out

    def save(self, inst: Instance, path: str | Path | None = None, *, force: bool = False) -> Path:
        """Write :meth:`to_json` to ``path`` (``optdist-result/1``, atomically) as strict JSON: a
        value JSON cannot hold (an infinite bound, an ``extra`` log's ``stage_bound`` of Infinity,
        NaN) is written as null and named in the top-level ``non_finite`` field, JSON pointer ->
        ``"Infinity"``, ``"-Infinity"`` or ``"NaN"`` (:func:`optdist.io.atomic_write_json`), so
        ``"bound": null`` alone is "no bound" and an infinite one reads ``"bound": null`` with
        ``"non_finite": {"/bound": "Infinity"}``; :func:`load_result` reads it back to the same
        values. Before, such a value was the bare token ``Infinity``, which is not JSON (jq,
        JavaScript and strict parsers refuse the file); such files still load.

        ``path`` is checked first as ``optdist solve --out`` checks it
        (:func:`check_save_path`): its folder must exist (none is created), and an existing file
        there is replaced only if it is an optdist result or assignment (``force=True``: no such
        checks, any regular file is replaced), never ``inst``'s own file; each refusal is an
        :class:`~optdist.io.OutputPathError` (a ValueError) naming the path and the fix. ``res.save("x.json")`` (the instance left out) is
        a TypeError naming the call to make. Before, it replaced any file (an instance too) and
        created missing folders. A result of another instance (its ``instance`` another name, or a
        placement that does not fit ``inst``'s requests, layers or nodes) is a ValueError naming
        both instances and the fix, before anything is written (it was pandas' "All arrays must be
        of the same length")."""
        check_save_path(self, inst, path, force)
        self._refuse_other_instance(inst)
        return atomic_write_json(path, self.to_json(inst), non_finite=True)

    def _refuse_other_instance(self, inst: Instance) -> None:
        """ValueError (for :meth:`save`) where this result was made for another instance than ``inst``."""
        misfit = None if self.assignment is None else _misfit(inst, self.assignment, self.node_ids)
        if self.instance != inst.name or misfit:
            made = (f"made for instance {text_of(self.instance)}, not {text_of(inst.name)}" if self.instance != inst.name
                    else f"of an instance {text_of(inst.name)} with other nodes or requests")
            raise ValueError(f"SolveResult.save: this result ({self.method}) was {made}"
                             + (f": {misfit}" if misfit else "") + " (fix: save it with the instance it was solved on, "
                             "res.save(inst, path), e.g. inst = optdist.load_instance(its file); nothing was written)")

    @classmethod
    def load(cls, path: str | bytes | os.PathLike, inst: Instance) -> SolveResult:
        """The result :meth:`save` wrote to ``path`` (``optdist solve --out``), for ``inst``, the
        instance it was solved on: :func:`load_result`'s document (an infinite bound read back
        as ``inf``) as a :class:`SolveResult`. ``termination`` a :class:`Termination`;
        ``objective``, ``bound`` (s), ``wall_time`` (s, the file's ``wall_time_s``), ``nodes``,
        ``method``, ``solver``, ``formulation``, ``options`` and ``extra`` as written; ``assignment``
        an :class:`~optdist.assignment.Assignment` of ``inst`` (None if the run had none) and
        ``evaluation`` the evaluator's re-score of it on ``inst`` (a run scored on a method's own
        constraints, ``scored_on``, e.g. a defence that lifts Nf, is re-scored on ``inst``), so that
        ``SolveResult.load(p, inst).to_json(inst) == load_result(p)`` for such a file.

        Raises TypeError naming the call where ``inst`` is no :class:`Instance` (the arguments
        swapped: the path comes first); FileNotFoundError for a missing file; ValueError (a
        :class:`~optdist.jsonfile.DocumentError` for a file that cannot be read as JSON, an
        :class:`~optdist.assignment.AssignmentError` for a placement that does not fit ``inst``),
        each naming the file, the field and the fix, for another document, a result of another
        instance, a termination, number or table field of the wrong kind. A result of another version
        of ``inst`` (its ``instance_digest`` another :meth:`~optdist.instance.Instance.content_digest`,
        e.g. of a copy with other capacities) is loaded with a warning naming both digests."""
        if not isinstance(inst, Instance) or isinstance(path, Instance):
            raise TypeError(f"SolveResult.load(path, inst) takes the path first, then the Instance it was solved on; "
                            f"got {_named(path)} and {_named(inst)} (fix: SolveResult.load(\"result.json\", inst), "
                            "with inst = optdist.load_instance(\"instances/...json\"))")
        path = os.fsdecode(path)  # a bytes path named as text in every message
        doc = load_result(path)

        def bad(field: str, what: str, fix: str) -> ValueError:
            return ValueError(f"{path}: field {json_text(field)} is {json_text(doc.get(field), 60)}, {what} (fix: {fix})")

        if doc.get("instance") != inst.name:
            raise bad("instance", f"not {json_text(inst.name)}: a result of another instance",
                      "give the instance the result was solved on, e.g. optdist.load_instance(its file)")
        check_instance_field(doc, inst, str(path), "result")
        if warning := made_for_warning(str(path), doc, inst, f"loaded as a result of {inst.name} and re-scored on it"):
            logging.getLogger("optdist").warning("%s", warning)  # another version of the instance (its digest)
        try:
            termination = Termination(doc.get("termination"))
        except ValueError:
            raise bad("termination", "no termination", f"one of {', '.join(t.value for t in Termination)}") from None
        for name in ("objective", "bound", "wall_time_s", "nodes"):
            value = doc.get(name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise bad(name, "not a number", "a number or null, as SolveResult.save writes it")
        for name in ("options", "extra"):
            if not isinstance(doc.get(name, {}), dict):
                raise bad(name, "not a JSON object", "an object, as SolveResult.save writes it")
        asg = None
        if doc.get("assignment") is not None:
            asg = Assignment.from_json(inst, doc["assignment"], f"{path}: assignment")
        res = cls(instance=inst.name, method=doc.get("method"), termination=termination,
                  objective=doc.get("objective"), bound=doc.get("bound"), wall_time=doc.get("wall_time_s") or 0.0,
                  solver=doc.get("solver"), formulation=doc.get("formulation"), nodes=doc.get("nodes"),
                  assignment=asg, options=dict(doc.get("options", {})), extra=dict(doc.get("extra", {})),
                  node_ids=inst.node_ids, instance_digest=digest.lower() if isinstance(digest := doc.get("instance_digest"), str)
                  else None)
        if asg is not None:
            res.evaluation = evaluate(inst, asg)
        _refuse_contradiction(path, doc, res)
        return res


def _refuse_contradiction(path: str | Path, doc: dict, res: SolveResult) -> None:
    """ValueError naming ``path``, the field and the fix for a result that contradicts itself
    (fixc31): a feasible termination without a placement, or what the sweep tables set aside in a
    record (:func:`optdist.bench.tables.summary_contradiction`, the same rule: e.g. ``optimal`` with
    a bound above its objective, an objective the evaluator's re-score on the instance disagrees
    with). The placement's score is the evaluator's re-score where it is feasible on the instance,
    else the file's own (a defence's result is scored on its own constraints)."""
    from optdist.bench.tables import summary_contradiction

    fix = f"or solve again, e.g. `optdist solve INSTANCE --out {path}`"
    if res.assignment is None and res.termination in CLAIMS_FEASIBLE:
        raise ValueError(f"{path}: field \"termination\" is {json_text(str(res.termination))} but field "
                         f"\"assignment\" is null: that termination claims a feasible placement, none is given "
                         f"(fix: write the placement, or the termination the run reached, e.g. \"termination\": "
                         f"\"no_solution\"; {fix})")
    summary = {**doc, "objective": res.objective, "bound": res.bound, "gap": res.gap}
    ev = res.evaluation
    if ev is not None and ev.feasible:
        summary |= {"evaluator_objective": ev.objective, "feasible": True}
    why = summary_contradiction(summary, res.options.get("mip_gap"))
    if why is not None:
        raise ValueError(f"{path}: {why}; {fix})")


def check_save_path(obj: object, inst: object, path: object, force: bool = False) -> None:
    """The checks of ``obj.save(inst, path)`` (:meth:`SolveResult.save`,
    :meth:`Assignment.save <optdist.assignment.Assignment.save>`) before anything is written:
    TypeError naming the call to make where ``inst`` is no :class:`Instance` (``res.save("x.json")``
    forgot it) or ``path`` is missing or no path; then :class:`~optdist.io.OutputPathError`, as
    ``optdist solve --out`` refuses it, for anything but a regular file at ``path``, a missing or
    unwritable folder (:func:`optdist.io.check_output_file`) and an existing file that is no
    optdist result or assignment (:func:`optdist.io.check_overwritable`), unless ``force`` (a
    caller that checked the path itself, as ``optdist solve`` checks ``--out`` before its run:
    then only what :func:`optdist.io.atomic_path` refuses is, and a folder that went missing
    since is created); and ``inst``'s own file, even with ``force``
    (:func:`optdist.io.check_not_an_input`)."""
    from optdist.io import check_not_an_input, check_output_file, check_overwritable

    call = f"{type(obj).__name__}.save"
    name = "res" if isinstance(obj, SolveResult) else "asg"
    if not isinstance(inst, Instance):
        example = json_text(str(inst)) if isinstance(inst, (str, Path)) and path is None else '"result.json"'
        raise TypeError(f"{call}(inst, path) takes the instance first (it names the requests and nodes in the "
                        f"file), then the path; got {_given(inst)} as the instance (fix: "
                        f"{name}.save(inst, {example}), with inst the Instance it was solved on, e.g. "
                        "inst = optdist.load_instance(\"instances/...json\"))")
    if not isinstance(path, (str, os.PathLike)) or path == "":
        raise TypeError(f"{call}(inst, path): path is {_given(path)}, not a file path (fix: "
                        f"{name}.save(inst, \"result.json\"))")
    flag = f"{call} path"
    if inst.path is not None:
        check_not_an_input(path, [inst.path], flag)
    if not force:
        check_output_file(path, flag, "result.json" if isinstance(obj, SolveResult) else "assignment.json")
        check_overwritable(path, flag=flag, override="force=True")


def _given(value: object) -> str:
    """``value`` in a TypeError of :func:`check_save_path`: None, or its type and its text."""
    return "None" if value is None else f"{type(value).__name__} {json_text(value, 60)}"


def _named(value: object) -> str:
    """``value`` in :meth:`SolveResult.load`'s TypeError: an Instance by its name, else :func:`_given`."""
    return f"Instance {json_text(value.name)}" if isinstance(value, Instance) else _given(value)


def load_result(path: str | Path) -> dict:
    """The ``optdist-result/1`` document at ``path`` (what :meth:`SolveResult.save` wrote), each
    value named in its ``non_finite`` field put back as the float it was
    (:func:`optdist.io.restore_non_finite`): ``load_result(p) == res.to_json(inst)`` after
    ``res.save(inst, p)``. ValueError naming the file for another document. As a
    :class:`SolveResult` (its assignment and evaluation for the instance): :meth:`SolveResult.load`."""
    from optdist.jsonfile import MiB, read_json

    doc = read_json(path, 256 * MiB, what="result")
    if not isinstance(doc, dict) or doc.get("format") != "optdist-result/1":
        got = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise ValueError(f"{path}: not an optdist-result/1 document (format {json_text(got)}) (fix: give the --out file of "
                         "`optdist solve`)")
    return restore_non_finite(doc, str(path))


def add_warning(extra: dict, text: str) -> None:
    """Add the warning ``text`` (one line) to ``extra["warning"]``, after those already there:
    the warnings of a run, one per line, in the order they were found (a method's own, the warm
    start's keeping, :func:`finalize`'s), so none overwrites another; the same text again is kept
    once. ``optdist solve`` prints one ``WARNING`` line each (:func:`warnings_of`)."""
    before = warnings_of(extra)
    if text not in before:
        extra["warning"] = "\n".join([*before, text])


def warnings_of(extra: dict) -> list[str]:
    """The warnings in ``extra["warning"]`` (:func:`add_warning`), in order; [] if none."""
    return (extra.get("warning") or "").splitlines()


def finalize(inst: Instance, res: SolveResult) -> SolveResult:
    """Re-score ``res.assignment`` with the independent evaluator and record any disagreement.

    A method whose answer changes the constraints (a defence lifting Nf) returns the instance
    those constraints hold on in ``res.scored_on``; the evaluator then scores on it.
    A placement the evaluator finds infeasible is never reported as ``optimal`` or ``feasible``:
    its termination becomes :attr:`Termination.VIOLATED` (the method's own word is kept in
    ``extra['claimed_termination']``, the violations in ``res.evaluation.violations``).

    Claimed objective vs the evaluator's score (relative difference in
    ``extra['objective_mismatch']``, tolerance :data:`AGREE_RTOL`, MODEL.md section 7): a
    feasible assignment scored LOWER than claimed (a time-limited MILP incumbent whose stage
    times still have slack) reports the evaluator's score as ``objective`` (a valid upper bound;
    the gap can only shrink, so ``optimal`` stays), the claim kept in
    ``extra['claimed_objective']``; scored HIGHER (a real disagreement, a bug signal) adds a warning
    to ``extra['warning']`` (after any the method set: :func:`add_warning`) and, for a feasible
    placement, reports its score too, ``optimal`` only
    where the bound still closes the gap on it (:func:`_score_above_claim`); a NaN or infinite
    claim disagrees with any score (it was kept as the objective). A bound above a
    feasible placement's score is capped there (:func:`_cap_bound`), and one above the reported
    ``objective`` by no more than rounding is that objective (:func:`within_rounding`: the model's
    objective may lie a float step under the evaluator's score; before, ``micro-3x2-admission``
    reported a bound 1 ulp above its objective), and a run whose
    ``extra['bound_capped']`` already lists a step's cap is not ``optimal`` either. A run a limit
    stopped (``time_limit``, ``iteration_limit``) whose bound, so checked, already closes the
    requested gap on its feasible placement is ``optimal``, the solver's word kept in
    ``extra['claimed_termination']`` (:func:`_closed_at_limit`).
    """
    res.instance_digest = inst.content_digest()  # the instance solved, not a defence's scoring one
    inst = res.scored_on or inst
    res.node_ids = inst.node_ids
    if res.assignment is not None:
        res.evaluation = evaluate(inst, res.assignment)
        if not res.evaluation.feasible and res.termination in CLAIMS_FEASIBLE:
            res.extra["claimed_termination"] = str(res.termination)
            res.termination = Termination.VIOLATED
        if res.objective is not None:
            ev_obj = res.evaluation.objective
            diff = (abs(ev_obj - res.objective) / max(abs(ev_obj), abs(res.objective), GAP_EPS)
                    if math.isfinite(res.objective) else math.inf)  # a NaN or infinite claim: no agreement (was NaN: kept)
            res.extra["objective_mismatch"] = diff
            if diff > AGREE_RTOL and ev_obj < res.objective and res.evaluation.feasible:
                # e.g. a time-limited MILP incumbent with slack stage times: the evaluator's score of
                # the same feasible assignment is a valid, better upper bound (the gap only shrinks)
                res.extra["claimed_objective"] = res.objective
                res.objective = ev_obj
            elif diff > AGREE_RTOL:
                add_warning(res.extra, f"method claims objective {res.objective:.9g} but the evaluator scores "
                                       f"{ev_obj:.9g}")
                if res.evaluation.feasible:
                    _score_above_claim(res, ev_obj)
        if res.evaluation.feasible and not _cap_bound(res, res.evaluation.objective):
            _closed_at_limit(res)
        if res.bound is not None and res.objective is not None:  # a bound one rounding step above the reported
            res.bound = within_rounding(res.bound, res.objective)  # objective (under the score) is that objective
        _optimal_gap_open(res)
    return res


def _optimal_gap_open(res: SolveResult) -> None:
    """An ``optimal`` result whose bound does not close the requested gap on its objective
    (:func:`closes_gap`: ``options['mip_gap']`` but at least :data:`AGREE_RTOL`, as in
    :func:`_score_above_claim`, or the solver's absolute tolerance, :func:`solver_abs_gap`) is
    ``feasible``: ``extra['claimed_termination']`` keeps the method's word and
    ``extra['optimality_unproven']`` says why. The last check of every run's ``optimal``, whatever
    its method or adapter said (before, a user adapter wrapping ``Solver.solve`` to call a first
    incumbent 30 % above its bound optimal was reported ``optimal``). Nothing changes without a
    requested gap (no number in ``options['mip_gap']``), a bound or an objective. The gap is that of
    what the method minimised: for ``defended``, the objective plus the chosen defence's charges
    (``extra['charges_s']``, s; its score, :mod:`optdist.defences.placement`): before, a choice its
    inner solves proved within ``--gap 0.3`` of the least score (0.25) was ``feasible`` on the gap
    of its latency alone (0.36, tiny lenet-1x4-tau0.6, accuracy_weight 1.87e-5)."""
    mip_gap = res.options.get("mip_gap")
    if (res.termination is not Termination.OPTIMAL or res.bound is None or res.objective is None
            or isinstance(mip_gap, bool) or not isinstance(mip_gap, (int, float))):
        return
    allowed = max(float(mip_gap), AGREE_RTOL)
    charges = res.extra.get("charges_s") if res.method == "defended" else None
    offset = float(sum(charges.values())) if isinstance(charges, dict) else 0.0
    if closes_gap(res.objective + offset, res.bound + offset, allowed, solver_abs_gap(res.solver)):
        return
    g = gap(res.objective + offset, res.bound + offset)
    res.extra["claimed_termination"] = str(res.termination)
    res.extra["optimality_unproven"] = (
        f"the method said optimal, but its bound {res.bound:.9g} leaves a gap of "
        f"{'-' if g is None else format(g, '.3g')} > the requested {allowed:.3g} on its objective {res.objective:.9g}"
        + (f" plus its charges {offset:.9g}" if offset else ""))
    res.termination = Termination.FEASIBLE


#: terminations of a run that a limit stopped before its search ended (time, iterations or nodes)
STOPPED_BY_LIMIT = frozenset({Termination.TIME_LIMIT, Termination.ITERATION_LIMIT})


def _closed_at_limit(res: SolveResult) -> None:
    """A run a limit stopped (termination in :data:`STOPPED_BY_LIMIT`) whose bound, as
    :func:`finalize` checked and capped it, already closes the requested gap on its feasible
    placement's objective (:func:`closes_gap`: ``options['mip_gap']``, relative; or the solver's
    absolute tolerance, :func:`solver_abs_gap`) is proven optimal: its termination becomes
    ``optimal`` (the vocabulary's "proven within the requested gap"; the decomposition rules so in
    its :func:`~optdist.milp.decomposition.orchestrate._settle`) and ``extra['claimed_termination']``
    keeps the solver's word. E.g. CBC stopped by ``--time-limit 5.4`` on lenet-3x10-tau0.6
    (``tight``) between its last integer solution and declaring the search done (reviewers: gap
    0.0000%, ``time_limit``; that incumbent and bound are 4.8e-8 apart, relative). Nothing
    changes where the requested gap is unknown (no number in ``options['mip_gap']``: the CLI's
    report at its deadline, a method without one) or a bound was capped beyond the tolerance here
    (a false claim proves nothing)."""
    mip_gap = res.options.get("mip_gap")
    if res.termination not in STOPPED_BY_LIMIT or isinstance(mip_gap, bool) or not isinstance(mip_gap, (int, float)):
        return
    if closes_gap(res.objective, res.bound, float(mip_gap), solver_abs_gap(res.solver)):
        res.extra["claimed_termination"] = str(res.termination)
        res.termination = Termination.OPTIMAL


def solver_abs_gap(solver: str | None) -> float:
    """The absolute gap tolerance (s) of the adapter that ``solver`` (adapter or profile name, as
    in ``SolveResult.solver``) names: its ``abs_gap`` in the model's time unit
    (:data:`optdist.milp.data.TIME_UNIT` s); 0, so that only the relative gap counts, without a
    solver or for a name :func:`optdist.solvers.get_solver` no longer resolves (a profile file
    removed since the run): the finished run's report does not fail on it."""
    if solver is None:
        return 0.0
    from optdist.milp.data import TIME_UNIT
    from optdist.solvers import get_solver

    try:
        return get_solver(solver).abs_gap * TIME_UNIT
    except ValueError:
        return 0.0


def _cap_bound(res: SolveResult, score: float) -> bool:
    """A bound above the feasible placement's own ``score`` (s) is no valid bound (a solver's
    false claim): it is capped there by :func:`optdist.milp.decomposition.guard.cap_bound` (the
    one home of the rule: the decomposition and the CLI's deadline report use it too), recorded in
    ``extra['bound_capped']`` with a warning naming the solver, and ``optimal`` (proven with that
    bound) becomes ``feasible`` with ``extra['optimality_unproven']`` saying why. The same holds
    for a run whose ``extra['bound_capped']`` already lists a cap when it gets here: a step of the
    run (the decomposition's per-class solves, pricing, column generation) capped a solver's
    false bound at one of its own feasible points, and the run's bound rests on that step's, so
    it proves nothing either (before, such a run said ``optimal`` on the capped bound: finalize
    never saw the false value). Where such a cap stands the run reports no bound
    (``bound`` None, the capped value kept in ``extra['bound_unproven']``): a false claim capped at
    one feasible point may still lie above the optimum (vbreak44: GLPK's false pricing claims on
    ``lenet-9x5-nexus-rpi3`` gave bound 0.0100807 s, capped at the run's own placement, where CBC
    found a feasible 0.0100541 s). Returns whether a cap beyond the solvers' tolerance stands,
    here or by a step (one within the tolerance is capped silently and stands: False)."""
    from optdist.milp.decomposition.guard import cap_bound

    record: list[dict] = res.extra.get("bound_capped", [])
    by_steps = list(record)
    if res.bound is not None:
        res.bound = cap_bound(res.bound, [score], solver=res.solver or res.method, what="the run's bound",
                              record=record)
    if len(record) == len(by_steps):
        if by_steps and res.termination is Termination.OPTIMAL:
            res.termination = Termination.FEASIBLE
            first = by_steps[0]
            said = "infinite" if first["reported"] is None else f"{first['reported']:.9g}"
            res.extra["optimality_unproven"] = (
                f"a step's bound ({first['what']}: {first['solver']} reported {said}) was capped at a feasible "
                f"point's objective {first['capped_to']:.9g}, and the run's bound rests on it: no proof")
        if by_steps:
            _drop_bound(res)
        return bool(by_steps)
    res.extra["bound_capped"] = record
    _drop_bound(res)
    if res.termination is Termination.OPTIMAL:
        res.termination = Termination.FEASIBLE
        reported = record[-1]["reported"]
        said = "infinite" if reported is None else f"{reported:.9g}"
        res.extra["optimality_unproven"] = (f"the bound ({said}) the method proved optimality with is above the "
                                            f"placement's own score {score:.9g}: no proof")
    return True


def _drop_bound(res: SolveResult) -> None:
    """No bound for a run whose bound rests on a capped false claim (:func:`_cap_bound`): the
    capped value goes to ``extra['bound_unproven']``."""
    if res.bound is not None:
        res.extra["bound_unproven"] = res.bound
        res.bound = None


def _score_above_claim(res: SolveResult, ev_obj: float) -> None:
    """A feasible placement scored HIGHER than the method claimed (e.g. SCIP on ``compact`` with
    admission control: a makespan variable below the placement's makespan, big-M rows within its
    tolerances): the objective becomes the placement's score (the claim is kept in
    ``extra['claimed_objective']``), and ``optimal`` stands only if the proven bound closes the
    gap on that score (:func:`closes_gap`, the one rule: ``options['mip_gap']`` but at least
    :data:`AGREE_RTOL`, since the score is the evaluator's and the bound the model's, which agree
    only to that; or the solver's absolute tolerance, :func:`solver_abs_gap`). A bound above the
    score is :func:`_cap_bound`'s to judge (``finalize`` calls it next)."""
    res.extra["claimed_objective"] = res.objective
    res.objective = ev_obj
    if res.termination is not Termination.OPTIMAL:
        return
    allowed = max(float(res.options.get("mip_gap") or 0.0), AGREE_RTOL)
    if closes_gap(ev_obj, res.bound, allowed, solver_abs_gap(res.solver)):
        return
    g = gap(ev_obj, res.bound)
    res.termination = Termination.FEASIBLE
    res.extra["optimality_unproven"] = (
        f"the method said optimal, but on the placement's own score {ev_obj:.9g} its bound "
        + ("is unknown" if g is None else f"{res.bound:.9g} leaves a gap of {g:.3g} > the requested {allowed:.3g}"))
