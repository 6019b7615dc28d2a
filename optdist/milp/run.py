"""Solve one Pyomo formulation with any adapter: the shared step of every exact path.

:func:`solve_formulation` builds a formulation (within the time limit), seeds it, solves it
with an adapter of :mod:`optdist.solvers` and reads the solution back as a
:class:`~optdist.result.SolveResult` (objective and bound in seconds, not yet re-scored:
:func:`optdist.solve.solve` calls :func:`~optdist.result.finalize` once). The decomposition
(:mod:`optdist.milp.decomposition`) and :func:`optdist.milp.solve.solve_milp` both use it, so
neither imports the other's module at load time.

Progress (incumbent, bound, gap, elapsed) of the steps of a solve goes to the logger
``optdist.progress`` (INFO) once a solve has run :data:`PROGRESS_AFTER_S` seconds.
"""

from __future__ import annotations

import contextlib
import logging
import math
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from optdist.assignment import Assignment
from optdist.evaluate import Evaluation, evaluate
from optdist.instance import Instance
from optdist.milp.extract import InvalidSolution
from optdist.milp.model import BuildInterrupted, BuildTimeout, BuiltModel, build
from optdist.result import SolveResult, Termination, add_warning, gap
from optdist.solvers import Feature, Solver, get_solver
from optdist.solvers.base import record_signals, signals_received, stop_on_signals, stop_requested

#: The one default relative MIP gap of every exact path (formulations and decomposition):
#: 1e-4, HiGHS's and MIPLIB's convention. Tests that compare optima pass a tighter gap.
DEFAULT_MIP_GAP = 1e-4
PROGRESS_AFTER_S = 3.0
progress = logging.getLogger("optdist.progress")


@dataclass
class Clock:
    """Wall clock of one solve: start, the time limit (None: none) and progress reporting.

    ``origin``: the ``perf_counter()`` value progress lines count elapsed seconds from (a step
    with its own clock inside a larger solve passes the solve's start, so the lines of one run
    never go back in time); default ``start``."""

    time_limit: float | None
    start: float = 0.0
    origin: float | None = None

    def __post_init__(self) -> None:
        if not self.start:  # not given: now
            self.start = time.perf_counter()

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def left(self) -> float | None:
        """Seconds left (None: no limit); never below 0."""
        return None if self.time_limit is None else max(self.time_limit - self.elapsed, 0.0)

    @property
    def deadline(self) -> float | None:
        return None if self.time_limit is None else self.start + self.time_limit

    def report(self, step: str, objective: float | None, bound: float | None) -> None:
        """Log incumbent, bound, gap and elapsed time (INFO on ``optdist.progress``) after a few seconds."""
        shown = time.perf_counter() - (self.start if self.origin is None else self.origin)
        if shown < PROGRESS_AFTER_S:
            return
        g = gap(objective, bound)
        progress.info(
            "%7.1fs  %-28s incumbent %s  bound %s  gap %s", shown, step,
            "-" if objective is None else f"{objective:.6g}", "-" if bound is None else f"{bound:.6g}",
            "-" if g is None else f"{100 * g:.3g}%",
        )


@dataclass
class Progress:
    """The best placement (with its evaluator objective, s) and the largest proven bound (s) a run
    has found so far, as its steps offer them (:func:`offer`): what a caller reports when a solver
    call does not return at the run's deadline (``optdist solve --time-limit``,
    :func:`optdist.commands.solve.cmd_solve`). Thread-safe (``lock``)."""

    assignment: Assignment | None = None
    objective: float | None = None
    bound: float | None = None
    warm_start: bool = False  # ``assignment`` is the run's warm start (no step has beaten it)
    lock: threading.Lock = field(default_factory=threading.Lock)


_progress: Progress | None = None


@contextlib.contextmanager
def watch_progress() -> Iterator[Progress]:
    """While the block runs, :func:`offer` records into the yielded :class:`Progress`."""
    global _progress
    old, _progress = _progress, Progress()
    try:
        yield _progress
    finally:
        _progress = old


def offer(assignment: Assignment | None = None, objective: float | None = None, bound: float | None = None,
          *, warm_start: bool = False) -> None:
    """A step found an evaluator-feasible ``assignment`` scoring ``objective`` and/or a valid
    lower ``bound`` on the whole instance (seconds); kept if better (``warm_start``: the
    assignment is the run's warm start, :func:`offer_warm_start`). Does nothing outside
    :func:`watch_progress`."""
    p = _progress
    if p is None:
        return
    with p.lock:
        if assignment is not None and objective is not None and (p.objective is None or objective < p.objective):
            p.assignment, p.objective, p.warm_start = assignment, float(objective), warm_start
        if bound is not None and math.isfinite(bound) and (p.bound is None or bound > p.bound):
            p.bound = float(bound)


def adapter_for(solver: str, solver_options: dict[str, Any] | None = None) -> Solver:
    """The adapter (name or profile) with ``solver_options`` (raw, over the profile's) merged in.

    Raises ValueError for a raw option the solver refuses (:meth:`Solver.check_raw_options`).
    """
    adapter = get_solver(solver)
    adapter.require()
    if solver_options:
        adapter.solver_options = {**adapter.solver_options, **adapter.check_raw_options(solver_options)}
    return adapter


