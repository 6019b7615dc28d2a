"""Result tables from sweep records, following MIPLIB / Mittelmann conventions.

* **Shifted geometric mean** of times: ``sgm(t; s) = exp(mean(ln(t_i + s))) - s`` with shift
  ``s = 10`` s; a run that did not finish solved (time limit, error, guard) enters at the time
  limit, a solved run at ``min(t, limit)``.
* **Solved** = the method proved its answer: termination ``optimal``, ``infeasible`` or
  ``unbounded``.
* **Gap** (optdist's bounded definition, as :func:`optdist.result.gap`):
  ``|p - d| / max(|p|, |d|, 1e-9)``, 1 if the signs differ. The gap of a placement to the
  reference uses its evaluator objective ``p`` and the instance's optimum, else its best
  known bound ``d`` (then an upper estimate of the true gap).
* Two runs that both claim optimality *disagree* when one run's proven bound lies above the
  other's objective by more than 1e-6 relative (each claim holds within its own gap, so two
  honest claims at the default gap of 1e-4 may differ by up to that): the solver table then
  carries a warning.
* A record whose own bound lies above its own objective beyond rounding
  (:func:`optdist.result.within_rounding`) is warned too, naming the record file: a lower bound
  above a placement's objective is false (:func:`bounds_above_objective`), once: the reference
  warning of the same bound above a feasible value is left out. A record claiming ``optimal``
  with an infinite bound is warned as well and its objective is no optimum (:func:`unproven_optima`).
* A record that contradicts itself (:func:`contradictory_records`: an unknown termination word,
  ``optimal`` with a gap above the requested one, an evaluator objective other than the objective
  of a feasible placement, ``feasible`` against its termination; and a bound above its own
  objective, :func:`false_bounds`) is warned, naming its file, and set aside as a damaged record
  is: left out of every table (solvers, gaps, certificates) and of the reference values, a note
  under each table naming the files. A missing value prints as an empty cell,
  never as ``nan``.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from optdist.bench.records import SUMMARY_KINDS, missing_runs, read_records, record_path, rerun
from optdist.bench.solu import (RTOL, Reference, bound_exceeds, false_fact, merge_refs, read_solu, refs_from_records,
                                refuted, rel_diff, unproven_optimal, without_refuted)
from optdist.bench.solu import write_solu as write_solu_file
from optdist.io import atomic_write_text
from optdist.jsonfile import json_text, quoted
from optdist.milp.run import DEFAULT_MIP_GAP
from optdist.result import AGREE_RTOL, CLAIMS_FEASIBLE, GAP_EPS, Termination, gap, solver_abs_gap, within_rounding

SHIFT_S = 10.0
SOLVED = ("optimal", "infeasible", "unbounded")
SUMMARY_FIELDS = tuple(SUMMARY_KINDS)
INFO_FIELDS = ("n_requests", "n_devices", "tau", "period_s", "cnns", "device_types")
log = logging.getLogger(__name__)


def sgm(times: Iterable[float], shift: float = SHIFT_S) -> float:
    """Shifted geometric mean ``exp(mean(ln(t + shift))) - shift``."""
    t = np.asarray(list(times), dtype=float)
    return float(np.exp(np.mean(np.log(t + shift))) - shift) if len(t) else math.nan


def flatten(rec: dict) -> dict:
    """One record as a flat table row (run key, run axes, summary, instance info, scores). A failed
    run's termination is ``timeout`` where the wall-clock guard killed it (counted as stopped by its
    time limit), but ``error`` where it killed it during start-up or the evaluator's re-score
    (``killed_during``, records made since it is written: the method had not started, or had
    returned), else ``error``."""
    run, summ, info = rec["run"], rec.get("summary") or {}, rec.get("instance_info") or {}
    row = {
        "key": rec["key"],
        "status": rec["status"],
        "error": rec.get("error"),
        "instance": run["instance"],
        "instance_path": run["instance_path"],
        "method": run["method"],
        "solver": run["solver"] or summ.get("solver"),  # as reported by a method outside the solver axis
        "formulation": run["formulation"],
        "ran": summ.get("formulation"),  # the formulation the solve ran (auto: decomposed or tight), where it says
        "seed": run["seed"],
        "time_limit": run["options"].get("time_limit"),
        "threads": run["options"].get("threads"),
        "mip_gap": run["options"].get("mip_gap"),
        **{f: summ.get(f) for f in SUMMARY_FIELDS},
        **{f: info.get(f) for f in INFO_FIELDS},
        "requests_ok": rec.get("requests_ok"),
        "per_request": rec.get("per_request"),
        "elapsed_s": rec.get("elapsed_s"),
        "cpu": (rec.get("host") or {}).get("cpu"),
        "spec": rec.get("spec"),  # the name of the spec that ran it (two specs may share a folder)
        "limit_reached": (rec.get("extra") if isinstance(rec.get("extra"), dict) else {}).get("limit_reached"),
    }
    if rec["status"] != "ok":  # killed before its solve started (a stalled machine) or after it returned: a failed run
        timed_out = rec["status"] == "timeout" and rec.get("killed_during") not in ("start-up", "scoring")
        row["termination"] = "timeout" if timed_out else "error"
    parts = [run["method"], run["solver"], run["formulation"]]
    row["config"] = "/".join(str(p) for p in parts if p is not None)
    return row


def load_records(out: str | Path) -> pd.DataFrame:
    """Every usable record under ``OUT/records/`` as a DataFrame (one row per run).

    A damaged record is skipped with a logged warning naming its file
    (:func:`optdist.bench.records.read_records`). Instances that share a file name but not a
    folder are told apart by the end of their path (``a/x`` and ``b/x``). Raises
    FileNotFoundError when no usable record is left.
    """
    recs, warns = read_records(out)
    for w in warns:
        log.warning(w)
    if not recs:
        why = f" (left out: the {len(warns)} warning(s) above say why, damaged or made from other files)" if warns else ""
        raise FileNotFoundError(f"{out}: no usable records under {Path(out) / 'records'}{why} "
                                f"(fix: run {rerun(out)}, which does the runs without a usable record)")
    df = pd.DataFrame([flatten(r) for r in recs])
    df["instance"] = _distinct_names(df["instance"], df["instance_path"])
    return df.astype({"objective": float, "bound": float, "evaluator_objective": float, "wall_time_s": float})


def _distinct_names(names: pd.Series, paths: pd.Series) -> list[str]:
    """``names``, with each name that stands for several paths replaced by the shortest
    path ending (without suffix) that tells those paths apart."""
    parts = {p: Path(p).with_suffix("").parts for p in paths.unique()}
    label: dict[str, str] = {}
    for name, group in paths.groupby(names):
        ps = list(group.unique())
        for k in range(1, max(len(parts[p]) for p in ps) + 1):
            cut = {p: "/".join(parts[p][-k:]) for p in ps}
            if len(set(cut.values())) == len(ps):
                break
        else:  # the same path but for its suffix
            cut = {p: p for p in ps}
        label |= cut if len(ps) > 1 else {ps[0]: name}
    return [label[p] for p in paths]


def _time(row: pd.Series) -> float:
    """Time charged to a run: ``min(t, limit)`` if solved, the limit otherwise (wall time if none)."""
    limit = row["time_limit"]
    t = row["wall_time_s"] if pd.notna(row["wall_time_s"]) else row["elapsed_s"]
    if pd.isna(limit):
        return float(t)
    return float(min(t, limit)) if row["termination"] in SOLVED else float(limit)


def _at_time_limit(g: pd.DataFrame) -> pd.Series:
    """The rows of runs stopped by their time limit: termination ``time_limit``, killed by the
    wall-clock guard (``timeout``), or ``no_solution`` at the limit (the solver said its time limit
    ended it, ``extra.limit_reached``, or the run lasted its whole limit)."""
    t = g["wall_time_s"].where(g["wall_time_s"].notna(), g["elapsed_s"]).astype(float)
    ran_out = (g["limit_reached"] == "time_limit") | (g["time_limit"].notna() & (t >= g["time_limit"].astype(float)))
    return g["termination"].isin(["time_limit", "timeout"]) | ((g["termination"] == "no_solution") & ran_out)


def solver_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per configuration (method/solver/formulation): runs, % solved, ``time_limit`` (stopped by the
    time limit with or without a placement, :func:`_at_time_limit`), errors (failed runs:
    termination ``error`` without a placement, or no record of a result), ``errors_kept`` (ended
    ``error`` but kept a feasible placement, :func:`optdist.bench.records.kept_placement`: a result,
    also in the gap tables and certificates), ``other_unsolved`` (every other run: ``feasible``
    without a proof, ``no_solution`` before the limit, an iteration limit, ``interrupted``,
    ``violated``), sgm time. ``solved + time_limit + errors + errors_kept + other_unsolved = runs``.

    ``sgm_rel`` is the configuration's sgm divided by the fastest one (Mittelmann's scaling). Where
    the configurations were measured on different instances (:func:`lacking`), ``sgm_time_s`` and
    ``sgm_rel`` are over the instances every one has (:func:`common_instances`; none: empty), so that
    a configuration lacking the hard instances is not the fastest for it (:func:`coverage_warning`).
    """
    rows = []
    common = common_instances(df)
    for config, g in df.groupby("config", sort=True):
        compared = g if not lacking(df) else g[g["instance"].isin(common)]
        solved = g["termination"].isin(SOLVED)
        kept = _kept_on_error(g)
        limit = _at_time_limit(g) & ~solved
        errors = (g["termination"] == "error") & ~kept
        rows.append({
            "config": config,
            "instances": g["instance"].nunique(),
            "runs": len(g),
            "solved": int(solved.sum()),
            "solved_pct": 100.0 * solved.mean(),
            "time_limit": int(limit.sum()),
            "errors": int(errors.sum()),
            "errors_kept": int(kept.sum()),  # ended error, kept a feasible placement: a result (records.kept_placement)
            "other_unsolved": int((~(solved | limit | errors | kept)).sum()),
            "sgm_time_s": sgm(compared.apply(_time, axis=1)) if len(compared) else math.nan,
        })
    out = pd.DataFrame(rows)
    if len(out):
        out["sgm_rel"] = out["sgm_time_s"] / max(out["sgm_time_s"].min(), 1e-12)
    return out


