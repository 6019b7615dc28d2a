"""User-editable solver profiles: ``solvers/*.toml`` (override the folder with ``OPTDIST_SOLVERS``).

A profile names an adapter and its defaults, e.g. ``solvers/highs-1thread.toml``::

    name = "highs-1thread"
    solver = "highs"                 # adapter: highs, cbc, glpk, scip, gurobi, cplex, xpress
    description = "HiGHS on one thread (reproducible timings)"

    [options]                        # generic: time_limit, mip_gap, threads, seed
    threads = 1

    [solver_options]                 # passed to the solver as they are
    presolve = "on"

A new profile is a new file; no code changes.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from optdist.jsonfile import text_of, value_text
from optdist.names import closest
from optdist.paths import SOLVERS_DIR


#: the top-level keys of a profile file (the last two are tables: ``[options]``)
KEYS = ("name", "solver", "description", "options", "solver_options")
_TABLES = ("options", "solver_options")


def _key_text(key: str) -> str:
    """A profile key as a file writes it: ``solver``, a table ``[options]``."""
    return f"[{key}]" if key in _TABLES else key


def _meant(unknown: list[str]) -> str:
    """The "did you mean ...? " of the unknown top-level keys of a profile (``solvr``: solver;
    ``[option]``: [options]; a generic option written at the top, ``mip_gap``: [options] mip_gap),
    "" where none is close (:func:`optdist.names.closest`)."""
    from optdist.options import generic_meant

    said = []
    for key in unknown:
        generic = generic_meant(key)
        close = f"[options] {generic}" if generic else _key_text(c) if (c := closest(key, KEYS)) else None
        if close:
            said.append(close if len(unknown) == 1 else f"{close} for {text_of(key)}")
    return f"did you mean {', '.join(said)}? " if said else ""


@dataclass(frozen=True)
class SolverProfile:
    """A named adapter with default generic options and raw solver options."""

    name: str
    solver: str
    description: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    solver_options: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None


def read_profile(path: str | Path) -> SolverProfile:
    """Parse one profile file (UTF-8; a byte-order mark before the first line, a Windows editor's,
    is skipped); ValueError names the file, the problem and the fix (an unknown
    top-level key with the one meant where one is close: ``solvr``, "did you mean solver?"; also for a profile
    that takes an adapter's name, ``name = "highs"``, but runs another adapter, ``solver = "cbc"``:
    ``--solver highs`` would run CBC under highs's name, as :func:`optdist.solvers.register` refuses
    a taken name; a profile of an adapter's own name that runs that adapter, ``solvers/highs.toml``,
    sets its defaults; ``name``, ``solver`` or ``description`` that is no string, ``name = 7``)."""
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8-sig"))  # a BOM (a Windows editor's) is no TOML statement
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"{path}: invalid TOML: {e}") from None
    except (OSError, UnicodeDecodeError) as e:  # missing, a folder, unreadable, not text
        why = e.strerror if isinstance(e, OSError) and e.strerror else "not a UTF-8 text file"
        raise ValueError(f"{path}: cannot read this solver profile ({why}) (fix: give a TOML file like "
                         "solvers/highs-1thread.toml, or a solver or profile name)") from None
    unknown = sorted(set(doc) - set(KEYS))
    if unknown:
        raise ValueError(f"{path}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(text_of, unknown))} "
                         f"(fix: {_meant(unknown)}use {', '.join(map(_key_text, KEYS))})")
    if "solver" not in doc:
        raise ValueError(f"{path}: missing \"solver\" (fix: add e.g. solver = \"highs\")")
    for table in ("options", "solver_options"):
        if not isinstance(doc.get(table, {}), dict):
            raise ValueError(f"{path}: {table} = {value_text(doc[table])} is not a table (fix: write [{table}] on its own "
                             "line, then one KEY = VALUE per line)")
    for key, sample in (("name", path.stem), ("solver", "highs"), ("description", "HiGHS on one thread")):
        if key in doc and not isinstance(doc[key], str):  # was str() of it: name = 7 ran as "7", solver = 3 "unknown"
            raise ValueError(f"{path}: {key} = {value_text(doc[key])} is not a string (fix: write it in quotes, e.g. "
                             f"{key} = {text_of(sample)})")
    name, solver = doc.get("name", path.stem), doc["solver"]
    from optdist.solvers import ADAPTERS

    if name in ADAPTERS and solver != name:  # by path as in a folder (verify33)
        raise ValueError(f"{path}: profile name {text_of(name)} is the name of the adapter {name}, but the profile "
                         f"runs {text_of(solver)}, so --solver {name} would run {solver} under {name}'s name (fix: "
                         f"choose another name, e.g. name = \"{solver}-{name}\")")
    return SolverProfile(
        name=name,
        solver=solver,
        description=doc.get("description", ""),
        options=dict(doc.get("options", {})),
        solver_options=dict(doc.get("solver_options", {})),
        path=path,
    )


def profiles(folder: Path | None = None) -> dict[str, SolverProfile]:
    """Every profile in ``folder`` (default ``solvers/``), by name.

    Raises ``ValueError`` when two files give one name (which one ``--solver NAME`` ran would
    depend on the files' sort order), naming both files and the fix, and where :func:`read_profile`
    refuses a file (e.g. one that takes an adapter's name but runs another adapter).
    """
    folder = SOLVERS_DIR if folder is None else folder
    out: dict[str, SolverProfile] = {}
    for p in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
        prof = read_profile(p)
        if prof.name in out:
            raise ValueError(f"{p}: profile name {text_of(prof.name)} is also the name in {out[prof.name].path} (fix: give "
                             "each profile its own name = \"...\" (default: the file name without .toml))")
        out[prof.name] = prof
    return out
