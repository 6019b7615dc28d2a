"""One entry point for every method: ``optdist.solve(instance, method=..., **options)``.

Methods are looked up lazily (``module:function``) so the core imports neither torch nor
the MILP stack until asked. Each method function takes ``(inst: Instance, **options)`` and
returns a :class:`~optdist.result.SolveResult` without re-scoring it; :func:`solve` re-scores
its assignment with the independent evaluator (:func:`~optdist.result.finalize`) exactly once.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from optdist.assignment import Assignment
from optdist.evaluate import as_assignment, as_instance, fitted
from optdist.instance import Instance, ReadOnlyDict
from optdist.jsonfile import is_json_name, json_text, text_of, value_text
from optdist.names import closest
from optdist.result import SolveResult, finalize
from optdist.options import GENERIC_OPTIONS, check_options

#: the registry of optdist's methods (name -> ``module:function``), read-only: a user's entry
#: (``optdist.METHODS["mine"] = "mymod:f"``) reached a bare KeyError in :func:`check_method_options`;
#: its refusal names the fix (a solver of one's own is an adapter, :func:`optdist.solvers.register`)
METHODS: dict[str, str] = ReadOnlyDict({
    "milp": "optdist.milp.solve:solve_milp",
    "greedy": "optdist.heuristics.greedy:solve_greedy",
    "per-layer": "optdist.heuristics.per_layer:solve_per_layer",
    "edge-cloud": "optdist.heuristics.edge_cloud:solve_edge_cloud",
    "plan-guided": "optdist.heuristics.plan_guided:solve_plan_guided",
    "plan-rollout": "optdist.heuristics.plan_guided:solve_plan_rollout",
    "rl": "optdist.rl.policy:solve_rl",
    "rl-ppo": "optdist.rl.ppo:solve_rl_ppo",
    "defended": "optdist.defences.placement:solve_defended",
}, "optdist.METHODS (the registry of optdist's own methods)",
    "a placement function of your own is called directly, its Assignment scored with optdist.evaluate(inst, asg) "
    "and given to optdist.solve(inst, warm_start=asg) as the MILP's start; a solver of your own is an adapter, "
    "added with optdist.solvers.register(name, cls), then optdist.solve(inst, solver=name)")

#: the keyword options each registered method's function takes (its parameters after the
#: instance), readable without importing it (torch, the MILP stack): a sweep spec is checked
#: against them when it is read (:mod:`optdist.bench.spec`); tests/test_bench_spec.py keeps
#: them equal to the functions' signatures
METHOD_OPTIONS: dict[str, frozenset[str]] = {
    "milp": frozenset({"formulation", "solver", "time_limit", "mip_gap", "threads", "seed", "warm_start", "tee",
                       "solver_options", "pricing_solver", "pricing_solver_options"}),
    "greedy": frozenset({"seed", "time_limit", "threads"}),
    "per-layer": frozenset({"seed", "time_limit", "threads"}),
    "edge-cloud": frozenset({"seed", "time_limit", "threads"}),
    "plan-guided": frozenset({"forecast", "plan_time_limit", "plan_start", "polish_time_limit", "repair_time_limit", "improve", "solver",
                              "seed", "time_limit", "threads"}),
    "plan-rollout": frozenset({"forecast", "plan_time_limit", "plan_start", "polish_time_limit", "repair_time_limit", "solver", "seed",
                               "time_limit", "threads"}),
    "rl": frozenset({"policy", "episodes", "reward", "masked", "double", "seed", "time_limit", "threads"}),
    "rl-ppo": frozenset({"policy", "timesteps", "seed", "time_limit", "threads"}),
    "defended": frozenset({"inner", "formulation", "solver", "time_limit", "mip_gap", "threads", "seed",
                           "max_combinations"}),
}

#: the type annotation of each option in :data:`METHOD_OPTIONS`, as the methods' signatures write
#: it (an option has the same type in every method that takes it): a sweep spec's option values
#: are type-checked against them when it is read (:func:`optdist.bench.spec.option_value_problem`);
#: tests/test_rl23.py keeps them equal to the signatures
OPTION_TYPES: dict[str, str] = {
    "double": "bool", "episodes": "int | None", "forecast": "Instance | str | Path | None", "formulation": "str | None",
    "improve": "bool", "inner": "str", "masked": "bool", "max_combinations": "int", "mip_gap": "float | None",
    "plan_start": "Assignment | str | Path | None", "plan_time_limit": "float | None",
    "policy": "Policy | str | Path | None", "polish_time_limit": "float | None", "pricing_solver": "str | None",
    "pricing_solver_options": "Mapping[str, Any] | None", "repair_time_limit": "float | None", "reward": "str",
    "seed": "int | None", "solver": "str", "solver_options": "Mapping[str, Any] | None", "tee": "bool",
    "threads": "int | None", "time_limit": "float | None", "timesteps": "int | None",
    "warm_start": "Assignment | str | None",
}

#: values of method ``milp``'s ``formulation`` option and the function each reaches
#: (``auto``, the default: the decomposition when it applies, else ``tight``)
FORMULATIONS: dict[str, str] = {
    "auto": "optdist.milp.solve:solve_milp",
    "decomposed": "optdist.milp.decomposition.orchestrate:solve_decomposed",
    "tight": "optdist.milp.run:solve_formulation",
    "compact": "optdist.milp.run:solve_formulation",
    "per-map": "optdist.milp.run:solve_formulation",
}


def _resolve(target: str) -> Callable[..., SolveResult]:
    module, func = target.split(":")
    return getattr(importlib.import_module(module), func)


def method_function(method: str) -> Callable[..., SolveResult]:
    """The function registered for ``method``; ValueError naming the known ones if unknown."""
    if method not in METHODS:
        raise ValueError(unknown_method(method))
    return _resolve(METHODS[method])


def unknown_method(method: object, where: str = "method") -> str:
    """The one-line error for ``method``, not a key of :data:`METHODS` (``where``: how the user gave
    it, ``--method`` on the command line): the name as typed, the close match (``greedyy``: "did
    you mean greedy?", compared without case) or an example, and the methods. Before, it listed
    them as a Python list with no close match."""
    flag = where.startswith("--")
    shown = f"{where} {method}" if flag else f"{where} {json_text(method)}"
    close = closest(method, sorted(METHODS), ignore_case=True)
    methods = f"the methods: {', '.join(sorted(METHODS))}"
    fix = (f"did you mean {where + ' ' if flag else ''}{close}? {methods[0].upper()}{methods[1:]}" if close else
           f"e.g. {where + ' ' if flag else ''}milp; {methods}")
    return f"unknown {shown} (fix: {fix})"


def check_method_options(method: str, names: Iterable[str]) -> None:
    """Refuse an option ``method`` (a key of :data:`METHODS`) does not take (:data:`METHOD_OPTIONS`)
    before anything runs: ValueError naming the method and the option, and the fix: the close
    match among its options for a typo (``"method greedy takes no option 'time_limt' (fix: write
    'time_limit', the closest option it takes; greedy takes seed, threads, time_limit)"``), else
    the methods that take it (e.g. ``mip_gap`` given to ``greedy``), and the options it takes; a
    ValueError as a bench spec's method options and :func:`optdist.options.check_options` refuse
    theirs. Before, the call reached the method's function and raised a bare TypeError
    ("solve_greedy() got an unexpected keyword argument 'time_limt'")."""
    takes = METHOD_OPTIONS[method]
    for name in sorted(set(names) - takes):
        takers = sorted(m for m, opts in METHOD_OPTIONS.items() if name in opts)
        close = closest(name, sorted(takes))
        fix = (f"write {text_of(close)}, the closest option it takes" if close else
               f"leave it out, or use a method that takes it: {', '.join(takers)}" if takers else "leave it out")
        raise ValueError(f"method {method} takes no option {text_of(name)} (fix: {fix}; {method} takes "
                         f"{', '.join(sorted(takes))})")


#: an example value of each option :func:`check_option_types` checks as a string, for its fix
_STR_EXAMPLES = {"formulation": '"auto"', "inner": '"milp"', "reward": '"latency"'}
#: string options the method checks itself, in words that say more ("give an adapter or profile name")
_OWN_CHECK = ("solver", "pricing_solver")


def check_option_types(method: str, options: dict) -> None:
    """Refuse an option of the wrong type before ``method`` runs, as :func:`optdist.options.check_options`
    refuses a ``time_limit`` that is not a number: ValueError ``"method milp: tee = "no" is not a
    bool (fix: tee=True or tee=False)"``. Checked: every option :data:`OPTION_TYPES` types
    ``bool`` (``tee``, ``improve``, ``masked``, ``double``: a text such as "no" was taken as true,
    or reached Pyomo's 16-frame ValueError), ``str`` (``formulation``, ``inner``, ``reward``; ``solver`` and ``pricing_solver`` are
    checked by the solver registry, "give an adapter or profile name"), ``forecast`` (an
    Instance or the path of its file: 42 was a pathlib TypeError), and ``inner``, which names a
    method (``unknown method "bogus"`` did not say it was ``inner``)."""
    import numpy as np

    where = f"method {method}: "
    for name, value in options.items():
        typ, shown = OPTION_TYPES.get(name), f"{name} = {value_text(value)}"
        if typ == "bool" and not isinstance(value, (bool, np.bool_)):
            raise ValueError(f"{where}{shown} is not a bool (fix: {name}=True or {name}=False)")
        if typ in ("str", "str | None") and name not in _OWN_CHECK and not (isinstance(value, str) or
                                                                              (value is None and typ != "str")):
            raise ValueError(f"{where}{shown} is not a string (fix: e.g. {name}={_STR_EXAMPLES.get(name, '...')}"
                             + (", or None for the default)" if typ != "str" else ")"))
        if name == "forecast" and not (value is None or isinstance(value, (Instance, str, os.PathLike))):
            raise ValueError(f"{where}{shown} is not an instance (fix: give an Instance or the path of an instance "
                             "file (str or pathlib.Path), e.g. forecast=optdist.load_instance(path), or None for the "
                             "instance's own requests)")
        if name == "inner" and value not in METHODS:
            close = closest(value, sorted(METHODS), ignore_case=True)
            raise ValueError(f"{where}inner = {value_text(value)} is no method (fix: "
                             + (f"did you mean inner={json_text(close)}? " if close else 'e.g. inner="milp"; ')
                             + f"the methods: {', '.join(sorted(METHODS))})")


def warm_start_of(inst: Instance, warm_start: object) -> Assignment | str | None:
    """The ``warm_start`` option of :func:`solve` as the MILP takes it: None or a
    method name (a key of :data:`METHODS`) as given; an :class:`Assignment` or a
    :class:`SolveResult`'s assignment checked against ``inst`` (:func:`optdist.evaluate.fitted`,
    :func:`optdist.evaluate.as_assignment`:
    one of another instance is a ValueError naming it and the fix); a file path (``pathlib.Path``, or a str that is no method
    name: one ending in ``.json`` or naming an existing file) read as ``optdist solve
    --warm-start FILE`` reads it, an ``optdist-assignment/1`` or ``optdist-result/1`` file
    (:func:`optdist.commands.core.load_placement`). A str that is neither is a ValueError naming
    the close method and what is taken, another type a TypeError. Before, a path gave "unknown
    method '/path/res.json'" and a SolveResult "unhashable type: 'SolveResult'"."""
    use = f"used as the warm_start of {inst.name}"
    if warm_start is None or (isinstance(warm_start, str) and warm_start in METHODS):
        return warm_start
    if isinstance(warm_start, Assignment):  # another instance's: refused, naming it and the fix
        return fitted(inst, warm_start, "optdist.solve(warm_start=...)")
    if isinstance(warm_start, SolveResult):
        return as_assignment(inst, warm_start, "optdist.solve(warm_start=...)", use)
    if isinstance(warm_start, str) and not (is_json_name(warm_start) or os.path.isfile(warm_start)):
        close = closest(warm_start, sorted(METHODS), ignore_case=True)
        raise ValueError(f"warm_start {json_text(warm_start)}: neither a method nor a file (fix: "
                         + (f"did you mean {close}? " if close else "")
                         + f"give a method ({', '.join(sorted(set(METHODS) - {'milp'}))}), an Assignment, a SolveResult, "
                         "or the path of an assignment or result file of `optdist solve --out`)")
    if isinstance(warm_start, (str, os.PathLike)):
        return as_assignment(inst, warm_start, "optdist.solve(warm_start=...)", use)
    raise TypeError(f"optdist.solve: warm_start is of type {type(warm_start).__name__}; it takes a method "
                    "name (e.g. \"greedy\"), an Assignment, a SolveResult or the path of an assignment or result file "
                    "(str or pathlib.Path)")