#: share of the time left that a warm-start method is given (``time_limit``; the rest is the MILP's)
WARM_START_SHARE = 0.25
#: seconds an rl / rl-ppo warm start spends starting up in a process that has not imported torch:
#: importing torch and optdist.rl, and torch's compiler on building the first optimiser, before any
#: training. ``solve(method=m, time_limit=0.01)`` on lenet-8x4-rpi3 after the CLI's imports took
#: 2.45-3.84 s (rl) and 2.46-3.98 s (rl-ppo), and 0.03-0.13 s once torch was loaded (3 runs each,
#: load 1.2-1.7, 2 cores, 2026-12-03); this is the least of them
RL_START_UP_S = 2.45


def warm_start_assignment(inst: Instance, warm_start: Assignment | str,
                          time_left: float | None = None) -> tuple[Assignment | None, dict[str, Any]]:
    """The start to seed with: an Assignment as given, or the result of a heuristic method by name.

    ``time_left``: seconds left of the run's limit (None: no limit); a method gets
    :data:`WARM_START_SHARE` of it as its ``time_limit`` (plan-guided's plan, a defended MILP;
    the greedy takes milliseconds either way), so a slow start does not outlast the limit. A
    method that cannot model the instance (the greedy on a serial uplink) or that finds no feasible
    assignment gives no start (``warm_start_skipped`` says why); the MILP runs unseeded. A
    feasible start is offered to the run's progress (:func:`offer`) at once, so a run stopped
    before any step of its own returns (the CLI's stopper past the deadline) still reports it.

    An rl or rl-ppo start in a process that has not imported torch is skipped (with a warning on
    the ``optdist`` logger and ``warm_start_skipped``, both naming the fix) when its share is
    below :data:`RL_START_UP_S`: its start-up alone would outlast it, in the MILP's time (a 4-s
    CLI run of lenet-8x4-rpi3 ended no_solution that way).
    """
    if isinstance(warm_start, Assignment):
        offer_warm_start(inst, warm_start)
        return warm_start, {"warm_start": "assignment"}
    from optdist.heuristics.incremental import ParallelUplinkOnly
    from optdist.solve import solve

    if warm_start == "milp":
        raise ValueError("warm_start: use a heuristic method (e.g. 'greedy'), not 'milp'")
    limit = None if time_left is None else max(WARM_START_SHARE * time_left, 0.05)
    if warm_start in ("rl", "rl-ppo") and limit is not None and limit < RL_START_UP_S and "torch" not in sys.modules:
        why = (f"its start-up (importing torch, about {RL_START_UP_S:g} s) would outlast its share of the time, "
               f"{limit:.2g} s ({WARM_START_SHARE:g} of the {time_left:.2g} s left), and take the MILP's (fix: a longer "
               f"--time-limit, e.g. {math.ceil(RL_START_UP_S / WARM_START_SHARE) + 5}: the solve must have "
               f"{RL_START_UP_S / WARM_START_SHARE:g} s left when the warm start begins; or a --warm-start "
               f"file: `optdist solve FILE --method {warm_start} --out start.json`, then --warm-start start.json)")
        logging.getLogger("optdist").warning("--warm-start %s not used: %s", warm_start, why)
        return None, {"warm_start": warm_start, "warm_start_skipped": why}
    as_start = contextlib.nullcontext()
    if warm_start in ("rl", "rl-ppo"):  # a signal in its training stops the whole run: its note says so
        from optdist.rl.policy import training_as_warm_start

        as_start = training_as_warm_start()
    try:
        with as_start:
            res = solve(inst, method=warm_start, **({} if limit is None else {"time_limit": limit}))
    except ParallelUplinkOnly:  # its own fix ("use --method milp") does not apply here: the MILP runs unseeded
        return None, {"warm_start": warm_start, "warm_start_skipped": f"{warm_start} models the parallel uplink "
                      "only and the instance's is 'serial' (an assignment .json can seed it)"}
    info: dict[str, Any] = {"warm_start": warm_start, "warm_start_objective": res.evaluator_objective}
    if cut := res.extra.get("train_interrupted"):  # a signal ended its training (rl, rl-ppo)
        info["warm_start_train_interrupted"] = cut
    if res.evaluation is None or not res.evaluation.feasible:
        info["warm_start_skipped"] = f"{warm_start} gave no feasible assignment ({_why_infeasible(res)})"
        return None, info
    offer(res.assignment, res.evaluator_objective, warm_start=True)
    return res.assignment, info