def common_instances(df: pd.DataFrame) -> set[str]:
    """The instances that every configuration of ``df`` has a row of."""
    sets = [set(g) for _, g in df.groupby("config")["instance"]]
    return set.intersection(*sets) if sets else set()


def lacking(df: pd.DataFrame) -> dict[str, list[str]]:
    """Per configuration of ``df`` that lacks some: the instances other configurations have and it has
    no row of (no record: an interrupted sweep, a damaged or contradictory record set aside, specs with
    other instances sharing the folder), sorted."""
    every = set(df["instance"])
    return {str(c): sorted(every - set(g)) for c, g in df.groupby("config")["instance"] if every - set(g)}


def coverage_warning(df: pd.DataFrame, out: str | Path, compared: str) -> list[str]:
    """One warning (no level word) where the configurations of ``df`` were measured on different
    instances (:func:`lacking`), naming each configuration and the instances it lacks, and
    ``compared``, what the table does about it (e.g. the sgm over the common instances); else []."""
    lack = lacking(df)
    if not lack:
        return []
    common = sorted(common_instances(df))
    each = "; ".join(f"{c} lacks {', '.join(names)}" for c, names in lack.items())
    over = (f"the {len(common)} instance(s) every configuration has ({', '.join(common)})" if common
            else "no instance, as none is common to every configuration")
    specs = sorted({s for s in df["spec"] if isinstance(s, str)})
    shared = (f"; the records are of the specs {quoted(specs)}, which share this folder: to compare them, give each "
              "spec its own out") if len(specs) > 1 else ""
    return [f"{Path(out) / 'records'}: configurations measured on different instances: {each}; {compared} "
            f"{over} (fix: do the runs they lack where a spec's grid has them, e.g. run {rerun(out)} again, which "
            f"does the runs of its grid without a usable record (the warnings above name any record set aside){shared})"]


def _kept_on_error(g: pd.DataFrame) -> pd.Series:
    """The rows of runs that ended ``error`` but kept a feasible placement, as recorded (status
    ``ok``: :func:`optdist.bench.records.kept_placement`); a record of status ``error`` is a failed run."""
    return (g["status"] == "ok") & (g["termination"] == "error") & (g["feasible"] == True)  # noqa: E712 (nullable)


