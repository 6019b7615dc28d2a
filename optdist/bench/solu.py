"""Reference values in the MIPLIB ``.solu`` format, read, derived from records, merged, written.

One line per fact: ``=opt= NAME VALUE`` (proven optimum), ``=best= NAME VALUE`` (best known
feasible objective), ``=bestdual= NAME VALUE`` (best proven lower bound), ``=inf= NAME``
(proven infeasible). optdist minimises, so a better ``best`` is smaller and a better
``bestdual`` larger; ``=opt=`` supersedes both. Values agree when their relative difference
``|a - b| / max(|a|, |b|, 1e-9)`` is at most ``rtol`` (1e-6, MODEL.md section 7).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from optdist.io import atomic_write_text
from optdist.jsonfile import text_of
from optdist.milp.run import DEFAULT_MIP_GAP

RTOL = 1e-6
log = logging.getLogger(__name__)


def rel_diff(a: float, b: float) -> float:
    """``|a - b| / max(|a|, |b|, 1e-9)``."""
    return abs(a - b) / max(abs(a), abs(b), 1e-9)


@dataclass
class Reference:
    """What is known about one instance's optimum."""

    opt: float | None = None
    best: float | None = None
    bestdual: float | None = None
    infeasible: bool = False

    def value(self) -> tuple[float | None, str | None]:
        """The reference to measure gaps against: the optimum, else the best bound."""
        if self.opt is not None:
            return self.opt, "opt"
        if self.bestdual is not None:
            return self.bestdual, "bound"
        return None, None


#: the tags that carry a value (``=inf=`` carries none; other tags, e.g. MIPLIB's ``=unkn=``, are skipped)
VALUED = ("=opt=", "=best=", "=bestdual=")
_FORMS = '"=opt= NAME VALUE", "=best= NAME VALUE", "=bestdual= NAME VALUE" or "=inf= NAME"'