def _why_infeasible(res: SolveResult) -> str:
    """Why a warm-start method's result ``res`` seeds nothing, for ``warm_start_skipped``: its
    termination without a placement, else the constraints its placement breaks (the first named,
    e.g. a request rejected), and a training a signal or the deadline cut (rl, rl-ppo)."""
    said = [f"it ended {res.termination} without a placement" if res.evaluation is None else
            f"its placement breaks {len(res.evaluation.violations)} constraint(s), first: "
            f"{res.evaluation.violations[0].message}"]
    if cut := res.extra.get("train_interrupted") or res.extra.get("train_cut"):
        said.append(f"its training stopped by {cut.get('signal', 'its share of the time limit')} after "
                    f"{_training_done(cut)}")
    return "; ".join(said)


def _training_done(cut: dict[str, Any]) -> str:
    """What an rl (rl-ppo) training that a signal or the deadline cut had done, e.g. "19 of 1000
    episodes" ("env steps" for rl-ppo): ``cut`` is the method's ``extra["train_interrupted"]`` or
    ``extra["train_cut"]``."""
    return (f"{cut['episodes']} of {cut['episodes_planned']} episodes" if "episodes_planned" in cut
            else f"{cut['env_steps']} of {cut['timesteps']} env steps")


def offer_warm_start(inst: Instance, start: Assignment) -> None:
    """Offer the warm start ``start`` to the run's progress (:func:`offer`, labelled as the warm
    start) if the evaluator finds it feasible: a run stopped before any step of its own returns
    (``optdist solve``'s stop at the deadline, :class:`optdist.commands.solve._Stopper`) still
    reports it. Does nothing outside :func:`watch_progress`."""
    if _progress is None:
        return
    ev = evaluate(inst, start)
    if ev.feasible:
        offer(start, ev.objective, warm_start=True)


def solve_built(
    b: BuiltModel,
    adapter: Solver,
    *,
    time_limit: float | None,
    mip_gap: float,
    threads: int | None,
    seed: int | None,
    tee: bool,
    start: Assignment | None = None,
    keep: bool = False,
) -> tuple[Any, Assignment | None, bool]:
    """Solve a built model: (the adapter's :class:`SolverOutcome`, the read-back, seeded?).

    ``start`` seeds the solver (if it takes a MIP start); one the model's variables cannot hold (a
    node outside a request's candidates, e.g. another request's camera: no model of MODEL.md has
    such a variable) is not used, the solve runs unseeded and the outcome's
    ``extra["warm_start_skipped"]`` says why. Objective and bound stay in model units.
    ``keep``: the model stays loaded in the adapter's solver for the next ``keep`` solve of the
    same model, which then sends only what changed (:meth:`optdist.solvers.base.Solver.solve`).
    """
    seeded, unusable = False, None
    if start is not None and adapter.has(Feature.WARM_START):
        try:
            b.set_warm_start(start)
            seeded = True
        except ValueError as e:  # no value of the model's variables holds it (e.g. a map on another request's camera)
            unusable = f"the model cannot hold it: {e}"
    out = adapter.solve(b.model, time_limit=time_limit, mip_gap=mip_gap, threads=threads, seed=seed,
                        warm_start=seeded, tee=tee, keep=keep)
    if unusable is not None:
        out.extra["warm_start_skipped"] = unusable
    asg = None
    if out.has_solution:
        try:
            asg = b.to_assignment()
        except InvalidSolution as e:  # e.g. a loose feasibility tolerance, NaN values: no placement
            answer_invalid(out, adapter.name, str(e), user=None if adapter.built_in() else adapter.adapter_text())
    return out, asg, seeded


def answer_invalid(out: Any, solver: str, why: str, user: str | None = None) -> None:
    """Turn the outcome ``out`` of a solve whose loaded values are no placement (``why``: what was
    wrong, naming the request and variable; :class:`~optdist.milp.extract.InvalidSolution`) into
    termination ``error``: no incumbent, no bound (the answer that fails is the solver's, so is
    its proof), ``extra["solver_error"]`` naming the solver, what was wrong and what to try,
    ``extra["invalid_solution"]`` ``why``, and the solver's own word in ``extra["solver_said"]``.
    The run then keeps a feasible warm start, as for a solver that died
    (:func:`_keep_warm_start`). Recorded for the enclosing
    :func:`~optdist.solvers.base.solver_failures` blocks; ``user``: the user adapter that
    returned them (:meth:`~optdist.solvers.base.Solver.adapter_text`), its code's failure (an
    :class:`~optdist.solvers.base.AdapterFailure`, which ends a decomposed run ``error`` as one
    that raised does; before, a step's values such as 0.5 for a binary were dropped unsaid)."""
    from optdist.solvers.base import AdapterFailure, _record_failure

    out.extra.setdefault("solver_said", f"{out.status} (termination {out.termination}, incumbent {out.incumbent!r})")
    out.extra["invalid_solution"] = why
    fix = ("check raw solver options that loosen its tolerances, e.g. mip_feasibility_tolerance; --tee shows its log"
           if user is None else f"make {user} load the solution's values into the model's variables, 0 or 1 for "
           "each binary, satisfying every constraint, or return has_solution=False")
    out.extra["solver_error"] = (AdapterFailure if user else str)(
        f"solver {solver} returned values that are no valid placement ({why}), so its answer is discarded (fix: "
        f"{fix}; or try another solver, e.g. --solver {'scip' if solver == 'highs' else 'highs'})")
    out.termination, out.status = Termination.ERROR, f"invalid solution: {out.status}"
    out.incumbent = out.bound = None
    out.has_solution = False
    out.extra.pop("optimality_unproven", None)  # about the discarded answer
    _record_failure(out.extra["solver_error"])


