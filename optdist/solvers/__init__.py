"""MILP solver adapters (one small class per solver) and user profiles (``solvers/*.toml``).

``get_solver(name)`` accepts an adapter name (``highs``, ``cbc``, ``glpk``, ``scip``,
``gurobi``, ``cplex``, ``xpress``, or one added by :func:`register`), a profile name from
``solvers/`` (``OPTDIST_SOLVERS``), or a path to a ``.toml`` profile, and returns a configured
:class:`Solver`. ``available()`` lists the adapters that can run here.
"""

from __future__ import annotations

import copy
import inspect
import numbers
import os
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from types import MappingProxyType

from optdist.jsonfile import json_text, quoted, text_of
from optdist.paths import SOLVERS_DIR
from optdist.solvers.base import Feature, Solver, SolverOutcome, SolverUnavailable
from optdist.solvers.cbc import Cbc
from optdist.solvers.cplex import Cplex
from optdist.solvers.glpk import Glpk
from optdist.solvers.gurobi import Gurobi
from optdist.solvers.highs import Highs
from optdist.solvers.profiles import SolverProfile, profiles, read_profile
from optdist.solvers.scip import Scip
from optdist.solvers.xpress import Xpress

ADAPTERS: dict[str, type[Solver]] = {cls.name: cls for cls in (Highs, Cbc, Glpk, Scip, Gurobi, Cplex, Xpress)}
#: the adapters optdist ships (those :func:`register` adds are in :data:`ADAPTERS` only)
BUILT_IN: frozenset[str] = frozenset(ADAPTERS)


def register(name: str, cls: type[Solver]) -> type[Solver]:
    """Add the adapter class ``cls`` of one's own under ``name``: then ``--solver NAME``,
    ``optdist.solve(..., solver=NAME)`` and profiles with ``solver = "NAME"`` run it, and
    :data:`ADAPTERS` lists it, so the conformance suite (``tests/test_solver_conformance.py``, run
    where it is registered before the tests are collected, e.g. in a ``conftest.py``) checks it
    like the built-in ones. Returns ``cls`` (usable as a decorator's body).

    Raises ValueError unless ``cls`` is a concrete subclass of :class:`Solver` whose ``name`` is
    ``name``, and ``name`` is a non-empty string not taken by an adapter or a profile.
    """
    if not isinstance(name, str) or not name.strip() or name != name.strip() or name.endswith(".toml"):
        raise ValueError(f"register: name {json_text(name)} is no adapter name (fix: give a non-empty name without "
                         "spaces around it and not ending in .toml, e.g. \"mysolver\")")
    if not (isinstance(cls, type) and issubclass(cls, Solver)):  # named once, not as json_text(repr(...)): "'Highs'"
        got, fix = ((f"an instance of {type(cls).__name__}", f"give the class, not an instance: register({text_of(name)}, "
                     f"{type(cls).__name__})") if isinstance(cls, Solver) else
                    (f"class {cls.__name__}" if isinstance(cls, type) else "None" if cls is None else
                     f"{type(cls).__name__} {json_text(cls, 60)}",
                     "give the class of your adapter, e.g. class Mine(Solver): ..."))
        raise ValueError(f"register({text_of(name)}, ...): {got} is not a subclass of optdist.solvers.Solver (fix: {fix})")
    _check_adapter(name, cls, f"register({text_of(name)}, {cls.__name__})")
    ADAPTERS[name] = cls
    return cls


def _check_adapter(name: str, cls: type[Solver], where: str, per_call: bool = False) -> None:
    """What :func:`register` and a class given to one call (:func:`adapters_for_call`) check of a
    :class:`Solver` subclass ``cls`` to run under ``name``: concrete, its ``name`` is ``name``, and
    ``name`` is taken by no adapter nor a profile. ValueError starting with ``where``.
    ``per_call``: for one call only (:func:`adapters_for_call`), where a subclass of the adapter
    that has ``name`` (``class Mine(Highs)``, inheriting ``name = "highs"``) is taken: it runs
    under that name in this call only."""
    if cls is Solver:
        raise ValueError(f"{where}: optdist.solvers.Solver is the abstract base of the adapters, not one (fix: give "
                         "a subclass of it, e.g. class Mine(Solver): ... with name = \"mine\", or an adapter name, "
                         "e.g. \"highs\")")
    if inspect.isabstract(cls):
        missing = ", ".join(sorted(getattr(cls, "__abstractmethods__", ())))
        raise ValueError(f"{where}: {cls.__name__} does not define {missing} "
                         "(fix: implement them; see optdist.solvers.highs.Highs for one)")
    _check_kept(cls, where)
    if getattr(cls, "name", None) != name:
        raise ValueError(f"{where}: the class's name is "
                         f"{text_of(getattr(cls, 'name', None))} (fix: "
                         f"set name = {text_of(name)} in the class)")
    if per_call and name in ADAPTERS and issubclass(cls, ADAPTERS[name]):  # class Mine(Highs): its name inherited
        return
    if name in ADAPTERS:
        raise ValueError(f"{where}: adapter {text_of(name)} is taken by "
                         f"{ADAPTERS[name].__module__}.{ADAPTERS[name].__name__} (fix: choose another name)")
    if name in profiles():
        raise ValueError(f"{where}: {text_of(name)} is the name of the profile "
                         f"{profiles()[name].path}, which --solver {name} would run (fix: choose another name)")