def by_instance_table(df: pd.DataFrame) -> pd.DataFrame:
    """Instances x configurations: charged time in s, ``>`` marking unsolved runs (Mittelmann style)."""
    cell = df.apply(lambda r: f"{_time(r):.2f}" + ("" if r["termination"] in SOLVED else " >"), axis=1)
    return df.assign(cell=cell).pivot_table(index="instance", columns="config", values="cell", aggfunc="first").reset_index()


def disagreements(df: pd.DataFrame, rtol: float = RTOL) -> list[str]:
    """Instances where two runs' optimality claims contradict each other: one run's proven lower
    bound (its recorded bound, else its objective less its recorded relative gap, else its
    objective) lies above another run's objective by more than ``rtol`` relative, so one of the
    claims is false. Two runs that each stopped within their own gap (optdist's default 1e-4, or a
    spec's ``mip_gap``) may report objectives up to that gap apart: both claims hold and nothing
    is warned. One text per instance, naming the instance file, the two runs and the fix, without
    a level word (the ``optdist`` logger adds one on stderr; :func:`write_tables` writes it into
    the tables as "WARNING ...")."""
    out = []
    opt = df[(df["termination"] == "optimal") & df["objective"].notna()]
    for inst, g in opt.groupby("instance"):
        if len(g) < 2:
            continue
        proven = g["objective"] * (1.0 - g["gap"].astype(float).fillna(0.0).clip(0.0, 1.0))
        lower = g["bound"].where(g["bound"].map(lambda b: b is not None and math.isfinite(b)), proven)
        first, second = g["objective"].nsmallest(2).index  # the least objective of the runs but i: O(n)
        _, hi, lo = max((lower[i] - g.at[first if i != first else second, "objective"], i,
                         first if i != first else second) for i in g.index)
        if lower[hi] > g.at[lo, "objective"] and rel_diff(lower[hi], g.at[lo, "objective"]) > rtol:
            path = g["instance_path"].iloc[0]
            out.append(f"{path}: optimality claims disagree on {inst}: {_run_label(g, hi)} proves a bound of "
                       f"{lower[hi]:.12g}, above the objective {g.at[lo, 'objective']:.12g} of {_run_label(g, lo)} "
                       f"(rel. diff {rel_diff(lower[hi], g.at[lo, 'objective']):.3g} > {rtol:g}), so one claim is false "
                       f"(fix: solve it again with a smaller gap to tell which: `optdist solve {path} --gap {rtol:g}`)")
    return out