def solve_formulation(
    inst: Instance,
    formulation: str,
    *,
    solver: str = "highs",
    time_limit: float | None = None,
    mip_gap: float | None = None,
    threads: int | None = None,
    seed: int | None = None,
    warm_start: Assignment | str | None = None,
    tee: bool = False,
    solver_options: dict[str, Any] | None = None,
) -> SolveResult:
    """Build ``formulation`` and solve it; the time limit covers building too.

    ``mip_gap`` falls back to the profile's, then :data:`DEFAULT_MIP_GAP`. If building
    outlasts the time limit, returns ``no_solution`` with ``extra['stopped']`` saying so; else
    ``extra['solver_time_limit_s']`` is the limit the solver was handed (``time_limit`` less the
    warm start's share and the build; ``optdist solve``'s "no solution" warning names it). A
    solve that ends without the solver's placement and without a proof that none exists (a time
    limit while building, before the solver started or in the solver; SIGINT/SIGTERM; a failed
    solver, termination ``error``, e.g. a ``kill -9`` of CBC, ``extra['solver_error']`` says how)
    keeps a feasible warm start as its incumbent, and so does a solve whose placement the
    evaluator scores worse than the start (a solver without a MIP start, e.g. GLPK, or one that
    rejected it, stopping within a loose gap) or finds breaking constraints (``optimal`` then
    becomes ``feasible``, ``extra['warning']`` says so): :func:`_keep_warm_start` is the one home
    of that rule. ``extra['incumbent']`` says so ("the warm start: ..."), the bound is the solver's, if
    any; the termination stays ``interrupted`` or ``error``, a limit's ``no_solution`` becomes
    ``time_limit``, and the solver's ``optimal``, ``feasible`` or ``time_limit`` stays (the bound
    is unchanged and the gap only shrinks). A solver's claim that the model is infeasible while
    the start is feasible is refuted as one without a start is by a feasible greedy placement
    (:func:`greedy_disproof`, :func:`claim_refuted`): termination ``error``, no bound,
    ``extra['solver_error']`` names the solver and its claim, and the start (else the greedy's
    placement) is kept. A feasible start the solver was not seeded with is
    still the incumbent to beat: ``extra['warm_start_not_seeded']`` says why it was no MIP start;
    an infeasible one that was not seeded is not used at all (``extra['warm_start_skipped']``).

    SIGINT/SIGTERM stop the whole call, as inside :func:`optdist.solve.solve` (one
    :func:`~optdist.solvers.base.stop_on_signals` block; :func:`~optdist.solvers.base.record_signals`): the result is
    ``interrupted`` (unless the solver proved ``optimal`` or ``infeasible``) and
    ``extra['interrupted']`` names the signal. One that comes while a warm-start method runs (an
    rl or rl-ppo start trains its policy; the training ends and the policy so far places) ends the
    run there: no model is built, ``extra['stopped']`` says so, and a feasible start is the
    incumbent, ``extra['incumbent']`` "the warm start: stopped while the warm start trained, after N
    of M episodes: the policy trained so far placed it" (before, the direct call went on to
    build and solve, and inside ``optdist.solve`` it said "stopped while the model was built"). One
    while the model is built stops the build at once (:class:`~optdist.milp.model.BuildInterrupted`),
    one in the solver stops the solver (:meth:`optdist.solvers.base.Solver.solve`); a second signal
    aborts (KeyboardInterrupt). Raises ValueError for a raw option the solver refuses
    (:func:`adapter_for`) or a ``warm_start`` of 'milp'.
    """
    clock = Clock(time_limit)
    adapter = adapter_for(solver, solver_options)
    if mip_gap is None:
        mip_gap = adapter.defaults.get("mip_gap", DEFAULT_MIP_GAP)
    options = {**adapter.settings(time_limit=time_limit, mip_gap=mip_gap, threads=threads, seed=seed),
               "warm_start": False}
    res = SolveResult(inst.name, "milp", Termination.NO_SOLUTION, solver=solver, formulation=formulation,
                      options=options, extra={})
    with stop_on_signals(lambda signum: None):  # every step stops: a warm start's training, the build, the solver
        _seed_build_and_solve(inst, res, adapter, clock, mip_gap=mip_gap, threads=threads, seed=seed,
                              warm_start=warm_start, tee=tee)
    record_signals(res)
    return res


