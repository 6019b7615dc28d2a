"""One entry point for every method: ``optdist.solve(instance, method=..., **options)``.

Methods are looked up lazily (``module:function``) so the core imports neither torch nor
the MILP stack until asked. Each method function takes ``(inst: Instance, **options)`` and
returns a :class:`~optdist.result.SolveResult`; :func:`solve` re-scores its assignment with
the independent evaluator before returning it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from optdist.instance import Instance, load_instance
from optdist.result import SolveResult, finalize

METHODS: dict[str, str] = {
    "milp": "optdist.milp.solve:solve_milp",
    "greedy": "optdist.heuristics.greedy:solve_greedy",
    "per-layer": "optdist.heuristics.per_layer:solve_per_layer",
    "edge-cloud": "optdist.heuristics.edge_cloud:solve_edge_cloud",
    "rl": "optdist.rl.policy:solve_rl",
    "defended": "optdist.defences.placement:solve_defended",
}


def method_function(method: str) -> Callable[..., SolveResult]:
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {sorted(METHODS)}")
    module, func = METHODS[method].split(":")
    return getattr(importlib.import_module(module), func)


def solve(instance: Instance | str | Path, method: str = "milp", **options) -> SolveResult:
    """Solve ``instance`` (an :class:`Instance` or a file path) with ``method``.

    MILP options: ``formulation`` ('compact' | 'per-map'), ``solver`` (name or profile),
    ``time_limit`` (s), ``mip_gap`` (relative), ``threads``, ``warm_start`` (an Assignment or
    a method name such as 'greedy'). The result's assignment is re-scored by the evaluator.
    """
    inst = instance if isinstance(instance, Instance) else load_instance(instance)
    res = method_function(method)(inst, **options)
    return finalize(inst, res)