def false_bounds(df: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``df`` whose own bound lies above their own objective beyond rounding
    (:func:`optdist.result.within_rounding`): a lower bound above a placement's objective is no
    bound (a solver's false claim, or a hand-edited record)."""
    ok = df[(df["status"] == "ok") & df["bound"].notna() & df["objective"].notna()]
    false = [i for i in ok.index if math.isfinite(ok.at[i, "bound"]) and math.isfinite(ok.at[i, "objective"])
             and ok.at[i, "bound"] > ok.at[i, "objective"]
             and within_rounding(float(ok.at[i, "bound"]), float(ok.at[i, "objective"])) != ok.at[i, "objective"]]
    return ok.loc[false]


#: what a record that contradicts itself is left out of (:func:`set_aside_contradictions`), in the
#: tables' warnings and in the figures' (:func:`optdist.bench.figures.write_figures`)
LEFT_OUT_OF_TABLES = "left out of the certificates, the solver and gap tables and the reference values"
LEFT_OUT_OF_FIGURES = "left out of the figures (not drawn), as it is of the tables"
#: the tables' words when the same command draws the figures too (``optdist bench`` with a spec's
#: ``figures``): one warning per record says both, the figures' own is not given (tidy31)
LEFT_OUT_OF_TABLES_AND_FIGURES = ("left out of the certificates, the solver and gap tables, the reference values and "
                                  "the figures (not drawn)")


def bounds_above_objective(df: pd.DataFrame, out: str | Path, left_out_of: str = LEFT_OUT_OF_TABLES) -> list[str]:
    """The records of :func:`false_bounds`: as the instance's largest bound, such a bound would
    become the reference of every other run. One text per record, naming its file
    (``OUT/records/<key>.json``), the two numbers, what it is left out of (``left_out_of``) and the
    fix, without a level word (the ``optdist`` logger adds one; :func:`write_tables` writes it into
    the tables as "WARNING ...")."""
    out_warns = []
    false = false_bounds(df)
    for i in false.index:
        bound, objective = float(false.at[i, "bound"]), float(false.at[i, "objective"])
        path = false.at[i, "instance_path"]
        out_warns.append(
            f"{record_path(out, false.at[i, 'key'])}: its bound {bound:.12g} is above its own objective "
            f"{objective:.12g} (rel. diff {rel_diff(bound, objective):.3g}) on {false.at[i, 'instance']} "
            f"({_run_label(false, i)}, termination {false.at[i, 'termination']}): a lower bound cannot exceed a "
            f"placement's objective, so the record contradicts itself and is set aside: {left_out_of} (fix: solve "
            "the instance again to check, e.g. "
            f"`optdist solve {path}`; then delete this record and run {rerun(out, false.at[i, 'spec'])} again, which "
            "redoes the run)")
    return out_warns


def unproven_optima(df: pd.DataFrame, out: str | Path) -> list[str]:
    """The records of :func:`optdist.bench.solu.unproven_optimal` (``optimal`` with an infinite
    bound): their objective is taken as no optimum, so the gap tables do not measure against it as
    ``opt`` and the certificate does not rest on it. One text per record, naming its file and the
    fix, without a level word."""
    ok = df[df["status"] == "ok"]
    bad = ok[unproven_optimal(ok)]
    return [f"{record_path(out, bad.at[i, 'key'])}: it claims termination optimal on {bad.at[i, 'instance']} "
            f"({_run_label(bad, i)}) with bound {json_text(float(bad.at[i, 'bound']))}, which proves nothing; "
            "its objective is not taken as the instance's optimum nor as certified (fix: solve the instance again to "
            f"check, e.g. `optdist solve {bad.at[i, 'instance_path']}`; then delete this record and run "
            f"{rerun(out, bad.at[i, 'spec'])} again, which redoes the run)" for i in bad.index]


#: the termination words a record may hold (:class:`optdist.result.Termination`; ``timeout``: the
#: wall-clock guard's, set from the record's status)
TERMINATIONS = tuple(str(t) for t in Termination) + ("timeout",)


def _finite(v: object) -> bool:
    return v is not None and not pd.isna(v) and math.isfinite(float(v))


def _contradiction(row: pd.Series) -> str | None:
    """What in the record of ``row`` contradicts itself (as no run writes it: a hand-edited or
    corrupted record), with the fix's field written right, or None."""
    term, obj, ev, feas = row["termination"], row["objective"], row["evaluator_objective"], row["feasible"]
    if term not in TERMINATIONS:
        return (f"its summary.termination {json_text(term)} is not a termination word (fix: write one of "
                f"{quoted(TERMINATIONS)}, e.g. \"termination\": \"feasible\"")
    if term == "optimal" and _finite(row["gap"]):
        mip_gap = row.get("mip_gap")
        mip_gap = float(mip_gap) if isinstance(mip_gap, (int, float)) and not isinstance(mip_gap, bool) else DEFAULT_MIP_GAP
        closed = _finite(obj) and _finite(row["bound"]) and obj - row["bound"] <= solver_abs_gap(row["solver"]) * (1 + 1e-6)
        if float(row["gap"]) > max(mip_gap, GAP_EPS) * (1 + 1e-6) and not closed:
            return (f"it claims termination \"optimal\" with summary.gap {json_text(float(row['gap']))}, above the "
                    f"requested gap {mip_gap:g}, so nothing proves it optimal (fix: write the termination the run "
                    f"reached, e.g. \"termination\": \"time_limit\", or the gap it proved, e.g. \"gap\": {mip_gap:g}")
    feas = None if feas is None or pd.isna(feas) else bool(feas)
    # time_limit, interrupted, error: the solve stopped or failed and kept a feasible placement (a warm start)
    if feas is True and term not in CLAIMS_FEASIBLE and term not in ("time_limit", "iteration_limit", "interrupted",
                                                                      "error"):
        return (f"it records summary.feasible true with termination {json_text(term)}, which returns no feasible "
                "placement (fix: write \"feasible\": false, or the termination the run reached, e.g. "
                "\"termination\": \"feasible\"")
    if feas is False and term in CLAIMS_FEASIBLE:
        return (f"it records summary.feasible false with termination {json_text(term)}, which claims a feasible "
                "placement (the evaluator's infeasible placements are \"violated\") (fix: write \"feasible\": true, "
                "or \"termination\": \"violated\"")
    if feas is True and _finite(obj) and _finite(ev) and (gap(float(ev), float(obj)) or 0.0) > AGREE_RTOL:
        return (f"its summary.evaluator_objective {float(ev):.12g} is not its objective {float(obj):.12g} (rel. diff "
                f"{rel_diff(float(ev), float(obj)):.3g} > {AGREE_RTOL:g}), but a feasible placement's objective is its "
                f"evaluator's score (fix: a run writes the evaluator's score in both, so one was edited: restore it, "
                f"\"objective\": {float(ev):.12g} if the objective was, \"evaluator_objective\": {float(obj):.12g} if "
                "the evaluator's was")
    return None


def summary_contradiction(summary: dict, mip_gap: object = None) -> str | None:
    """What in one run's ``summary`` (:meth:`optdist.result.SolveResult.summary`: termination,
    objective, bound, gap, evaluator_objective, feasible, solver; ``mip_gap`` the gap it was asked
    for) contradicts itself, by the tables' one rule for records (:func:`_contradiction`, and a
    bound above its own objective, :func:`false_bounds`), with the fix's field written as the
    summary's, an unclosed "(fix: ..." for the caller to end; or None. Used by
    :meth:`optdist.result.SolveResult.load` (fixc31)."""
    row = {k: summary.get(k) for k in ("termination", "objective", "bound", "gap", "evaluator_objective",
                                       "feasible", "solver")}
    row |= {"status": "ok", "mip_gap": mip_gap}
    why = _contradiction(pd.Series(row, dtype=object))
    if why is not None:
        return why.replace("summary.", "")
    df = pd.DataFrame([row]).astype({"bound": float, "objective": float})
    if len(false_bounds(df)):
        bound, obj = float(row["bound"]), float(row["objective"])
        return (f"its bound {bound:.12g} is above its own objective {obj:.12g} (rel. diff {rel_diff(bound, obj):.3g}): "
                "a lower bound cannot exceed a placement's objective (fix: write the bound the run proved, at most "
                f"the objective, e.g. \"bound\": null")
    return None


def contradictory_records(df: pd.DataFrame, out: str | Path,
                          left_out_of: str = LEFT_OUT_OF_TABLES) -> tuple[list[str], list[object]]:
    """The records of runs that finished (status ``ok``) whose summary contradicts itself
    (:func:`_contradiction`), as warnings naming each file, the field and value as typed, what it is
    left out of (``left_out_of``) and the fix (no level word), and their row labels in ``df``: the
    certificates and the reference values leave them out."""
    warns, rows = [], []
    ok = df[df["status"] == "ok"]
    for i in ok.index:
        why = _contradiction(ok.loc[i])
        if why is not None:
            rows.append(i)
            warns.append(f"{record_path(out, ok.at[i, 'key'])}: {why}; or delete this record and run {rerun(out, ok.at[i, 'spec'])} "
                         f"again, which redoes the run); set aside: {left_out_of} "
                         f"({ok.at[i, 'instance']}, {_run_label(ok, i)})")
    return warns, rows


def set_aside_contradictions(df: pd.DataFrame, out: str | Path,
                             left_out_of: str = LEFT_OUT_OF_TABLES) -> tuple[pd.DataFrame, list[str], list[str]]:
    """The one rule of the tables and the figures for records that contradict themselves: ``df``
    without them (:func:`contradictory_records`, and a bound above its own objective,
    :func:`false_bounds`), the warnings of the first kind and those of the second
    (:func:`bounds_above_objective`; each names the record's file, the fix and ``left_out_of``),
    no level word. A set-aside record is in no table and no figure, as a damaged one."""
    warns, bad = contradictory_records(df, out, left_out_of)
    aside = list(dict.fromkeys([*bad, *false_bounds(df).index]))
    return df.drop(index=aside), warns, bounds_above_objective(df, out, left_out_of)


def _run_label(g: pd.DataFrame, i: object) -> str:
    """Row ``i``'s configuration, with its seed where it has one (two seeds of one configuration)."""
    seed = g.at[i, "seed"]
    return g.at[i, "config"] if seed is None or pd.isna(seed) else f"{g.at[i, 'config']} (seed {seed})"


def references(df: pd.DataFrame, solu: str | Path | None = None, out: str | Path | None = None,
               refused: list[str] | None = None) -> tuple[dict[str, Reference], list[str]]:
    """Reference values: a ``.solu`` file's (kept on conflict) merged with the records', except a
    ``.solu`` value the records refute (:func:`refuse_false_solu`: an optimum or best value below a
    bound a record proves, an optimum above a feasible objective; refused for the tables, its
    warning appended to ``refused``; ``out``: the sweep folder, whose record files the warning names)."""
    old = read_solu(solu) if solu else {}
    new = refs_from_records(df)
    if solu:
        old, texts, _ = refuse_false_solu(old, new, solu, refuters(df, out) if out is not None else {})
        if refused is not None:
            refused += texts
    return merge_refs(old, new)


def unmatched_solu(solu: str | Path | None, refs: dict[str, Reference], names: set[str]) -> list[str]:
    """The warning where the ``.solu`` file ``solu`` (read: ``refs``) names none of the instances
    ``names`` of the records (an empty file, or another benchmark's): its values then measure
    nothing, and the gaps are against the records' own references alone."""
    if solu is None or not names or set(refs) & names:
        return []
    return [f"--solu {solu}: names none of the {len(names)} instance(s) of these records ({len(refs)} instance(s) "
            "in it), so no gap is measured against it, only against the records' own references (fix: give the .solu "
            "file of these instances, e.g. instances/paper.solu or instances/coupled.solu, or leave --solu out)"]


#: what the tables do with a false ``.solu`` line (:func:`refuse_false_solu`)
REFUSED_FOR_TABLES = "refused for these tables, which measure against the records' own reference instead"
#: the fix where the record that refutes a ``.solu`` line may be the false one
REDO_RECORD = "delete that record and run the sweep again, which redoes the run"


def _if_false(value: float, tag: str, proven: Reference) -> str:
    """The fix's clause for the case where the record refuting ``={tag}= NAME value`` is the false one."""
    why = refuted(value, tag, proven)
    kind = why[0] if why is not None else "bound"
    return f"if the {'bound' if kind == 'bound' else 'placement'} is the false one, {REDO_RECORD}"


def _false_line(solu: str | Path, name: str, value: float, tag: str, proven: Reference,
                files: dict[str, dict[str, list[Path]]]) -> str:
    """What is false in the ``={tag}= {name} {value}`` line of ``solu``, given what the records prove
    (``proven``; ``files``: :func:`refuters`); no fix (the caller's, as what was done differs)."""
    return f"{solu}: {false_fact(name, value, tag, proven, files.get(name))}"


def _line_of(solu: str | Path, tag: str, name: str) -> str:
    """`` (line N)``: where ``={tag}= {name}`` is in the ``.solu`` file ``solu``; empty if not found."""
    lines = Path(solu).read_text(encoding="utf-8-sig").splitlines() if Path(solu).is_file() else []  # as read_solu
    n = next((i for i, line in enumerate(lines, 1) if line.split()[:2] == [f"={tag}=", name]), None)
    return "" if n is None else f" (line {n})"


def refuse_false_solu(old: dict[str, Reference], new: dict[str, Reference], solu: str | Path,
                      files: dict[str, dict[str, list[Path]]]
                      ) -> tuple[dict[str, Reference], list[str], list[tuple[str, float, str]]]:
    """``old`` (the ``.solu`` file ``solu``'s values) without each ``=opt=`` / ``=best=`` value that
    the records' values ``new`` (:func:`refs_from_records`) refute by more than
    :data:`~optdist.bench.solu.RTOL` relative (:func:`optdist.bench.solu.refuted`): a value below a
    proven lower bound (no placement beats it), an optimum above the evaluator objective of a
    feasible placement (that placement beats it). Measured against such a line every gap would be
    false (near 100 %, or a proven-optimal run far from "the optimum"). The tables use the records'
    own reference instead; one warning per refused value (no level word), naming the file and the
    line, the instance, the value, the refuting value and its records (``files``: :func:`refuters`),
    and the fix; and the refused values, as (instance, value, tag: ``opt`` or ``best``)."""
    kept, gone = without_refuted(old, new)
    warns = [f"{_false_line(solu, name, value, tag, new[name], files)}; {REFUSED_FOR_TABLES} (fix: correct or "
             f"delete the ={tag}= line of {name} in {solu}{_line_of(solu, tag, name)}, e.g. after solving the "
             f"instance again; or, {_if_false(value, tag, new[name])})" for name, value, tag in gone]
    return kept, warns, gone


def gap_rows(df: pd.DataFrame, refs: dict[str, Reference]) -> pd.DataFrame:
    """Per run: the formulation it ran (``ran``: what ``auto`` chose; empty for a method without
    one), its own gap, the reference and its kind (opt | bound), the gap to the reference."""
    ok = df[df["status"] == "ok"].copy()
    vals = [refs.get(i, Reference()).value() for i in ok["instance"]]
    ok["reference"] = [v for v, _ in vals]
    ok["ref_kind"] = [k for _, k in vals]
    ok["gap_to_ref"] = [
        gap(p, r) if _true(f) and r is not None else None
        for p, r, f in zip(ok["evaluator_objective"], ok["reference"], ok["feasible"])
    ]
    cols = ["instance", "config", "ran", "seed", "termination", "feasible", "objective", "bound", "gap",
            "evaluator_objective", "reference", "ref_kind", "gap_to_ref", "wall_time_s"]
    return ok[cols].sort_values(["instance", "config"]).reset_index(drop=True)


def _true(v: object) -> bool:
    return v is not None and not pd.isna(v) and bool(v)


def gap_table(rows: pd.DataFrame, df: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per configuration: its runs, those that failed (status error or timeout: no result, not in
    ``rows``; counted from ``df``, every record of the tables, when given), those that finished
    without a feasible placement (``no_placement``: no_solution, violated, infeasible, ...), % feasible
    and % at the reference (gap <= 1e-6) of all its runs (a failed run is neither), mean and max gap
    to it over the runs with a feasible placement (and a reference) only: a configuration that found
    none on an instance has no gap there, so its ``no_placement`` is read beside them."""
    failed = (df[df["status"] != "ok"].groupby("config").size() if df is not None and len(df)
              else pd.Series(dtype=int))
    out = []
    for config in sorted(set(rows["config"]) | set(failed.index)):
        g = rows[rows["config"] == config]
        n_failed = int(failed.get(config, 0))
        n = len(g) + n_failed
        gaps = g["gap_to_ref"].dropna().astype(float)
        out.append({
            "config": config,
            "runs": n,
            "failed": n_failed,
            "no_placement": int((~g["feasible"].map(_true)).sum()),
            "feasible_pct": 100.0 * g["feasible"].map(_true).sum() / n,
            "at_ref_pct": 100.0 * (gaps <= RTOL).sum() / n,
            "mean_gap_pct": 100.0 * gaps.mean() if len(gaps) else math.nan,
            "max_gap_pct": 100.0 * gaps.max() if len(gaps) else math.nan,
            "ref_kinds": "/".join(sorted(set(g["ref_kind"].dropna()))),
        })
    return pd.DataFrame(out)


def certificate_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per instance: best feasible placement (upper bound) and best proven bound, by any run.

    ``gap = |UB - LB| / max(|UB|, |LB|)`` certifies how far the incumbent can be from the
    optimum; ``certified_optimal`` is true when the gap is at most 1e-6; ``infeasible_by``
    names a run that proved the instance infeasible.
    """
    out = []
    for inst, g in df[df["status"] == "ok"].groupby("instance", sort=True):
        feas = g[g["feasible"].map(_true) & g["evaluator_objective"].notna()]
        bnd = g[g["bound"].map(lambda b: pd.notna(b) and math.isfinite(b))]
        ub = feas.loc[feas["evaluator_objective"].idxmin()] if len(feas) else None
        lb = bnd.loc[bnd["bound"].idxmax()] if len(bnd) else None
        ubv = None if ub is None else float(ub["evaluator_objective"])
        lbv = None if lb is None else float(lb["bound"])
        gp = gap(ubv, lbv)
        out.append({
            "instance": inst,
            "upper_bound": ubv,
            "by": None if ub is None else ub["config"],
            "lower_bound": lbv,
            "bound_by": None if lb is None else lb["config"],
            "gap_pct": None if gp is None else 100.0 * gp,
            "certified_optimal": gp is not None and gp <= RTOL,
            "infeasible_by": next(iter(g.loc[g["termination"] == "infeasible", "config"]), None),
        })
    return pd.DataFrame(out)


#: the tables :func:`write_tables` writes (``NAME.md`` and ``NAME.csv``), by name, with their titles
TABLE_TITLES = {"solvers": "Solver comparison", "solvers-by-instance": "Time per instance (s; '>' = not solved)",
                "gaps": "Optimality gap to the reference, per method", "gaps-by-instance": "Gap per run",
                "certificates": "Best placement and best bound per instance"}


def _first_line(path: Path) -> str | None:
    try:
        with path.open("rb") as f:
            return f.readline(4096).decode("utf-8", "replace").rstrip("\r\n")
    except OSError:
        return None


def foreign_tables(dest: str | Path) -> list[Path]:
    """The files in ``dest`` that :func:`write_tables` would replace but optdist did not write: a
    ``NAME.md`` whose first line is not its table's title (:data:`TABLE_TITLES`), a ``NAME.csv``
    beside no such ``NAME.md`` of optdist's (they are written together). Empty files and anything
    but regular files are left to the writer."""
    foreign = []
    for name, title in TABLE_TITLES.items():
        md, csv = Path(dest) / f"{name}.md", Path(dest) / f"{name}.csv"
        ours = _first_line(md) == f"# {title}"
        for path in (md, csv):
            if path.is_file() and path.stat().st_size and not ours:
                foreign.append(path)
    return foreign


def check_tables_dest(dest: str | Path, flag: str, fix: str = "give another folder, e.g. --dest DIR") -> None:
    """Refuse (:class:`~optdist.io.OutputPathError`) to write the tables into ``dest`` where that
    would replace a file optdist did not write (:func:`foreign_tables`), naming it, ``flag`` (where
    the folder came from) and the fix."""
    from optdist.io import OutputPathError

    foreign = foreign_tables(dest)
    if foreign:
        more = f" (and {', '.join(map(str, foreign[1:]))})" if foreign[1:] else ""
        raise OutputPathError(f"{flag} {dest}: {foreign[0]}{more} exists and was not written by optdist (it is not "
                              f"one of its tables); writing the tables would replace it (fix: {fix}, or move the "
                              "file away)")


def write_table(df: pd.DataFrame, dest: Path, name: str, title: str, notes: Iterable[str] = ()) -> list[Path]:
    """Write ``name.csv`` and ``name.md`` (title, Markdown table, notes) under ``dest``."""
    csv = atomic_write_text(dest / f"{name}.csv", df.to_csv(index=False))
    shown = df.astype(object).where(df.notna(), None)  # a missing value is an empty cell, not "nan"
    body = shown.to_markdown(index=False, floatfmt=".4g", missingval="") if len(df) else "(no rows)"
    note = "".join(f"\n{n}\n" for n in notes)
    md = atomic_write_text(dest / f"{name}.md", f"# {title}\n\n{body}\n{note}")
    return [csv, md]


def reference_warnings(where: str | Path, contradictions: list[str], out: str | Path,
                       records: dict[str, list[Path]] | None = None) -> list[str]:
    """The contradictions :func:`optdist.bench.solu.merge_refs` found between reference values as
    warnings (no level word: the ``optdist`` logger adds one): each names ``where`` (the .solu
    file, or the records, that gave one of the values) and the fix; ``records``: per instance name,
    the record files whose values are its references (:func:`reference_records`), named in the
    warning about that instance (a contradiction reads ``"NAME: ..."``); ``out``: the sweep folder,
    whose spec the fix names (:func:`optdist.bench.records.rerun`)."""
    texts = []
    for c in contradictions:
        files = next((fs for name, fs in (records or {}).items() if c.startswith(f"{name}: ")), [])
        said = f" (from the record(s) {', '.join(map(str, files))})" if files else ""
        texts.append(f"{where}: {c}{said} (fix: one of the two values is false: solve the instance again to tell "
                     "which, then correct its line in the .solu file, or delete the false run's record and run "
                     f"{rerun(out)} again, which redoes the run)")
    return texts


def reference_records(df: pd.DataFrame, out: str | Path) -> dict[str, list[Path]]:
    """Per instance, the record files under ``out`` that give its reference values
    (:func:`optdist.bench.solu.refs_from_records`): the runs with its largest finite bound and
    with its smallest feasible objective (evaluator's), each file once."""
    files: dict[str, list[Path]] = {}
    for name, g in df[df["status"] == "ok"].groupby("instance"):
        bound = g["bound"].where(g["bound"].map(lambda b: b is not None and math.isfinite(b)))
        feasible = g["evaluator_objective"].where(g["feasible"] == True)  # noqa: E712 (nullable column)
        keys = [g.at[s.idxmax() if s is bound else s.idxmin(), "key"] for s in (bound, feasible) if s.notna().any()]
        files[str(name)] = [record_path(out, k) for k in dict.fromkeys(keys)]
    return files


def bound_records(df: pd.DataFrame, out: str | Path) -> dict[str, list[Path]]:
    """Per instance, the record files under ``out`` that prove its reference bound (``bestdual``,
    :func:`optdist.bench.solu.refs_from_records`): the runs whose finite bound is the largest, each
    file once; never a run without a bound (a greedy's), which proves none (fixc31: a false .solu
    line's warning names only these, and its fix "delete that record" is about them)."""
    files: dict[str, list[Path]] = {}
    for name, g in df[df["status"] == "ok"].groupby("instance"):
        bound = g["bound"].where(g["bound"].map(lambda b: b is not None and not pd.isna(b) and math.isfinite(b)))
        if bound.notna().any():
            files[str(name)] = [record_path(out, k) for k in dict.fromkeys(g.loc[bound == bound.max(), "key"])]
    return files


def best_records(df: pd.DataFrame, out: str | Path) -> dict[str, list[Path]]:
    """Per instance, the record files under ``out`` of its best feasible placement (``best``,
    :func:`optdist.bench.solu.refs_from_records`): the runs whose evaluator objective of a feasible
    placement is the smallest, each file once."""
    files: dict[str, list[Path]] = {}
    for name, g in df[df["status"] == "ok"].groupby("instance"):
        best = g["evaluator_objective"].where(g["feasible"] == True)  # noqa: E712 (nullable column)
        if best.notna().any():
            files[str(name)] = [record_path(out, k) for k in dict.fromkeys(g.loc[best == best.min(), "key"])]
    return files


def refuters(df: pd.DataFrame, out: str | Path) -> dict[str, dict[str, list[Path]]]:
    """Per instance, the record files that can refute a ``.solu`` line, per kind
    (:func:`optdist.bench.solu.refuted`): ``bound`` (:func:`bound_records`), ``best`` (:func:`best_records`)."""
    bounds, bests = bound_records(df, out), best_records(df, out)
    return {name: {"bound": bounds.get(name, []), "best": bests.get(name, [])} for name in {*bounds, *bests}}


def write_tables(out: str | Path, dest: str | Path | None = None, solu: str | Path | None = None,
                 write_solu: str | Path | None = None,
                 left_out_of: str = LEFT_OUT_OF_TABLES) -> tuple[list[Path], list[str]]:
    """All tables of the records under ``out``; returns the files written and the warnings.

    The warnings (texts without a level word, for the ``optdist`` logger; each names its file and
    the fix) are the optimality claims that disagree (:func:`disagreements`), the records whose own
    bound is above their own objective (:func:`bounds_above_objective`), those claiming optimal
    with an infinite bound (:func:`unproven_optima`) and the reference
    values that contradict one another (the ``solu`` file's and the records'); the solver and gap
    tables carry them too, as "WARNING ..." lines under the table, for whoever reads the table
    later. ``write_solu``: a .solu file to merge the reference values into (created if missing,
    as :func:`optdist.bench.solu.merge_solu_file` does, but a false ``=opt=`` / ``=best=`` line of it, below a
    bound a record proves, is not kept: :func:`_merge_into_solu`); its contradictions are warned too, except those
    already warned as the ``solu`` file's (the same file given as both, or the same facts).
    ``left_out_of``: what a record that contradicts itself is said to be left out of
    (:data:`LEFT_OUT_OF_TABLES_AND_FIGURES` where the same command draws the figures, which then
    do not warn again).
    """
    df = load_records(out)
    dest = Path(dest or Path(out) / "tables")
    records = Path(out) / "records"
    sound, bad_warns, bound_warns = set_aside_contradictions(df, out, left_out_of)  # what every table counts
    aside = len(df) - len(sound)
    old = read_solu(solu) if solu else {}
    new = refs_from_records(sound)
    files = refuters(sound, out)
    old, refused, gone = refuse_false_solu(old, new, solu, files) if solu else (old, [], [])
    refs, ref_warn = merge_refs(old, new)
    said = tuple(bound_exceeds(str(r.instance), r.bound) for r in false_bounds(df).itertuples())  # warned per record

    refused_values = [(f"{name}: ", re.compile(rf"(?<![\w.]){re.escape(f'{value:.12g}')}(?![\w.])"))
                      for name, value, _ in gone]

    def unsaid(contradictions: list[str]) -> list[str]:  # nor again a refused .solu value (--write-solu the same file)
        return [c for c in contradictions if not c.startswith(said)
                and not any(c.startswith(name) and value.search(c) for name, value in refused_values)]

    solu_warns = []
    if write_solu is not None:  # merged now: a false line it drops is said in the tables' warnings too
        merged, rewrites = _merge_into_solu(write_solu, refs, new)
        same = solu is not None and Path(solu).resolve() == Path(write_solu).resolve()
        for name, value, tag, now in rewrites:
            done = f"not kept there: {name} is now {now} in it, the values the records prove (old ={tag}= {value:.12g})"
            if same and (name, value, tag) in gone:  # the --solu line the tables refused: one warning says both,
                i = gone.index((name, value, tag))   # what was done, with no fix to do it again (tidy31)
                refused[i] = (f"{_false_line(solu, name, value, tag, new[name], files)}; {REFUSED_FOR_TABLES}, and "
                              f"as --write-solu {write_solu} it is {done} (fix: none needed; "
                              f"{_if_false(value, tag, new[name])})")
            else:
                solu_warns.append(f"{_false_line(write_solu, name, value, tag, new[name], files)} and {done} (fix: "
                                  f"none needed; {_if_false(value, tag, new[name])})")
        solu_warns += reference_warnings(write_solu, unsaid([c for c in merged if c not in ref_warn]), out,
                                         reference_records(sound, out))
    warns = (bad_warns + refused + disagreements(df) + bound_warns + unproven_optima(df, out)
             + reference_warnings(solu or records, unsaid(ref_warn), out, reference_records(sound, out))
             + unmatched_solu(solu, old, set(df["instance"].astype(str)) if len(df) else set()))
    exact = sound[sound["solver"].notna()] if sound["solver"].notna().any() else sound  # methods that use a solver
    solver_cover = coverage_warning(exact, out, "in solvers.md, sgm_time_s and sgm_rel are computed over")
    gap_cover = coverage_warning(sound, out, "in gaps.md, feasible_pct, at_ref_pct and the gaps are each over the "
                                             "configuration's own instances, not comparable; the instances common to all:")
    notes = [f"WARNING {w}" for w in warns]
    missing = [f"WARNING {w}" for w in missing_runs(out)]  # on stderr already, by load_records
    warns += solver_cover + (gap_cover if lacking(sound) != lacking(exact) else [])
    aside_note = [] if not aside else [
        f"{aside} record(s) set aside from this table, as damaged records are, since each contradicts itself (a "
        "bound above its own objective, an objective the evaluator's re-score disagrees with, ...): the WARNING lines "
        "under solvers.md and gaps.md, and `optdist bench-table` on stderr, name each file and the fix."]
    sgm_note = (f"sgm: shifted geometric mean of time, shift {SHIFT_S:g} s; unsolved runs at the time limit. "
                "time_limit: runs stopped by their time limit (with a placement, termination time_limit, or without one, "
                "no_solution at the limit) or killed by the wall-clock guard. errors: failed runs "
                "(no placement); errors_kept: runs whose solver failed (termination error) but that kept a feasible "
                "placement, a result (in the gap tables and certificates), as `optdist solve` counts it; "
                "other_unsolved: every other run not solved (feasible without a proof, no_solution before the limit, "
                "an iteration limit, interrupted, violated). solved + time_limit + errors + errors_kept + "
                "other_unsolved = runs.")
    rows = gap_rows(sound, refs)
    files = write_table(solver_table(exact), dest, "solvers", TABLE_TITLES["solvers"],
                        [sgm_note, *aside_note, *notes, *(f"WARNING {w}" for w in solver_cover), *missing])
    files += write_table(by_instance_table(exact), dest, "solvers-by-instance",
                         TABLE_TITLES["solvers-by-instance"], aside_note)
    gap_note = "gap = |p - d| / max(|p|, |d|); reference = optimum (opt) or best bound (bound, an upper estimate)."
    failed_note = ("runs: every run of the configuration; failed: runs recorded as error or timeout (no placement; "
                   "their records name the error), counted in runs but in no other column, so feasible_pct and "
                   "at_ref_pct are of all runs; no_placement: runs that finished without a feasible placement "
                   "(no_solution, violated, infeasible, ...). mean_gap_pct and max_gap_pct are over the runs with a "
                   "feasible placement only: a configuration that found none on a hard instance has no gap there "
                   "(read its no_placement and failed beside them).")
    files += write_table(gap_table(rows, sound), dest, "gaps", TABLE_TITLES["gaps"],
                         [gap_note, failed_note, *aside_note, *notes, *(f"WARNING {w}" for w in gap_cover), *missing])
    files += write_table(rows, dest, "gaps-by-instance", TABLE_TITLES["gaps-by-instance"], [gap_note, *aside_note])
    files += write_table(certificate_table(sound), dest, "certificates", TABLE_TITLES["certificates"],
                         ["upper bound: best feasible placement (evaluator objective); lower bound: best proven bound; "
                          "gap = |UB - LB| / max(|UB|, |LB|).", *aside_note])
    return files, warns + solu_warns


def _merge_into_solu(path: str | Path, refs: dict[str, Reference],
                     proven: dict[str, Reference]) -> tuple[list[str], list[tuple[str, float, str, str]]]:
    """Merge ``refs`` (the tables' reference values) into the ``.solu`` file ``path`` (created if
    missing); return the merge's contradictions (:func:`optdist.bench.solu.merge_refs`) and the
    ``=opt=`` / ``=best=`` lines of ``path`` that the records' values refute (``proven``,
    :func:`optdist.bench.solu.refs_from_records`; :func:`optdist.bench.solu.refuted`), as (instance, old value, tag, what its lines are
    now, :func:`_solu_lines`). Such a line is false (:func:`refuse_false_solu`), so it is not kept
    (before, it was written back unchanged, also into the ``--solu`` file the tables had refused it
    from): the instance's lines are the values the records prove."""
    before = read_solu(path) if Path(path).exists() else {}
    kept, false = without_refuted(before, proven)
    merged, said = merge_refs(kept, refs)
    write_solu_file(path, merged)
    return said, [(name, value, tag, _solu_lines(name, merged.get(name, Reference())) or "without a line")
                  for name, value, tag in false]


def _solu_lines(name: str, ref: Reference) -> str:
    """The facts that :func:`optdist.bench.solu.write_solu` writes for ``name``, as ``"=opt= 0.01"``
    or ``"=best= 0.0102, =bestdual= 0.00998"``."""
    if ref.infeasible:
        return "=inf="
    if ref.opt is not None:
        return f"=opt= {ref.opt:.12g}"
    return ", ".join(f"={tag}= {v:.12g}" for tag, v in (("best", ref.best), ("bestdual", ref.bestdual))
                     if v is not None)