def _seed_build_and_solve(inst: Instance, res: SolveResult, adapter: Solver, clock: Clock, *, mip_gap: float,
                          threads: int | None, seed: int | None, warm_start: Assignment | str | None,
                          tee: bool) -> None:
    """:func:`solve_formulation`'s run, inside its signal block: the warm start, then (unless a
    signal came while it ran) the build and the solve, into ``res`` (``res.formulation``, its
    options and extra; wall time from ``clock``)."""
    formulation, extra, options = res.formulation, res.extra, res.options
    start = None
    if warm_start is not None:
        start, info = warm_start_assignment(inst, warm_start, clock.left())
        extra.update(info)
    start_ev = None if start is None else evaluate(inst, start)
    if stop_requested():  # a signal while the warm start ran (rl's training ended there): build nothing
        stop_before_build(inst, res, warm_start, start, start_ev)
        res.wall_time = clock.elapsed
        return
    try:
        b = build(inst, formulation, deadline=clock.deadline, interruptible=True)
    except BuildTimeout as e:
        extra["stopped"] = str(e)
        if isinstance(e, BuildInterrupted):
            res.termination = Termination.INTERRUPTED
        _keep_warm_start(inst, res, start, start_ev, "stopped while the model was built"
                         if isinstance(e, BuildInterrupted) else "the time limit ran out while the model was built")
        res.wall_time = clock.elapsed
        return
    build_s = clock.elapsed
    extra.update(build_s=build_s, **b.stats())
    # the solver's limit covers loading the model into it: each adapter takes the load time off
    # what it hands the solver (Solver.limit_left), so nothing more is kept back here
    left = clock.left()
    if left is not None and left <= 0:
        extra["stopped"] = "time limit reached after building the model; no solver was started"
        _keep_warm_start(inst, res, start, start_ev, "the time limit ran out before the solver started")
        res.wall_time = clock.elapsed
        return
    if left is not None:  # the solve's own limit: the run's less the warm start's share and the build
        extra["solver_time_limit_s"] = left
    out, asg, seeded = solve_built(b, adapter, time_limit=left, mip_gap=mip_gap, threads=threads, seed=seed,
                                   tee=tee, start=start)
    options["warm_start"] = seeded
    extra.update(solve_s=out.wall_time, solver_status=out.status, solver_version=out.version, **out.extra)
    if start_ev is not None and not seeded:  # no MIP start: the incumbent to beat if feasible, else unused
        why = extra.pop("warm_start_skipped", None) or f"solver {adapter.name} takes no MIP start"
        if start_ev.feasible:
            extra["warm_start_not_seeded"] = why
        else:
            extra["warm_start_skipped"] = f"{why}, and it breaks {len(start_ev.violations)} constraint(s)"
    scale = b.time_unit
    bound = out.bound if out.bound is not None or out.termination is not Termination.OPTIMAL else out.incumbent
    refuted_by = "a greedy placement"
    if out.termination is Termination.INFEASIBLE and asg is None:
        # one meaning with or without a warm start: a feasible placement (the start, else the greedy's) refutes it
        disproof = (start, start_ev) if start_ev is not None and start_ev.feasible else None
        if disproof is not None and warm_start != "greedy":
            refuted_by = "the warm start"
        if disproof is None:
            disproof = greedy_disproof(inst, clock.left())
        if disproof is not None:  # the claim is false: no proof, no bound
            start, start_ev = disproof
            claim_refuted(out, adapter.name, start_ev.objective, by=refuted_by)
            extra.update(solver_status=out.status, **out.extra)
            bound = None
        else:  # a proof that no placement exists: +inf
            bound = math.inf
    if asg is not None:
        extra["rejected"] = int((~asg.admitted).sum())
    res.termination = out.termination
    res.objective = None if out.incumbent is None else out.incumbent * scale
    res.bound = None if bound is None else bound * scale if math.isfinite(bound) else bound
    res.nodes = out.nodes
    res.assignment = asg
    if out.termination is Termination.INTERRUPTED:  # e.g. CBC killed past its stop grace
        ended = "the solver was stopped before it returned an incumbent"
    elif out.extra.get("invalid_solution"):  # its values were no placement (answer_invalid)
        ended = "the solver's answer was no valid placement"
    elif out.termination is Termination.ERROR:  # e.g. its process killed by the OOM killer
        ended = "the solver failed before it returned an incumbent"
    elif out.extra.get("deadline") == "not started":
        ended = "the run's deadline had passed before the solver started"
    else:
        ended = "the solver reached its limit before it returned an incumbent"
    if out.extra.get("claim_refuted"):
        ended = f"the solver's claim of infeasibility is false: {refuted_by} is feasible"
    _keep_warm_start(inst, res, start, start_ev, ended,
                     mip_gap=adapter.requested_gap(options, adapter.solver_options))
    res.wall_time = clock.elapsed
    clock.report(formulation, res.objective, res.bound)


def greedy_disproof(inst: Instance, time_left: float | None) -> tuple[Assignment, Evaluation] | None:
    """A greedy placement (as ``--warm-start greedy`` finds it, :func:`warm_start_assignment`) and
    the evaluator's verdict on it if it is feasible, else None: the one check of a solver's claim
    that a model is infeasible (here, in :func:`_seed_build_and_solve`, and in ``optdist diagnose``,
    :func:`optdist.diagnose._check_claim`). A feasible one disproves the claim."""
    start, _ = warm_start_assignment(inst, "greedy", time_left)
    if start is None:
        return None
    ev = evaluate(inst, start)
    return (start, ev) if ev.feasible else None


