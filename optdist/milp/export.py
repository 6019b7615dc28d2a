"""Model files for external solvers and their solutions read back (MODEL.md section 7 models).

``write_model`` writes LP or MPS (minimisation, symbolic names such as ``n(r_k_i)``; the
model name ``<instance>-<formulation>`` is in the file header). ``read_solution`` parses a
solution file of HiGHS (``writeSolution`` style 0 / ``highs --solution_file``), CBC
(``cbc model.lp solve solu FILE``), GLPK (``glpsol --lp model.lp -o FILE``) or a plain
``name value`` file (``sol``: Gurobi/SCIP ``.sol``); ``load_solution`` puts the values into a
rebuilt model so that :meth:`BuiltModel.to_assignment` and the evaluator can score it.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pyomo.environ as pyo

from optdist.milp.model import FORMULATIONS, BuiltModel

MODEL_FORMATS = ("lp", "mps")
SOLUTION_FORMATS = ("highs", "cbc", "glpk", "sol")


def write_model(b: BuiltModel, path: str | Path, fmt: str | None = None) -> Path:
    """Write the model as ``fmt`` (default: the file extension) with symbolic names."""
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt not in MODEL_FORMATS:
        raise ValueError(f"model format {fmt!r}: use one of {MODEL_FORMATS} (or a .lp/.mps file name)")
    if path.suffix.lower() != f".{fmt}":
        raise ValueError(f"{path}: name a .{fmt} file for format {fmt!r} (solvers read the extension)")
    path.parent.mkdir(parents=True, exist_ok=True)
    b.model.write(str(path), io_options={"symbolic_solver_labels": True})
    return path


def formulation_of(model_file: str | Path) -> str | None:
    """The formulation named in a written model's header (``name='<inst>-<formulation>'``)."""
    head = Path(model_file).read_text(errors="replace")[:2000]
    m = re.search(r"(?:model name=|^NAME\s+)'?([^'\s]+)'?", head, re.MULTILINE)
    name = m.group(1) if m else ""
    return next((f for f in FORMULATIONS if name.endswith(f"-{f}")), None)


def read_solution(path: str | Path, fmt: str) -> dict[str, float]:
    """Column name -> value from a solution file in ``fmt`` (one of :data:`SOLUTION_FORMATS`)."""
    lines = Path(path).read_text().splitlines()
    if fmt == "highs":
        return _read_highs(lines, path)
    if fmt == "cbc":
        return _read_cbc(lines, path)
    if fmt == "glpk":
        return _read_glpk(lines, path)
    if fmt == "sol":
        return {p[0]: float(p[1]) for p in (ln.split() for ln in lines) if len(p) >= 2 and not p[0].startswith("#")}
    raise ValueError(f"solution format {fmt!r}: use one of {SOLUTION_FORMATS}")


def _read_highs(lines: list[str], path: str | Path) -> dict[str, float]:
    start = next((n for n, ln in enumerate(lines) if ln.startswith("# Columns")), None)
    if start is None:
        raise ValueError(f"{path}: no '# Columns' section (is it a HiGHS solution file, style 0?)")
    count = int(lines[start].split()[2])
    return {p[0]: float(p[1]) for p in (ln.split() for ln in lines[start + 1 : start + 1 + count])}


def _read_cbc(lines: list[str], path: str | Path) -> dict[str, float]:
    if not lines or "objective value" not in lines[0]:
        raise ValueError(f"{path}: first line should be CBC's status ('Optimal - objective value ...')")
    out = {}
    for ln in lines[1:]:
        p = ln.replace("**", " ").split()
        if len(p) >= 3:
            out[p[1]] = float(p[2])
    return out


def _read_glpk(lines: list[str], path: str | Path) -> dict[str, float]:
    """glpsol's printable report: the table after 'Column name', long names wrap to the next line."""
    start = next((n for n, ln in enumerate(lines) if "Column name" in ln), None)
    if start is None:
        raise ValueError(f"{path}: no 'Column name' table (write it with glpsol -o FILE)")
    out: dict[str, float] = {}
    name: str | None = None
    for ln in lines[start + 2 :]:
        p = ln.split()
        if not p:
            if out:
                break
            continue
        if name is None:
            if not p[0].isdigit():
                break
            name, p = p[1], p[2:]
            if not p:
                continue
        vals = [t for t in p if t != "*"]
        out[name] = float(vals[0])
        name = None
    return out


def load_solution(b: BuiltModel, values: dict[str, float], model_format: str = "lp") -> list[str]:
    """Set the model's Vars from ``values`` (names as written); returns names that matched nothing.

    Vars absent from the file are set to 0 (writers omit columns that appear nowhere).
    """
    with tempfile.TemporaryDirectory() as tmp:
        _, sid = b.model.write(str(Path(tmp) / f"names.{model_format}"), io_options={"symbolic_solver_labels": True})
    by_symbol = b.model.solutions.symbol_map[sid].bySymbol
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
    return unknown
