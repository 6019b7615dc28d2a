"""optdist: privacy-aware distributed CNN inference on IoT devices.

Solve instance files exactly (Pyomo + HiGHS or any MILP solver), score any placement with the
independent evaluator, and compare heuristics and RL against the optimum. Profile your own
torch CNN with ``optdist.profile_module(module, (C, H, W))`` (needs torch). ``optdist.METHODS``
is the registry of method names ``optdist.solve`` takes (``optdist.solve`` here is the function, so
``import optdist.solve as m`` gives the function, not its module: use ``from optdist.solve import ...``;
the same holds for ``optdist.evaluate``).

The names below are imported on first use (``import optdist`` alone takes milliseconds), so the
command line (:mod:`optdist.cli`) handles Ctrl-C from its first line on: before, ``import optdist``
took 0.4 s (numpy, pandas, pydantic) in which a Ctrl-C printed a raw KeyboardInterrupt traceback.
"""

import importlib as _importlib
import importlib.util as _util
import sys as _sys
import types as _types
import typing as _typing

if _typing.TYPE_CHECKING:  # for type checkers and IDEs; at run time: __getattr__ below
    from optdist.assignment import Assignment
    from optdist.evaluate import Evaluation, evaluate
    from optdist.instance import Instance, InstanceError, load_instance
    from optdist.result import SolveResult, Termination
    from optdist.solve import METHODS, solve
    from optdist.tracing import profile_module  # noqa: F401 (public, not in __all__: star-imports would load torch)

__all__ = [
    "Assignment",
    "Evaluation",
    "Instance",
    "InstanceError",
    "METHODS",
    "SolveResult",
    "Termination",
    "evaluate",
    "load_instance",
    "solve",
]
__version__ = "0.1.0"

#: each public name and the module it comes from (``profile_module`` needs torch)
_SOURCES = {
    "Assignment": "optdist.assignment",
    "Evaluation": "optdist.evaluate",
    "evaluate": "optdist.evaluate",
    "Instance": "optdist.instance",
    "InstanceError": "optdist.instance",
    "load_instance": "optdist.instance",
    "SolveResult": "optdist.result",
    "Termination": "optdist.result",
    "METHODS": "optdist.solve",
    "solve": "optdist.solve",
    "profile_module": "optdist.tracing",
}


def __getattr__(name: str):
    """A public name of :data:`_SOURCES`, imported on first use; a submodule, imported on first
    use (``optdist.profiles.write_profile_file(...)`` as README writes it: in a fresh interpreter
    it was an AttributeError until something imported ``optdist.profiles``); AttributeError for
    any other."""
    if name not in _SOURCES:
        if name.isidentifier() and not name.startswith("_") and _util.find_spec(f"{__name__}.{name}") is not None:
            return _importlib.import_module(f"{__name__}.{name}")
        raise AttributeError(f"module 'optdist' has no attribute {name!r}")
    value = getattr(_importlib.import_module(_SOURCES[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """What ``dir(optdist)`` and ``help(optdist)`` list: the public API (``__all__``, every name of
    :data:`_SOURCES`, loaded or not, ``__version__``) and the module's own dunders (``__doc__``,
    ``__path__``, ...), not the helpers of the lazy import (``__getattr__``, ``__dir__``, the
    private names)."""
    dunders = {n for n in globals() if n.startswith("__") and n.endswith("__")} - {"__getattr__", "__dir__"}
    return sorted({*__all__, *_SOURCES, *dunders})


class _Package(_types.ModuleType):
    """The package ``optdist``: importing its submodule ``optdist.solve`` (or ``optdist.evaluate``)
    makes Python bind the submodule as the package's attribute of that name; here that binding is
    left out, so ``optdist.solve`` stays the function (as when the package imported it eagerly)."""

    def __setattr__(self, name: str, value: object) -> None:
        if name in _SOURCES and isinstance(value, _types.ModuleType):
            return
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _Package