def refute_checked_bound(inst: Instance, res: SolveResult) -> None:
    """The cheap check of a run's bound from an adapter whose bound claims are checked
    (``res.solver`` names one whose :meth:`~optdist.solvers.base.Solver.bound_checked` holds: a user
    adapter, not :meth:`~optdist.solvers.base.Solver.built_in`: registered, or given to the call as
    a class or instance, a subclass of a built-in included; or GLPK, built-in but known to claim
    false optima): a feasible greedy placement
    (:func:`greedy_disproof`, as a false claim of infeasibility is refuted) that the evaluator
    scores below the claimed bound ``res.bound`` (s) by more than
    :data:`~optdist.result.AGREE_RTOL` (relative) refutes the bound. Then the better of the
    adapter's placement and the greedy's (evaluator-scored) is the incumbent, the bound is dropped
    (None, ``extra["claimed_bound"]`` keeps it), ``optimal`` becomes ``feasible``
    (``extra["claimed_termination"]``) and a warning (``extra["warning"]``) names the adapter,
    its bound and the greedy's objective. A bound not refuted is trusted as given; HiGHS, SCIP and
    CBC (covered by the conformance suite) are not checked. Called by :func:`optdist.solve.solve`
    inside the call's adapters (:func:`optdist.solvers.adapters_for_call`), and by a sweep's worker
    (:func:`optdist.bench.worker.execute_in_process`), before :func:`~optdist.result.finalize`."""
    from optdist.result import AGREE_RTOL, GAP_EPS

    if res.solver is None or res.bound is None or not math.isfinite(res.bound):
        return
    try:
        adapter = get_solver(res.solver)
    except ValueError:  # not a solver name (a method's own label)
        return
    if not adapter.bound_checked():
        return
    found = greedy_disproof(inst, None)
    if found is None:
        return
    start, start_ev = found
    score = start_ev.objective
    if (res.bound - score) / max(abs(res.bound), abs(score), GAP_EPS) <= AGREE_RTOL:
        return
    add_warning(res.extra, f"{adapter.adapter_text()} claimed a bound of {res.bound:.9g} s, but a greedy placement "
                           f"scores {score:.9g} s (the evaluator's), below it: the bound is refuted and dropped (no "
                           "bound is certified) and the run is not optimal (fix: "
                           + ("--solver highs, or another solver whose bounds are proven)" if adapter.built_in() else
                              "make the adapter report its solver's proven bound, or none)"))
    res.extra["claimed_bound"] = res.bound
    res.bound = None
    if res.termination is Termination.OPTIMAL:
        res.extra["claimed_termination"] = str(res.termination)
        res.termination = Termination.FEASIBLE
    own = None if res.assignment is None else evaluate(inst, res.assignment)
    if own is None or not own.feasible or score < own.objective:
        res.extra["incumbent"] = f"a greedy placement: {adapter.adapter_text()}'s bound was refuted by it" + (
            "" if own is None else f", and the evaluator scores the adapter's placement {own.objective:.9g} s"
            if own.feasible else ", and the adapter's placement breaks constraints")
        res.assignment, res.objective = start, score
        res.extra["rejected"] = int((~start.admitted).sum())


def claim_refuted(out: Any, solver: str, objective: float, *, by: str = "a greedy placement") -> None:
    """Turn the outcome ``out`` of a solver that claimed the model infeasible, though a feasible
    placement scoring ``objective`` (s) exists (``by``: which, e.g. "a greedy placement",
    :func:`greedy_disproof`, or "the warm start"), into termination ``error``: no incumbent, no
    bound (its proof is void), ``extra["solver_error"]`` naming the solver, its claim and the fix,
    ``extra["solver_said"]`` its word, ``extra["claim_refuted"]`` True. The one meaning of a false
    claim of infeasibility in a solve, with or without a ``--warm-start`` (:func:`solve_formulation`
    keeps the placement: :func:`_keep_warm_start`; ``optdist diagnose`` likewise). Recorded for
    the enclosing :func:`~optdist.solvers.base.solver_failures` blocks."""
    from optdist.solvers.base import _record_failure

    out.extra["solver_said"] = f"{out.status} (termination {out.termination})"
    out.extra["solver_error"] = claim_refuted_message(solver, objective, by)
    out.extra["claim_refuted"] = True
    out.termination, out.status = Termination.ERROR, f"claim refuted: {out.status}"
    out.incumbent = out.bound = None
    out.has_solution = False
    _record_failure(out.extra["solver_error"])


def claim_refuted_message(solver: str | None, objective: float, by: str = "a greedy placement") -> str:
    """``extra["solver_error"]`` of a run whose solver ``solver`` claimed the model infeasible though
    ``by`` (e.g. "a greedy placement", "the warm start"), a feasible placement the evaluator scores
    ``objective`` (s), exists (:func:`claim_refuted`)."""
    return (f"solver {solver} claimed infeasible, but a feasible placement exists ({by}; the evaluator scores it "
            f"{objective:.9g} s), so the claim is discarded (fix: --solver {'scip' if solver == 'highs' else 'highs'}, "
            "or another solver; --tee shows its log)")