def read_solu(path: str | Path) -> dict[str, Reference]:
    """Parse a ``.solu`` file; unknown tags (e.g. ``=unkn=``) are skipped, ``#`` lines are comments.

    Raises FileNotFoundError for a missing file and ValueError naming the file, the line and the
    fix for anything else: a file that is not text, a line that is not ``=TAG= NAME [VALUE]``, a
    value that is not a finite number, one fact given twice with two values (never "last one
    wins"; and a file that is not a ``.solu`` file is refused before ``--write-solu`` rewrites it),
    or an instance given both as infeasible and with an optimum or a best value.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: .solu file not found")
    try:
        text = path.read_text(encoding="utf-8-sig")  # a UTF-8 BOM (a Windows editor's) is no part of line 1
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: not a readable .solu text file ({e}) (fix: give a file of lines {_FORMS})") from None
    refs: dict[str, Reference] = {}
    for n, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        tag, where = parts[0], f"{path}:{n}: {text_of(line.strip()[:60])}"
        if len(tag) < 3 or tag[0] != "=" or tag[-1] != "=" or len(parts) < 2:
            raise ValueError(f"{where} is not a .solu line (fix: write {_FORMS})")
        ref = refs.setdefault(parts[1], Reference())
        feasible = tag in ("=opt=", "=best=")  # a placement is known: the instance is feasible
        if (tag == "=inf=" and (ref.opt is not None or ref.best is not None)) or (feasible and ref.infeasible):
            raise ValueError(f"{where}: {parts[1]} is given both as infeasible (=inf=) and with a feasible value "
                             "(=opt= / =best=) (fix: keep the right line)")
        if tag == "=inf=":
            ref.infeasible = True
        elif tag in VALUED:
            value = _finite(parts[2]) if len(parts) > 2 else None
            if value is None:
                raise ValueError(f"{where}: no finite value (fix: \"{tag} {parts[1]} VALUE\", VALUE a number)")
            field = tag.strip("=")
            if getattr(ref, field) not in (None, value):
                raise ValueError(f"{where}: {field} of {parts[1]} given twice ({getattr(ref, field):.12g}, then "
                                 f"{value:.12g}) (fix: keep the right line)")
            setattr(ref, field, value)
    return refs


def _finite(token: str) -> float | None:
    try:
        value = float(token)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _facts(name: str, r: Reference) -> list[tuple[str, float | None]]:
    """The (tag, value) facts :func:`write_solu` writes for ``name`` (an optimum hides best/bestdual)."""
    if r.infeasible:
        return [("=inf=", None)]
    if r.opt is not None:
        return [("=opt=", r.opt)]
    return [(t, v) for t, v in (("=best=", r.best), ("=bestdual=", r.bestdual)) if v is not None]


def _same(a: float | None, b: float | None) -> bool:
    """Whether two fact values read the same as :func:`_fact_line` writes them (12 digits): a line
    ``=best= X 0.00722081717452`` holds a best of 0.0072208171745234 (fixd32b)."""
    return a is None and b is None or a is not None and b is not None and f"{a:.12g}" == f"{b:.12g}"


def _fact_line(name: str, tag: str, value: float | None) -> str:
    return f"{tag:<10} {name}" if value is None else f"{tag:<10} {name}  {value:.12g}"


def write_solu(path: str | Path, refs: dict[str, Reference], said: list[str] | None = None) -> Path:
    """Write ``refs`` to the ``.solu`` file ``path`` (an optimum hides the best/bestdual lines it
    supersedes). A file already there is rewritten only where its facts change (fixc31): its
    comments (``#`` lines, a trailing ``# ...``), blank lines, lines of other tags (``=unkn=``) and
    every fact line that still holds (its own value, as written, unchanged, whatever the other
    lines of its instance do: fixd32b) stay as they were, in place; a changed fact's new line takes
    the place of the old one, without its trailing comment, which described the old value (fix32a:
    before, ``=best= X 2.5  # from Table 3`` became ``=best= X 2.4  # from Table 3``): each comment
    so dropped is a warning naming the line and the line written in its place, appended to
    ``said`` where given, else logged. A line whose fact no longer holds (an optimum now hides a
    best/bestdual) is removed, its comment said the same way; facts of an instance new to its
    lines go after its last line. An instance new to the file is added at the end, sorted by
    name. Without a file, the lines are sorted by name."""
    path = Path(path)
    old = path.read_text(encoding="utf-8-sig").splitlines() if path.is_file() else []  # a BOM: as read_solu
    want = {name: _facts(name, refs[name]) for name in refs}
    parsed: list[tuple[str, str, float | None, str] | None] = []  # (tag, name, value, trailing comment) per line
    for line in old:
        body, _, comment = line.partition("#")
        parts = body.split()
        if len(parts) >= 2 and parts[0] in (*VALUED, "=inf=") and not line.lstrip().startswith("#"):
            value = _finite(parts[2]) if len(parts) > 2 else None
            parsed.append((parts[0], parts[1], value, ("  #" + comment) if comment.strip() or "#" in line else ""))
        else:
            parsed.append(None)
    lines: list[str] = []
    dropped: list[str] = []  # the trailing comments of rewritten or removed lines, one warning each
    last: dict[str, int] = {}  # where each instance's facts not in the file yet go: after its last line
    seen: set[tuple[str, str]] = set()  # (name, tag) already written
    for n, (line, p) in enumerate(zip(old, parsed), 1):
        if p is None:
            lines.append(line)
            continue
        tag, name, value, comment = p
        if name not in want:
            continue  # no fact of it is known any more
        facts = dict(want[name])
        if tag in facts and (name, tag) not in seen:  # per line (fixd32b): only a changed line is rewritten
            seen.add((name, tag))
            if _same(value, facts[tag]):
                lines.append(line)  # still true, as written: as it was, comment and all
            else:
                new = _fact_line(name, tag, facts[tag])
                if comment.strip(" #"):  # it described the old value: dropped, and said
                    dropped.append(f"{path}:{n}: {text_of(line.strip())} is rewritten as {text_of(new)} and its "
                                   f"comment {text_of(comment.strip())} dropped, as it described the old value "
                                   "(fix: write the comment again if it still holds)")
                lines.append(new)
            last[name] = len(lines)
        else:  # a fact that no longer holds (an optimum hides best/bestdual) or a repeated line: removed
            if comment.strip(" #"):
                now = "; ".join(_fact_line(name, t, v) for t, v in want[name]) or "no line"
                dropped.append(f"{path}:{n}: {text_of(line.strip())} is removed ({text_of(name)} is now "
                               f"{text_of(now)}) and its comment {text_of(comment.strip())} dropped, as it described "
                               "the old value (fix: write the comment again if it still holds)")
            last.setdefault(name, len(lines))  # where it was, when no line of name stays
    for name in sorted(last, key=lambda n: -last[n]):  # from the end: indices stay valid
        lines[last[name]:last[name]] = [_fact_line(name, t, v) for t, v in want[name] if (name, t) not in seen]
    lines.extend(_fact_line(name, t, v) for name in sorted(set(want) - set(last)) for t, v in want[name])
    out = atomic_write_text(path, "\n".join(lines) + "\n")
    if said is not None:
        said += dropped
    else:
        for d in dropped:
            log.warning("%s", d)
    return out


OPT_GAP = DEFAULT_MIP_GAP
"""Largest relative gap of a run whose objective :func:`refs_from_records` writes as ``=opt=``:
the engine's default gap, the one meaning of "proven optimal" in optdist."""


def unproven_optimal(df: pd.DataFrame) -> pd.Series:
    """The runs of ``df`` (records' rows) that claim ``optimal`` with an infinite bound (Infinity or
    -Infinity): a bound that proves nothing, so the claim is no optimum (:func:`refs_from_records`)
    and certifies nothing (``optdist.bench.tables.certificate_table``)."""
    return (df["termination"] == "optimal") & df["bound"].map(lambda b: pd.notna(b) and math.isinf(b))


def bound_exceeds(name: str, bound: float) -> str:
    """How :func:`merge_refs` begins its contradiction of instance ``name``'s ``bound`` above a
    feasible value (the tables leave it out where they warn about the record of that bound)."""
    return f"{name}: bound {bound:.12g} exceeds a feasible value"


def refs_from_records(df: pd.DataFrame) -> dict[str, Reference]:
    """Reference values implied by records (see :func:`optdist.bench.tables.load_records`).

    ``opt``: the smallest objective claimed optimal, with a relative gap of at most
    :data:`OPT_GAP` (a run "optimal" at a spec's looser ``mip_gap`` is only ``best``), by a run
    whose evaluator found the placement feasible and whose bound is not infinite
    (:func:`unproven_optimal`); ``best``: the smallest evaluator objective of a feasible placement;
    ``bestdual``: the largest finite bound; ``inf``: a run proved infeasibility.
    """
    refs: dict[str, Reference] = {}
    ok = df[df["status"] == "ok"]
    for name, g in ok.groupby("instance"):
        feas = g[g["feasible"] == True]  # noqa: E712 (nullable column)
        proven = (feas["termination"] == "optimal") & (feas["gap"].fillna(0.0) <= OPT_GAP) & ~unproven_optimal(feas)
        opt = feas.loc[proven, "objective"].dropna()
        best = feas["evaluator_objective"].dropna()
        bound = g["bound"].dropna()
        bound = bound[bound.map(math.isfinite)]
        refs[str(name)] = Reference(
            opt=float(opt.min()) if len(opt) else None,
            best=float(best.min()) if len(best) else None,
            bestdual=float(bound.max()) if len(bound) else None,
            infeasible=bool((g["termination"] == "infeasible").any()),
        )
    return refs


def merge_refs(old: dict[str, Reference], new: dict[str, Reference], rtol: float = RTOL) -> tuple[dict[str, Reference], list[str]]:
    """Combine two reference sets, keeping the better of each fact; list contradictions.

    Warnings: two optima that differ by more than ``rtol`` (the old one is kept), a bound above
    a known feasible value or optimum, an optimum below a known bound, infeasible vs a value.
    """
    out: dict[str, Reference] = {}
    warnings: list[str] = []
    for name in sorted(set(old) | set(new)):
        a, b = old.get(name, Reference()), new.get(name, Reference())
        if a.opt is not None and b.opt is not None and rel_diff(a.opt, b.opt) > rtol:
            warnings.append(f"{name}: optimum {a.opt:.12g} (kept) disagrees with {b.opt:.12g}")
        m = Reference(
            opt=a.opt if a.opt is not None else b.opt,
            best=_pick(min, a.best, b.best),
            bestdual=_pick(max, a.bestdual, b.bestdual),
            infeasible=a.infeasible or b.infeasible,
        )
        upper = _pick(min, m.opt, m.best)
        if m.bestdual is not None and upper is not None and m.bestdual > upper and rel_diff(m.bestdual, upper) > rtol:
            warnings.append(f"{bound_exceeds(name, m.bestdual)} {upper:.12g}")
        if m.infeasible and upper is not None:
            warnings.append(f"{name}: recorded infeasible but a feasible value {upper:.12g} exists")
        if m.opt is not None and m.best is not None and m.best < m.opt and rel_diff(m.best, m.opt) > rtol:
            warnings.append(f"{name}: feasible value {m.best:.12g} below the claimed optimum {m.opt:.12g}")
        out[name] = m
    return out, warnings


def refuted(value: float, tag: str, proven: Reference, rtol: float = RTOL) -> tuple[str, float] | None:
    """Whether a ``.solu`` fact ``={tag}= NAME value`` (``tag``: ``opt`` or ``best``) is false by what
    records prove for NAME (``proven``, :func:`refs_from_records`), by more than ``rtol`` relative:
    ``("bound", b)`` where ``value`` lies below a proven lower bound ``b`` (no placement beats it);
    ``("best", p)`` where an optimum lies above the evaluator objective ``p`` of a feasible placement
    (that placement beats the "optimum"); None where neither holds."""
    b, p = proven.bestdual, proven.best
    if b is not None and b > value and rel_diff(b, value) > rtol:
        return "bound", b
    if tag == "opt" and p is not None and value > p and rel_diff(value, p) > rtol:
        return "best", p
    return None


def without_refuted(old: dict[str, Reference], proven: dict[str, Reference],
                    rtol: float = RTOL) -> tuple[dict[str, Reference], list[tuple[str, float, str]]]:
    """``old`` (a ``.solu`` file's values) without each ``=opt=`` / ``=best=`` value that the records'
    ``proven`` values refute (:func:`refuted`), and the refuted values as (instance, value, tag)."""
    kept, gone = dict(old), []
    for name, ref in old.items():
        for tag in ("opt", "best"):
            value = getattr(ref, tag)
            if value is not None and refuted(value, tag, proven.get(name, Reference()), rtol):
                kept[name] = ref = dataclasses.replace(ref, **{tag: None})
                gone.append((name, value, tag))
    return kept, gone


def false_fact(name: str, value: float, tag: str, proven: Reference, files: dict[str, list[Path]] | None = None,
               rtol: float = RTOL) -> str:
    """Why ``={tag}= {name} {value}`` is false (:func:`refuted` by ``proven``), ending "so this line is
    false"; ``files``: the record files per refutation kind (``bound``, ``best``), named where given."""
    why = refuted(value, tag, proven, rtol)
    if why is None:
        raise ValueError(f"={tag}= {name} {value:.12g} is not refuted by the records' values")
    kind, by = why
    said = f" ({', '.join(map(str, (files or {})[kind]))})" if (files or {}).get(kind) else ""
    diff = f"(rel. diff {rel_diff(by, value):.3g} > {rtol:g})"
    if kind == "bound":
        text = (f"is below the bound {by:.12g} that the records prove{said} {diff}: no placement can beat a proven "
               "bound")
    else:
        text = (f"is above the objective {by:.12g} of a placement the evaluator scores feasible{said} {diff}: "
               "an optimum is never above a feasible objective")
    return f"={tag}= {name} {value:.12g} {text}, so this line is false"


def _pick(f, a: float | None, b: float | None) -> float | None:
    vals = [v for v in (a, b) if v is not None]
    return f(vals) if vals else None


def merge_solu_file(path: str | Path, new: dict[str, Reference], rtol: float = RTOL) -> list[str]:
    """Merge ``new`` (values records prove, :func:`refs_from_records`) into the ``.solu`` file at
    ``path`` (created if missing); return warnings. A line of the file that ``new`` refutes
    (:func:`refuted`: an optimum or best value below a proven bound, an optimum above a feasible
    objective) is false: not kept (the merged values replace it), and said."""
    old = read_solu(path) if Path(path).exists() else {}
    kept, gone = without_refuted(old, new, rtol)
    merged, warnings = merge_refs(kept, new, rtol)
    false = [f"{path}: {false_fact(name, value, tag, new[name], rtol=rtol)} and not kept: the records' values replace "
             "it (fix: none needed; if the records are the false ones, solve the instance again)"
             for name, value, tag in gone]
    write_solu(path, merged, warnings)
    return false + warnings