#: the methods of :class:`Solver` that check an adapter's answer or decide what it proves: a user
#: adapter may not override them (:func:`register`; a class given to one call), as none of the
#: built-in ones does (before, ``requested_gap`` returning 1 made a first incumbent 30 % above its
#: bound ``optimal``; ``built_in`` returning True skipped every check of the answer). ``solve``
#: itself may be wrapped (``super().solve(...)`` runs the checks; what a wrapper changes after it,
#: :func:`optdist.result.finalize` checks)
CHECKING_METHODS = ("_solve_checked", "built_in", "bound_checked", "requested_gap", "_check_optimal",
                    "_check_overrun", "_adapter_failed")


def _check_kept(adapter: type[Solver] | Solver, where: str) -> None:
    """A user adapter ``adapter`` (a class; or an instance: given to one call, or as
    :func:`get_solver` creates it) keeps what optdist's checks of its answer rest on: its
    ``abs_gap`` (:func:`_check_abs_gap`) and the methods of :data:`CHECKING_METHODS`, not overridden
    by its class nor, for an instance, set on it (e.g. ``self.abs_gap = 1e12`` or
    ``self.requested_gap = ...`` in ``__init__``, or on the class after :func:`register`: before,
    an ``abs_gap`` set so made a first incumbent 29 % above its bound ``optimal``). ValueError
    starting with ``where``, naming the attribute and the fix."""
    _check_abs_gap(adapter, where)
    cls = adapter if isinstance(adapter, type) else type(adapter)
    mine = {} if adapter is cls else getattr(adapter, "__dict__", {})
    if own := [m for m in CHECKING_METHODS if m in mine or getattr(cls, m, None) is not getattr(Solver, m)]:
        raise ValueError(f"{where}: {cls.__name__} overrides {', '.join(f'Solver.{m}' for m in own)}, which optdist's "
                         "checks of every answer rest on (fix: remove "
                         f"{'it' if len(own) == 1 else 'them'}; implement _solve, which Solver.solve calls and checks)")


def _check_abs_gap(adapter: type[Solver] | Solver, where: str) -> None:
    """A user adapter's ``abs_gap`` (its solver's absolute gap tolerance, model units: µs), which
    closes a gap as ``optimal`` wherever incumbent and bound are that close
    (:func:`optdist.result.closes_gap`), must be a number in [0, the largest a built-in adapter
    has] (CBC's cutoff increment, 1e-05): before, ``abs_gap = 1e12`` made a first incumbent 30 %
    above its bound ``optimal``. ValueError starting with ``where``, naming the value and the fix."""
    value = getattr(adapter, "abs_gap", 0.0)
    most = max(ADAPTERS[n].abs_gap for n in BUILT_IN)
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= most:
        shown = f"{value:g}" if isinstance(value, numbers.Real) and not isinstance(value, bool) else f"'{value}'"
        raise ValueError(f"{where}: abs_gap = {shown} is "
                         f"not a number in [0, {most:g}], the absolute gap tolerances optdist takes, in model units "
                         "(microseconds), as optimal is proven within the requested relative gap (fix: set abs_gap to "
                         "the solver's own absolute tolerance, e.g. abs_gap = 1e-6 as HiGHS's, or leave it out: 0)")


class SolverTypeError(TypeError, ValueError):
    """A ``solver=`` that is neither a name nor a :class:`Solver` (:func:`adapters_for_call`): a
    TypeError, and a ValueError as the refusal of a value that is no name was before."""