def stop_before_build(inst: Instance, res: SolveResult, warm_start: Assignment | str | None,
                      start: Assignment | None, start_ev: Evaluation | None) -> None:
    """End ``res`` ``interrupted`` before any model is built (here, and in the decomposition,
    :func:`optdist.milp.decomposition.orchestrate.solve_decomposed`): a signal came while the warm start
    ``warm_start`` ran (an rl or rl-ppo start: while it trained, its training cut short,
    ``extra['warm_start_train_interrupted']``) or before. ``extra['stopped']`` names the signal
    and the step; a feasible ``start`` is the incumbent (:func:`_keep_warm_start`), its note naming
    the same step (and the training done).
    """
    name = signal.Signals(signals_received()[0]).name
    cut = res.extra.get("warm_start_train_interrupted")
    if cut is not None:
        step = "while the warm start trained"
        untrained = cut.get("episodes", cut.get("env_steps")) == 0
        placed_by = "the untrained (initial) policy" if untrained else "the policy trained so far"
        ended = f"stopped {step}, after {_training_done(cut)}: {placed_by} placed it"
    else:
        step = "while the warm start ran" if isinstance(warm_start, str) else "before the model was built"
        ended = f"stopped {step}"
    res.extra["stopped"] = f"{name} {step}: no model was built, no solver was started"
    res.termination = Termination.INTERRUPTED
    _keep_warm_start(inst, res, start, start_ev, ended)


#: how a solve ends without the solver's placement and without proving that none exists (a limit,
#: a signal, a failed solver): a feasible warm start is then its incumbent (:func:`_keep_warm_start`)
ENDED_WITHOUT_PLACEMENT = frozenset({Termination.NO_SOLUTION, Termination.INTERRUPTED, Termination.ERROR})


def claim_discarded(solver: str | None, claim: str, objective: float) -> str:
    """``extra["warning"]`` of a run whose solver claimed ``claim`` (e.g. "the model infeasible")
    though a feasible placement the evaluator scores ``objective`` (s) disproves it."""
    return (f"solver {solver} claimed {claim}, but a feasible placement is known (the evaluator scores it "
            f"{objective:.9g} s): the claim is discarded and its bound is unknown")


def _keep_warm_start(inst: Instance, res: SolveResult, start: Assignment | None, start_ev: Evaluation | None,
                     ended: str, *, mip_gap: float | None = None) -> None:
    """Keep the warm start ``start`` (``start_ev``: the evaluator's verdict on it) as the incumbent
    of ``res`` if it is feasible and the run has no better placement (the one home of this rule):

    * the run ended without a placement (``res.termination`` in :data:`ENDED_WITHOUT_PLACEMENT`;
      ``ended`` says how, e.g. "the solver failed before it returned an incumbent"):
      ``res.extra["incumbent"]`` is "the warm start: " + ``ended``, and ``no_solution`` (a limit
      stopped it) becomes the limit's termination (``extra["limit_reached"]``, else ``time_limit``);
    * the solver's placement is feasible but the evaluator scores the start strictly lower (a
      solver without a MIP start, e.g. GLPK, or one that rejected it, stopping within its gap):
      ``res.extra["incumbent"]`` says "the warm start: " and both scores (s); the bound stays the
      solver's (its placement is valid, only scored above the solver's claim where the model and
      the evaluator disagree, e.g. a loose ``mip_feasibility_tolerance``), and ``optimal`` stays
      only where that bound closes the requested gap ``mip_gap`` on the start's score
      (:func:`optdist.result.closes_gap`), else it becomes ``feasible``
      (``extra["claimed_termination"]``, ``extra["optimality_unproven"]``);
    * the solver's placement breaks constraints the evaluator checks (the model and the evaluator
      disagree): the start is kept whatever either scores (:func:`_keep_instead_of_violating`:
      ``extra["warning"]`` says so, ``optimal`` becomes ``feasible``; :func:`optdist.result.finalize`
      caps a bound above the start's score).

    The bound stays the solver's (None if it gave none), ``res.objective`` is the evaluator's
    score of the start (s). A solver's claim that the model is infeasible (termination
    ``infeasible``, no placement) is false when the start is feasible: the run ends as
    :func:`claim_refuted` ends it (:func:`solve_formulation` calls that first, with or without a
    warm start; this is the same meaning for a result built otherwise): termination ``error``, the
    bound None (the solver's proof is void, so is its bound), ``extra["solver_error"]`` naming the
    solver and its claim, ``extra["claim_refuted"]`` True, the start kept as above. Each warning is added after any already there
    (:func:`optdist.result.add_warning`). Nothing changes otherwise (without a feasible start, a solver's
    placement the evaluator finds infeasible is left to :func:`optdist.result.finalize`, which reports
    it as ``violated``)."""
    if start is None or start_ev is None or not start_ev.feasible:
        return
    if res.assignment is None and res.termination is Termination.INFEASIBLE:  # the start disproves the claim
        _refute_on_result(res, start_ev.objective)
        ended = "the solver's claim of infeasibility is false: the warm start is feasible"
    if res.assignment is None:
        if res.termination not in ENDED_WITHOUT_PLACEMENT:
            return
        res.extra["incumbent"] = f"the warm start: {ended}"
        if res.termination is Termination.NO_SOLUTION:
            res.termination = Termination(res.extra.get("limit_reached", Termination.TIME_LIMIT))
    else:
        found = evaluate(inst, res.assignment)
        if not found.feasible:
            _keep_instead_of_violating(res, found, start_ev)
        elif start_ev.objective < found.objective:
            res.extra["incumbent"] = (f"the warm start: the evaluator scores it {start_ev.objective:.9g} s, better "
                                      f"than the solver's placement ({found.objective:.9g} s)")
            _optimal_within_gap(res, start_ev.objective, mip_gap)
        else:
            return
        res.extra["rejected"] = int((~start.admitted).sum())
    res.assignment, res.objective = start, start_ev.objective


