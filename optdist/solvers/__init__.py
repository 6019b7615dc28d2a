"""MILP solver adapters (one small class per solver) and user profiles (``solvers/*.toml``).

``get_solver(name)`` accepts an adapter name (``highs``, ``cbc``, ``glpk``, ``scip``,
``gurobi``, ``cplex``, ``xpress``), a profile name from ``solvers/``, or a path to a
``.toml`` profile, and returns a configured :class:`Solver`. ``available()`` lists the
adapters that can run here.
"""

from __future__ import annotations

from pathlib import Path

from optdist.jsonfile import json_text, quoted, text_of
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


def get_solver(name: str = "highs") -> Solver:
    """The adapter for ``name`` (profile name, ``.toml`` path or adapter name), with its defaults.

    Raises ``ValueError`` for a name that is not a non-empty string or names no adapter or profile.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"solver {json_text(name)}: give an adapter or profile name, e.g. \"highs\" "
                         f"(adapters: {', '.join(sorted(ADAPTERS))})")
    if name.endswith(".toml"):
        prof: SolverProfile | None = read_profile(Path(name))
    else:
        prof = profiles().get(name)
    if prof is None:
        if name not in ADAPTERS:
            raise ValueError(unknown_solver(name))
        return ADAPTERS[name]()
    if prof.solver not in ADAPTERS:
        raise ValueError(f"{prof.path}: unknown adapter {text_of(prof.solver)} (fix: solver = one of "
                         f"{quoted(sorted(ADAPTERS))})")
    try:
        adapter = ADAPTERS[prof.solver](prof.options, prof.solver_options)
    except ValueError as e:
        raise ValueError(f"{prof.path}: {e}") from None
    adapter.profile = prof  # its name and file, for messages (Solver.gap_conflict)
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
    names = (f"adapters: {', '.join(sorted(ADAPTERS))}; profiles in solvers/: {', '.join(profs) or 'none'}; "
             "add one as solvers/NAME.toml")
    fix = (f"did you mean {where + ' ' if flag else ''}{close}? The {names}" if close else
           f"give an adapter or a profile, e.g. {where + ' ' if flag else ''}highs; {names}")
    return f"unknown {shown} (fix: {fix})"


def available() -> list[str]:
    """Names of the adapters that can run here."""
    return [n for n, cls in ADAPTERS.items() if cls.is_available()]


__all__ = [
    "ADAPTERS",
    "Feature",
    "Solver",
    "SolverOutcome",
    "SolverProfile",
    "SolverUnavailable",
    "available",
    "get_solver",
    "profiles",
    "read_profile",
    "unknown_solver",
]