#: adapters given to one :func:`optdist.solve` call as a class or an instance, by name
#: (:func:`adapters_for_call`): :func:`get_solver` finds them in that call (its context) only
_CALL_ADAPTERS: ContextVar[MappingProxyType] = ContextVar("optdist_call_adapters", default=MappingProxyType({}))


@contextmanager
def adapters_for_call(options: MutableMapping, keys: tuple[str, ...] = ("solver", "pricing_solver"),
                      where: str = "optdist.solve") -> Iterator[None]:
    """While the block runs, each of ``options[key]`` given as a :class:`Solver` subclass (or an
    instance of one, whose options it keeps: each :func:`get_solver` of it is a copy) runs under its
    class's ``name``, which replaces it in ``options``, without :func:`register`: not in
    :data:`ADAPTERS`, nor seen by another thread or call. Checked as :func:`register` checks a class
    (ValueError), unless it is a built-in or registered one (an instance of it: its options for the call); another class or object (not a str, not None) is a :class:`SolverTypeError` (a TypeError)
    naming ``key=`` and the fix."""
    own: dict[str, tuple[type[Solver], Solver | None]] = {}
    for key in keys:
        value = options.get(key)
        if value is None or isinstance(value, str):
            continue
        cls = value if isinstance(value, type) else type(value)
        if not issubclass(cls, Solver):
            shown = f"{value.__name__} (a class)" if value is cls else f"{json_text(value, 60)} ({cls.__name__})"
            raise SolverTypeError(f"{where}: {key}={shown} is neither an adapter or profile name nor an "
                                  f"optdist.solvers.Solver (fix: give an adapter or profile name, e.g. {key}=\"highs\", "
                                  f"or your adapter class, {key}=Mine with class Mine(optdist.solvers.Solver): ... and "
                                  "name = \"mine\")")
        name = getattr(cls, "name", None)
        registered = isinstance(name, str) and ADAPTERS.get(name) is cls  # a built-in or register()ed class
        if value is cls and registered:  # as its name is
            options[key] = name
            continue
        if not registered:
            if cls is Solver:
                _check_adapter(name, cls, f"{where}: {key}={cls.__name__}")
            if not isinstance(name, str) or not name.strip() or name != name.strip() or name.endswith(".toml"):
                raise ValueError(f"{where}: {key}={cls.__name__}: the class's name is {json_text(name)}, no adapter "
                                 "name (fix: set name = \"mine\" in the class: a non-empty name without spaces around "
                                 "it and not ending in .toml)")
            _check_adapter(name, cls, f"{where}: {key}={cls.__name__}", per_call=True)
        if value is not cls:  # an instance may carry its own abs_gap or methods
            _check_kept(value, f"{where}: {key}={cls.__name__}()")
        if name in own and own[name] != (cls, None if value is cls else value):
            raise ValueError(f"{where}: solver= and pricing_solver= are two adapters named {text_of(name)} (fix: give "
                             "the same one, or name them differently)")
        own[name] = (cls, None if value is cls else value)
        options[key] = name
    token = _CALL_ADAPTERS.set(MappingProxyType({**_CALL_ADAPTERS.get(), **own})) if own else None
    try:
        yield
    finally:
        if token is not None:
            _CALL_ADAPTERS.reset(token)


def unregister(name: str) -> None:
    """Remove the adapter :func:`register` added under ``name`` (a built-in one stays: ValueError)."""
    if name in BUILT_IN:
        raise ValueError(f"unregister({text_of(name)}): a built-in adapter stays (fix: unregister only names you "
                         "registered)")
    if name not in ADAPTERS:
        raise ValueError(f"unregister({text_of(name)}): no adapter of that name is registered (registered: "
                         f"{', '.join(sorted(set(ADAPTERS) - BUILT_IN)) or 'none'})")
    del ADAPTERS[name]