def _refute_on_result(res: SolveResult, objective: float) -> None:
    """:func:`claim_refuted` on a result ``res`` whose solver claimed the model infeasible while a
    feasible warm start scoring ``objective`` (s) is known: termination ``error``, no bound,
    ``extra["solver_said"]``, ``extra["solver_error"]`` (:func:`claim_refuted_message`) and
    ``extra["claim_refuted"]`` as there; recorded for the enclosing
    :func:`~optdist.solvers.base.solver_failures` blocks."""
    from optdist.solvers.base import _record_failure

    res.extra.setdefault("solver_said", f"{res.extra.get('solver_status', res.termination)} (termination "
                                        f"{res.termination})")
    res.extra["solver_error"] = claim_refuted_message(res.solver, objective, "the warm start")
    res.extra["claim_refuted"] = True
    res.termination, res.bound = Termination.ERROR, None
    _record_failure(res.extra["solver_error"])


def _optimal_within_gap(res: SolveResult, objective: float, mip_gap: float | None) -> None:
    """An ``optimal`` ``res`` whose incumbent becomes a placement scoring ``objective`` (s) stays
    ``optimal`` only if its bound closes the requested relative gap ``mip_gap`` on it
    (:func:`optdist.result.closes_gap`, with the solver's absolute tolerance); else ``feasible``,
    ``extra["claimed_termination"]`` keeping the solver's word and ``extra["optimality_unproven"]``
    saying why. The bound is left as it is."""
    from optdist.result import closes_gap, solver_abs_gap

    if res.termination is not Termination.OPTIMAL or res.bound is None:
        return
    requested = mip_gap if mip_gap is not None else res.options.get("mip_gap")
    requested = float(requested) if isinstance(requested, (int, float)) and not isinstance(requested, bool) else 0.0
    if closes_gap(objective, res.bound, requested, solver_abs_gap(res.solver)):
        return
    g = gap(objective, res.bound)
    res.extra["claimed_termination"] = str(res.termination)
    res.extra["optimality_unproven"] = (
        f"the solver said optimal, but its placement scores above its claim and its bound {res.bound:.9g} s "
        f"leaves a gap of {'-' if g is None else format(g, '.3g')} > the requested {requested:.3g} on the kept "
        f"warm start ({objective:.9g} s)")
    res.termination = Termination.FEASIBLE


def _keep_instead_of_violating(res: SolveResult, found: Evaluation, start_ev: Evaluation) -> None:
    """Record on ``res`` that its feasible warm start (``start_ev``: the evaluator's verdict) replaces
    the solver's placement, which breaks constraints (``found``: the evaluator's verdict on it).

    ``extra["warning"]`` says how many constraints the solver's placement breaks, names the first
    and says the start was kept. The solver's proof concerns its model, which the evaluator
    contradicts, so ``optimal`` becomes ``feasible`` (``extra["claimed_termination"]`` keeps the
    solver's word, ``extra["optimality_unproven"]`` says why); any other termination (``feasible``,
    a limit's, ``interrupted``) claims no proof and stays. The solver's bound (s) is left as it is:
    :func:`optdist.result.finalize`, the one home of the cap, caps a bound above the start's score
    there (recorded in ``extra["bound_capped"]``). The caller sets the assignment and objective.
    """
    first = found.violations[0].message
    add_warning(res.extra, f"the solver's placement breaks {len(found.violations)} constraint(s) (first: {first}): "
                           f"the feasible warm start (the evaluator scores it {start_ev.objective:.9g} s) is kept")
    res.extra["incumbent"] = "the warm start: the solver's placement breaks constraints"
    if res.termination is Termination.OPTIMAL:
        res.extra["claimed_termination"] = str(res.termination)
        res.extra["optimality_unproven"] = ("the solver's placement breaks constraints its model holds, so the "
                                            "model and the evaluator disagree and its proof of optimality is in doubt")
        res.termination = Termination.FEASIBLE