def solve(instance: Instance | str | Path | dict, method: str = "milp", **options) -> SolveResult:
    """Solve ``instance`` with ``method``: an :class:`Instance`, the path of an instance file (str
    or ``pathlib.Path``) or an instance document (a dict, as :func:`optdist.generate.generate`
    returns it); another type is a TypeError saying what is taken
    (:func:`optdist.evaluate.as_instance`).

    MILP options: ``formulation`` (a key of :data:`FORMULATIONS`; default ``auto``),
    ``solver`` (adapter or profile name, or an adapter of one's own: a :class:`~optdist.solvers.Solver`
    subclass or an instance of one, for this call, unregistered: :func:`optdist.solvers.adapters_for_call`),
    ``time_limit`` (s, model building included),
    ``mip_gap`` (relative; default :data:`optdist.milp.run.DEFAULT_MIP_GAP`), ``threads``,
    ``seed``, ``tee``, ``solver_options`` (raw), ``warm_start`` (an Assignment, a method
    name such as 'greedy', a SolveResult (its assignment), or the path of an assignment or result
    file, str or ``pathlib.Path``, read as ``optdist solve --warm-start FILE`` reads it:
    :func:`warm_start_of`), ``pricing_solver`` and ``pricing_solver_options`` (the decomposition's
    pricing problems only: :func:`optdist.milp.solve.solve_milp`). The result's assignment is
    re-scored by the evaluator.

    An option ``method`` does not take (a typo, or another method's) is a ValueError naming it,
    the method, the close match or the methods that take it, and the options it takes
    (:func:`check_method_options`). The generic options (``time_limit``, ``mip_gap``, ``threads``,
    ``seed``) are type- and range-checked for every method that takes them, as ``optdist solve``
    checks them: ValueError naming the option, its value and the range, "is not a number" for a
    value of another type (:func:`optdist.options.check_options`); ``threads`` and ``seed`` given
    as an integral float (``threads=1.0``) reach the method as the int. Options of the wrong
    type (``tee="no"``, ``forecast=42``) and an ``inner`` that is no method are a ValueError naming
    the option and the fix (:func:`check_option_types`).
    """
    func = method_function(method)
    check_method_options(method, options)
    if "solver" in options and options["solver"] is None:  # solver=None: as leaving it out (the method's default)
        del options["solver"]
    check_option_types(method, options)
    options.update(check_options({k: v for k, v in options.items() if k in GENERIC_OPTIONS}, f"method {method}"))
    inst = as_instance(instance)
    from optdist.milp.run import refute_checked_bound
    from optdist.solvers import adapters_for_call

    with adapters_for_call(options):  # solver=Mine (a Solver subclass): for this call, not registered
        if "warm_start" in options:
            options["warm_start"] = warm_start_of(inst, options["warm_start"])
        res = func(inst, **options)
        refute_checked_bound(inst, res)  # a user adapter's or GLPK's bound, checked against a greedy placement
        return finalize(inst, res)