def get_solver(name: str = "highs") -> Solver:
    """The adapter for ``name`` (profile name, ``.toml`` path or adapter name), with its defaults.

    Raises ``ValueError`` for a name that is not a non-empty string or names no adapter or profile.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"solver {json_text(name)}: give an adapter or profile name, e.g. \"highs\" "
                         f"(adapters: {', '.join(sorted(ADAPTERS))})")
    if name in _CALL_ADAPTERS.get():  # given to this call as a class or instance (adapters_for_call)
        cls, adapter = _CALL_ADAPTERS.get()[name]
        return _created(cls) if adapter is None else copy.copy(adapter)
    if name.endswith(".toml"):
        prof: SolverProfile | None = read_profile(Path(name))
    else:
        prof = profiles().get(name)
    if prof is None:
        if name not in ADAPTERS:
            raise ValueError(unknown_solver(name))
        return _created(ADAPTERS[name])
    if prof.solver not in ADAPTERS:
        raise ValueError(f"{prof.path}: unknown adapter {text_of(prof.solver)} (fix: solver = one of "
                         f"{quoted(sorted(ADAPTERS))})")
    try:
        adapter = _created(ADAPTERS[prof.solver], prof.options, prof.solver_options)
    except ValueError as e:
        raise ValueError(f"{prof.path}: {e}") from None
    adapter.profile = prof  # its name and file, for messages (Solver.gap_conflict)
    return adapter


def _created(cls: type[Solver], *args: object) -> Solver:
    """``cls(*args)``; a user adapter's (not a built-in class) exception other than ValueError (its
    own refusal of an option) is a ValueError naming the adapter, what it raised and the fix: its
    code failing, not optdist's (``optdist solve`` said "this is a bug in optdist"). The user adapter
    created is checked as its class was (:func:`_check_kept`: what its ``__init__`` set, or its
    class since :func:`register`)."""
    if cls.name in BUILT_IN and ADAPTERS[cls.name] is cls:  # optdist's own: an exception is a bug report
        return cls(*args)
    named = f"adapter {cls.name} ({cls.__module__}.{cls.__qualname__})"
    try:
        adapter = cls(*args)
    except ValueError:
        raise
    except Exception as e:
        raise ValueError(f"{named} raised {type(e).__name__}: {e} "
                         "when optdist created it (fix: make its __init__(defaults=None, solver_options=None) run "
                         "without raising, calling super().__init__(defaults, solver_options))") from e
    _check_kept(adapter, f"{named}, as optdist created it")
    return adapter


def unknown_solver(name: str, where: str = "solver") -> str:
    """The one-line error for ``name``, which is neither an adapter nor a profile (``where``: how
    the user gave it, ``--solver`` on the command line): the name as typed, the close match among
    the adapters and profiles (``hihgs``: "did you mean highs?", compared without case), else an
    example, and the names there are. Before, it listed them as Python lists with no close match."""
    from optdist.names import closest

    profs = sorted(profiles())
    close = closest(name, sorted(set(ADAPTERS) | set(profs)), ignore_case=True)
    flag = where.startswith("--")
    shown = f"{where} {name}" if flag else f"{where} {text_of(name)}"
    names = (f"adapters: {', '.join(sorted(ADAPTERS))}; profiles in {profile_folder_text()}: "
             f"{', '.join(profs) or 'none'}; "
             f"add one as {SOLVERS_DIR / 'NAME.toml'} (another folder: set OPTDIST_SOLVERS), or give a profile "
             f"by path, e.g. {where + ' ' if flag else ''}./mine.toml")
    fix = (f"did you mean {where + ' ' if flag else ''}{close}? The {names}" if close else
           f"give an adapter or a profile, e.g. {where + ' ' if flag else ''}highs; {names}")
    return f"unknown {shown} (fix: {fix})"


def profile_folder_text() -> str:
    """The profile folder as messages name it: its path, and where it is no folder, that it does
    not exist and so no profile is read (``OPTDIST_SOLVERS`` replaces the package's ``solvers/``,
    whose bundled profiles are then not read either)."""
    if SOLVERS_DIR.is_dir():
        return str(SOLVERS_DIR)
    set_by = "OPTDIST_SOLVERS's folder" if os.environ.get("OPTDIST_SOLVERS") else "the profile folder"
    return (f"{SOLVERS_DIR} ({set_by}, which does not exist, so no profile is read"
            + (", the bundled ones in the package's solvers/ included: create it, or unset OPTDIST_SOLVERS)"
               if os.environ.get("OPTDIST_SOLVERS") else ")"))


def available() -> list[str]:
    """Names of the adapters that can run here."""
    return [n for n, cls in ADAPTERS.items() if cls.is_available()]


__all__ = [
    "ADAPTERS",
    "BUILT_IN",
    "Feature",
    "Solver",
    "SolverOutcome",
    "SolverProfile",
    "SolverTypeError",
    "SolverUnavailable",
    "adapters_for_call",
    "available",
    "get_solver",
    "profiles",
    "read_profile",
    "register",
    "unknown_solver",
    "unregister",
]
