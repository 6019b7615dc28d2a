"""Model files for external solvers and their solutions read back (MODEL.md section 7 models).

``write_model`` writes LP or MPS (minimisation, symbolic names such as ``n(r_k_i)``; the
model name ``<instance>-<formulation>`` is in the file header). ``read_solution`` parses a
solution file of HiGHS (``writeSolution`` style 0 / ``highs --solution_file``), CBC
(``cbc model.lp solve solu FILE``), GLPK (``glpsol --lp model.lp -o FILE``) or a plain
``name value`` file (``sol``: Gurobi/SCIP ``.sol``); ``load_solution`` puts the values into a
rebuilt model so that :meth:`BuiltModel.to_assignment` and the evaluator can score it.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

import pyomo.environ as pyo
from pyomo.opt import ProblemFormat

from optdist.instance import exact_floats, resolved_content
from optdist.io import atomic_path, check_output_file
from optdist.jsonfile import DocumentError, Problem, json_text, quoted
from optdist.milp.model import FORMULATIONS, BuiltModel

if TYPE_CHECKING:
    from optdist.instance import Instance

MODEL_FORMATS = ("lp", "mps")
SOLUTION_FORMATS = ("highs", "cbc", "glpk", "sol")


#: characters of a model name written as they are in the header; the rest (a space, a quote, ``%``,
#: ``*`` of an LP comment's end, non-ASCII) are percent-encoded, so that the name is one word
#: (an MPS NAME field, the LP header's ``name=...``) and reads back whole (:func:`_header_name`)
NAME_SAFE = "-._~+,()[]:@!$&=;#^{}|"
#: Pyomo's name of each format (``format="lp"`` warns that the file name does not match it)
_PYOMO_FORMAT = {"lp": ProblemFormat.cpxlp, "mps": ProblemFormat.mps}


def write_model(b: BuiltModel, path: str | Path, fmt: str | None = None) -> Path:
    """Write the model as ``fmt`` (default: the file extension, in any case: ``.LP`` too) with
    symbolic names, atomically (:func:`optdist.io.atomic_path`: anything but a regular file at
    ``path`` is refused). The model name in the header is ``<instance>-<formulation>``,
    percent-encoded (:data:`NAME_SAFE`: "weird ids" is written ``weird%20ids``), then ``~`` and the
    instance's content fingerprint (:func:`instance_fingerprint`). MPS is written
    without the OBJSENSE section (the model is a minimisation, MPS's default), which GLPK 5
    (``glpsol --freemps``) refuses. The folder of ``path`` must exist (:func:`optdist.io.check_output_file`:
    an :class:`~optdist.io.OutputPathError` naming the fix; before, missing folders were created)."""
    path = Path(path)
    check_output_file(path, "write_model path", f"model.{(fmt or 'lp').lower()}")
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt not in MODEL_FORMATS:
        raise ValueError(f"model format {json_text(fmt)}: use one of {quoted(MODEL_FORMATS)} (or a .lp/.mps file name)")
    if path.suffix.lower() != f".{fmt}":
        raise ValueError(f"{path}: name a .{fmt} file for format {json_text(fmt)} (solvers read the extension)")
    if not b.model.obj.sense == pyo.minimize:  # skip_objective_sense below relies on it
        raise ValueError(f"{b.model.name}: the model is not a minimisation")
    options: dict = {"symbolic_solver_labels": True}
    if fmt == "mps":
        options["skip_objective_sense"] = True
    name = b.model._name  # unquoted: Pyomo's ``name`` quotes a name with a dot ('lenet-1x10-tau0.6-tight')
    b.model.name = quote(name, safe=NAME_SAFE) + FINGERPRINT_MARK + instance_fingerprint(b.inst)
    try:
        with atomic_path(path, keep_suffix=True) as tmp:  # the format given: Pyomo guesses none from ".LP"
            b.model.write(str(tmp), format=_PYOMO_FORMAT[fmt], io_options=options)
    finally:
        b.model.name = name
    return path


#: between the model name and the instance fingerprint in the header (``micro-2x3-tight-tight~3f2a...``):
#: the name ends in the formulation, so only the fingerprint can follow the last one
FINGERPRINT_MARK = "~"
FINGERPRINT_HEX = 12


def instance_fingerprint(inst: Instance) -> str:
    """The first :data:`FINGERPRINT_HEX` hex digits of sha256 over the instance's content, all the
    model's coefficients depend on: its spec as canonical JSON (``model_dump(mode="json")``, keys
    sorted), the numbers it resolves to (each node's memory, capacities, speed and rate, device
    type; each request's source and CNN), so that an edited device catalog changes it too, and each
    CNN it uses as resolved (:func:`optdist.instance.resolved_content`: the layers' shapes, segments, sizes and
    costs, the graph, measured seconds; a zoo profile or a user's profile file edited since changes
    it) with its privacy limits at ``tau`` (Nf, device caps, layers on the source, split point:
    an edited privacy table that moves them changes it). Floats are written as their exact hex
    (:meth:`float.hex`) and keys sorted, so the same content gives the same fingerprint in every
    process. Two instances with the same name but other devices have other fingerprints."""
    doc = {"spec": inst.spec.model_dump(mode="json"), **resolved_content(inst)}
    text = json.dumps(exact_floats(doc), sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:FINGERPRINT_HEX]


def formulation_of(model_file: str | Path) -> str | None:
    """The formulation named in a written model's header (``name='<inst>-<formulation>'``)."""
    return _header_name(model_file)[1]


def instance_of(model_file: str | Path) -> str | None:
    """The instance name in a written model's header (``name='<inst>-<formulation>'``), or None."""
    return _header_name(model_file)[0]


def fingerprint_of(model_file: str | Path) -> str | None:
    """The instance fingerprint in a written model's header (:func:`instance_fingerprint`), or
    None for a file written without one (before fingerprints: import-solution skips the check)."""
    return _header_name(model_file)[2]


def _header_name(model_file: str | Path) -> tuple[str | None, str | None, str | None]:
    """``(instance, formulation, fingerprint)`` from the model name :func:`write_model` puts in the
    header (None for each part it lacks); FileNotFoundError naming the file and the fix when there
    is none."""
    path = Path(model_file)
    if not path.is_file():  # a folder was "not found" too
        what = "a folder, not a model file" if path.is_dir() else "model file not found"
        raise FileNotFoundError(f"{path}: {what} (fix: give the .lp or .mps file `optdist export` wrote)")
    with path.open("rb") as f:
        head = f.read(2000).decode("utf-8-sig", errors="replace")  # an MPS file's NAME line first, after a BOM
    m = re.search(r"(?:model name=|^NAME\s+)'?([^'\s]+)'?", head, re.MULTILINE)
    name = m.group(1) if m else ""
    fp = re.search(rf"{re.escape(FINGERPRINT_MARK)}([0-9a-f]{{{FINGERPRINT_HEX}}})$", name)
    if fp:
        name = name[: fp.start()]
    form = next((f for f in FORMULATIONS if name.endswith(f"-{f}")), None)
    if not form:
        return None, None, None
    return unquote(name[: -len(form) - 1]) or None, form, fp.group(1) if fp else None


MAX_SOLUTION_BYTES = 1 << 29  # 512 MiB: a solution file is one short line per column


class SolutionFileError(DocumentError):
    """An unreadable or inconsistent solution file: the line or column, what is wrong, the fix."""

    kind = "solution file"


def read_solution(path: str | Path, fmt: str) -> dict[str, float]:
    """Column name -> value from a solution file in ``fmt`` (one of :data:`SOLUTION_FORMATS`).

    Raises :class:`SolutionFileError` naming the line and the fix for a file that is not of
    ``fmt``, a value that is not a finite number, a column given twice, or a file over
    :data:`MAX_SOLUTION_BYTES`. The file is read as UTF-8; a byte-order mark before its first line
    (a file saved by a Windows editor) is skipped (a SCIP ``.sol`` file was refused: its first
    line no longer began "solution status:").
    """
    if fmt not in SOLUTION_FORMATS:
        raise ValueError(f"solution format {json_text(fmt)}: use one of {quoted(SOLUTION_FORMATS)}")
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: solution file not found")
    if not path.is_file() or path.stat().st_size > MAX_SOLUTION_BYTES:
        raise _fail(path, "(file)", f"not a regular file of at most {MAX_SOLUTION_BYTES >> 20} MiB",
                    "give the solution file the solver wrote")
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()  # a BOM (a Windows editor's): not in line 1
    except UnicodeDecodeError:
        raise _fail(path, "(file)", "not text", f"give the {fmt} solution file the solver wrote") from None
    except OSError as e:
        raise _fail(path, "(file)", f"cannot be read: {e.strerror or e}", "check the path and its permissions") from None
    reader = {"highs": _read_highs, "cbc": _read_cbc, "glpk": _read_glpk, "sol": _read_sol}[fmt]
    return SolutionValues(reader(lines, path), path, _solver_objective(lines, fmt))


#: the line where a solver writes its own objective value in its solution file, per format
_OBJECTIVE_LINES = {
    "glpk": re.compile(r"^Objective:\s+\S+\s*=\s*(\S+)"),  # glpsol -o: "Objective:  obj = 3728.071837 (MINimum)"
    "cbc": re.compile(r"objective value\s+(\S+)"),          # "Optimal - objective value 3728.07183749"
}


def _solver_objective(lines: list[str], fmt: str) -> tuple[float, int] | None:
    """The objective value the solver wrote in its file (model units) and its line (1-based), or
    None where the format has no such line (``highs``, ``sol``) or the file lacks it."""
    pattern = _OBJECTIVE_LINES.get(fmt)
    for n, ln in enumerate(lines[:50] if pattern else [], 1):  # a header line, before the tables
        m = pattern.search(ln)
        if m:
            try:
                value = float(m.group(1))
            except ValueError:
                return None
            return (value, n) if math.isfinite(value) else None
    return None


def _fail(path: str | Path, where: str, message: str, fix: str) -> SolutionFileError:
    return SolutionFileError(str(path), [Problem(where, message, fix)])


def _no_solution(path: str | Path, where: str, says: str) -> SolutionFileError:
    """The solver wrote this file without a solution (infeasible, unbounded, stopped before one):
    its values are not a placement (an LP relaxation, or zeros), so nothing is read."""
    return _fail(path, where, f"the solver found no solution ({says}): the file holds no placement to import",
                 "an infeasible instance: `optdist diagnose INSTANCE` says which constraints conflict; a stop "
                 "before a solution: run the solver longer, then import its final solution file")


def _number(token: str, path: str | Path, n: int, fmt: str) -> float:
    """The finite float ``token`` on 0-based line ``n``."""
    try:
        x = float(token)
    except ValueError:
        x = None
    if x is None or not math.isfinite(x):
        raise _fail(path, f"line {n + 1}", f"value {json_text(token[:40])} is not a finite number",
                    f"give the {fmt} solution file of a solved model (--format {fmt})")
    return x


def _put(out: dict[str, float], name: str, value: float, path: str | Path, n: int) -> None:
    """``out[name] = value``, refusing a column named twice (which value the solver meant is unknown)."""
    if name in out:
        raise _fail(path, f"line {n + 1}", f"column {json_text(name)} is given a second time ({out[name]:g}, then {value:g})",
                    "give the file the solver wrote, unedited (each column once)")
    out[name] = value


def _read_sol(lines: list[str], path: str | Path) -> dict[str, float]:
    """``name value`` lines: Gurobi's ``.sol`` ('#' comments) or SCIP's (its 'solution status:' and
    'objective value:' lines skipped, '(obj:c)' after each value; 'no solution available': none)."""
    out = {}
    for n, ln in enumerate(lines):
        if ln.startswith(("solution status:", "objective value:")):
            continue
        if ln.strip() == "no solution available":
            raise _no_solution(path, f"line {n + 1}", 'SCIP: "no solution available"')
        p = ln.split()
        if len(p) >= 2 and not p[0].startswith("#"):
            _put(out, p[0], _number(p[1], path, n, "sol"), path, n)
    return out


def _read_highs(lines: list[str], path: str | Path) -> dict[str, float]:
    primal = next((n for n, ln in enumerate(lines) if ln.startswith("# Primal solution values")), None)
    if primal is not None and primal + 1 < len(lines) and lines[primal + 1].strip() == "None":
        at = next((n for n, ln in enumerate(lines) if ln.strip() == "Model status"), None)
        status = lines[at + 1].strip() if at is not None and at + 1 < len(lines) else "no primal solution"
        raise _no_solution(path, f"line {primal + 2}", f"HiGHS model status {json_text(status)}, primal solution values: None")
    start = next((n for n, ln in enumerate(lines) if ln.startswith("# Columns")), None)
    if start is None:
        raise _fail(path, "(file)", "no '# Columns' section", "give a HiGHS solution file (style 0), or the right --format")
    head = lines[start].split()
    if len(head) < 3 or not head[2].isdigit():
        raise _fail(path, f"line {start + 1}", f"{json_text(lines[start][:60])} does not give the column count", "give a HiGHS solution file (style 0)")
    count = int(head[2])
    body = lines[start + 1 : start + 1 + count]
    if len(body) < count:
        raise _fail(path, f"line {start + 1}", f"declares {count} columns, {len(body)} follow", "give the whole file the solver wrote")
    out = {}
    for n, ln in enumerate(body, start + 1):
        p = ln.split()
        if len(p) < 2:
            raise _fail(path, f"line {n + 1}", f"{json_text(ln[:60])} is not 'name value'", "give the whole file the solver wrote")
        _put(out, p[0], _number(p[1], path, n, "highs"), path, n)
    return out


def _read_cbc(lines: list[str], path: str | Path) -> dict[str, float]:
    if not lines or "objective value" not in lines[0]:
        raise _fail(path, "line 1", "not CBC's status line ('Optimal - objective value ...')",
                    "give the file of `cbc model.lp solve solu FILE`, or the right --format")
    status = lines[0].split(" - objective value")[0].strip()
    if any(w in status.lower() for w in ("infeasible", "unbounded", "no integer solution")):
        raise _no_solution(path, "line 1", f"CBC status {json_text(status)}")
    out = {}
    for n, ln in enumerate(lines[1:], 1):
        p = ln.replace("**", " ").split()
        if len(p) >= 3:
            _put(out, p[1], _number(p[2], path, n, "cbc"), path, n)
    return out


def _read_glpk(lines: list[str], path: str | Path) -> dict[str, float]:
    """glpsol's printable report: the table after 'Column name', long names wrap to the next line."""
    start = next((n for n, ln in enumerate(lines) if "Column name" in ln), None)
    if start is None:
        raise _fail(path, "(file)", "no 'Column name' table", "write it with glpsol -o FILE, or give the right --format")
    at = next((n for n, ln in enumerate(lines[:start]) if ln.startswith("Status:")), None)
    status = lines[at].split(":", 1)[1].strip() if at is not None else ""
    if any(w in status for w in ("EMPTY", "UNDEFINED", "INFEASIBLE", "UNBOUNDED")):
        raise _no_solution(path, f"line {at + 1}", f"GLPK status {json_text(status)}")
    if at is not None and not status.startswith("INTEGER"):  # "OPTIMAL": the LP relaxation's report (--nomip)
        raise _fail(path, f"line {at + 1}", f"GLPK status {json_text(status)} is that of an LP relaxation (glpsol "
                    "--nomip, or stopped before its integer search), whose fractional values are no placement; an "
                    "integer solution's is \"INTEGER ...\"", "solve the integer model: glpsol without --nomip and "
                    "given the time to find a solution, e.g. `glpsol --lp model.lp -o model.sol`")
    out: dict[str, float] = {}
    name: str | None = None
    for n, ln in enumerate(lines[start + 2 :], start + 2):
        p = ln.split()
        if not p:
            if out:
                break
            continue
        if name is None:
            if not p[0].isdigit():
                break
            if len(p) < 2:
                raise _fail(path, f"line {n + 1}", f"{json_text(ln[:60])} has no column name", "give the whole report glpsol wrote")
            name, p = p[1], p[2:]
            if not p:
                continue
        vals = [t for t in p if t != "*"]
        if not vals:
            raise _fail(path, f"line {n + 1}", f"no value for column {json_text(name)}", "give the whole report glpsol wrote")
        _put(out, name, _number(vals[0], path, n, "glpk"), path, n)
        name = None
    return out


def load_solution(b: BuiltModel, values: dict[str, float], model_format: str = "lp") -> list[str]:
    """Set the model's Vars from ``values`` (names as written); returns names that matched nothing.

    Vars absent from the file are set to 0 (writers omit columns that appear nowhere). When
    every name matched, the values must lie in their variables' domains and bounds and meet the
    model's equality constraints (those that define a placement: each map owned once, flows
    conserved), else :class:`SolutionFileError` names the column or constraint; inequalities
    (capacities, privacy) are left to the evaluator, which reports their violations.
    """
    with tempfile.TemporaryDirectory() as tmp:
        _, sid = b.model.write(str(Path(tmp) / f"names.{model_format}"), io_options={"symbolic_solver_labels": True})
    symbols = b.model.solutions.symbol_map[sid]
    by_symbol = symbols.bySymbol
    for v in b.model.component_data_objects(pyo.Var, descend_into=True):
        v.set_value(0, skip_validation=True)
    unknown = []
    for name, val in values.items():
        var = by_symbol.get(name)
        if var is None:
            if not name.startswith("ONE_VAR_CONSTANT"):
                unknown.append(name)
        else:
            var.set_value(val, skip_validation=True)
    if not unknown:
        _check_loaded(b, symbols, getattr(values, "source", "solution"))
    return unknown


class SolutionValues(dict):
    """Column name -> value, remembering the file they were read from (``source``) and the
    objective value the solver wrote in it (``objective``: model units, unrounded by the columns'
    print; ``objective_line``: its 1-based line), both None where the file gives none (``highs``,
    ``sol``, or a glpsol / CBC file without that line)."""

    def __init__(self, values: dict[str, float], source: str | Path, objective: tuple[float, int] | None = None):
        super().__init__(values)
        self.source = str(source)
        self.objective, self.objective_line = objective if objective is not None else (None, None)


def _check_loaded(b: BuiltModel, symbols, source: str, tol: float = 1e-5) -> None:
    """Raise :class:`SolutionFileError` unless the loaded values are in domain and meet every equality."""
    fix = "give the final solution the solver wrote for this exported model (was it stopped early, or edited?)"
    label = lambda c: symbols.byObject.get(id(c), c.name)  # noqa: E731  (the name in the file)
    for v in b.model.component_data_objects(pyo.Var, descend_into=True):
        x = float(v.value)
        bad = (v.is_integer() and abs(x - round(x)) > tol) or (v.lb is not None and x < v.lb - tol * (1 + abs(v.lb))) \
            or (v.ub is not None and x > v.ub + tol * (1 + abs(v.ub)))
        if bad:
            what = "an integer" if v.is_integer() else "a number"
            raise SolutionFileError(source, [Problem(f"column {label(v)}", f"value {x:g} is not {what} in [{v.lb}, {v.ub}]", fix)])
    for c in b.model.component_data_objects(pyo.Constraint, active=True, descend_into=True):
        if c.equality:
            lhs, rhs = pyo.value(c.body), pyo.value(c.upper)
            if abs(lhs - rhs) > tol * (1 + abs(rhs)):
                raise SolutionFileError(source, [Problem(f"constraint {label(c)}", f"not met: {lhs:g} != {rhs:g}", fix)])
