"""Sweep records on disk: ``OUT/records/<key>.json``, one per run, checked when read.

A record is *damaged* when it is not a JSON object of the current format with the fields the
tables read (truncated or hand-edited files, another format, missing fields, a summary field
holding another JSON kind than its own, :data:`SUMMARY_KINDS`, a key that is not the file's
name), or, for the runner, when it records another run than its key's. The
runner sets a damaged record aside, under ``OUT/records/damaged/`` with a ``.why.txt`` note,
and runs it again; tables and figures skip it with a warning naming the file. Nothing is
deleted.

A sweep writes the keys of its spec's grid to ``OUT/grid.json`` under the spec's name
(:func:`write_grid`; the grids of other specs writing into the same folder, e.g. the paper-250
specs whose records join, are kept). Records of runs in none of those grids (a spec was edited
between runs, e.g. another ``time_limit``: its grid is replaced) stay on disk but are left out of
the tables and figures, with a warning, so that no configuration counts one instance twice. A
folder without ``grid.json`` (written before it existed) is read whole.

Each record holds the SHA-256 of its instance file and of the files it names, network profiles,
device catalog and privacy tables (``instance_sha256``, :func:`instance_digest`): a record made
from another version of any of them is *stale* (:func:`stale`) and the runner does its run again. So is a record made with
another version of its solver profile (``solver_profile``: the adapter and options that the run's
``solver``, a ``.toml`` path or a ``solvers/`` profile name, resolved to; :func:`profile_change`), or
of the profile of its ``options.pricing_solver`` (``pricing_solver_profile``, the same way;
:func:`profile_changes`), or from other contents of the files its options name (``option_sha256``:
its ``policy`` folder's policy.pt and policy.json, a ``warm_start`` file; :func:`option_changes`), and a
``timeout`` record whose wall-clock guard was shorter than the run's now (``wall_limit`` or
``time_limit`` raised: :func:`guard_raised`). Every other option is in the run's key: a changed one
is another run.

A *legacy* record carries the key of :attr:`optdist.bench.spec.Run.legacy_key` (the hash
without the instance path): it is read like any other, and :func:`migrate` renames it to
the run's current key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
from pathlib import Path

from optdist.bench.spec import Run
from optdist.io import atomic_write_json, atomic_write_text, restore_non_finite
from optdist.jsonfile import json_kind, json_text, quoted, text_of
from optdist.paths import policy_files

RECORD_FORMAT = "optdist-bench-record/1"
STATUSES = ("ok", "error", "timeout")
DAMAGED_DIR = "damaged"
#: the summary fields the tables and figures read, by the JSON kind they hold (or null): a record
#: with another kind there (``"abc"``, ``"0.001"``, ``[0.001]``, ``true`` for a number) is damaged
#: (NaN is none: no run writes it; Infinity and -Infinity are, a bound where none was proven)
SUMMARY_KINDS = {"termination": "a string", "objective": "a number", "bound": "a number", "gap": "a number",
                 "wall_time_s": "a number", "nodes": "a number", "evaluator_objective": "a number",
                 "feasible": "true or false", "violations": "a number", "rejected": "a number",
                 "total_latency_s": "a number", "shared_bytes": "a number"}


def _number(v: object) -> bool:
    """Whether ``v`` is a JSON number a float holds (not NaN, not true/false, not an integer of
    hundreds of digits)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    try:
        return not math.isnan(float(v))
    except OverflowError:
        return False


_KIND_TEST = {"a string": lambda v: isinstance(v, str), "true or false": lambda v: isinstance(v, bool),
              "a number": _number}


class DamagedRecord(ValueError):
    """A record file that cannot be used; ``path`` is the file, ``why`` the defect; ``key``: the
    run's key where the record is sound but filed under another name (a copy or a renamed file,
    which ``optdist bench`` neither reads as that run's record nor redoes); ``own``: that key is
    the one its run has (:attr:`~optdist.bench.spec.Run.key`), so the file can be renamed to it;
    ``example``: for a field of the wrong kind that holds its value (``"0.001"``), the field written
    right (``"bound": 0.001``)."""

    def __init__(self, path: Path, why: str, key: str | None = None, own: bool = False, example: str | None = None):
        super().__init__(f"{path}: damaged record ({why})")
        self.path, self.why, self.key, self.own, self.example = path, why, key, own, example


class RecordNotWritten(ValueError):
    """A finished run's record that could not be written (``path``, the OS error ``error``): the
    folder is read-only, full, or its file was made unwritable. A ValueError, so that ``optdist
    bench`` prints it as a user's error (exit status 2), not as a raw errno on a temporary file."""

    def __init__(self, path: Path, error: OSError, kept: int = 0):
        why = error.strerror or str(error)
        super().__init__(f"{path}: cannot write this run's record ({why}); the sweep stopped, {kept} record(s) of "
                         f"finished runs are kept in {path.parent} (fix: make {path.parent} writable, e.g. its "
                         "permissions, its file system or free space, then run the same command again: it resumes, "
                         "redoing only the runs without a record)")
        self.path, self.error, self.kept = path, error, kept


def kept_placement(summary: dict | None) -> bool:
    """Whether a run's ``summary`` is that of a method that ended with termination ``error`` (its
    solver died, or answered values that are no placement: :func:`optdist.milp.run.answer_invalid`)
    but kept a feasible placement (a feasible warm start, ``extra.incumbent`` says so; the bound is the
    solver's, if any): ``optdist solve`` exits 0 on it, a result. A sweep records it so (status
    ``ok``, termination ``error``, a ``note`` naming the solver's error), counts it in the gap tables,
    the certificates and the figures, and neither counts it failed nor redoes it (:func:`failed`)."""
    summary = summary if isinstance(summary, dict) else {}
    return summary.get("termination") == "error" and summary.get("feasible") is True


def failed(rec: dict) -> bool:
    """Whether ``rec`` records a failed run, one that ``optdist bench`` counts as failed (exit 1) and
    ``--retry-errors`` redoes: status ``error`` or ``timeout``, or a method that ended with
    termination ``error`` (its solver died, e.g. a CBC killed by SIGKILL) without a feasible placement
    (``optdist solve`` exits 1 on it). A run that ended ``error`` but kept a feasible placement
    (:func:`kept_placement`: ``optdist solve`` exits 0) did not fail, nor did one that ended at its own
    time limit (``time_limit``, ``no_solution``): each is a result. A record of status ``error`` is a
    failed run whatever its summary (one written before a kept placement was given status ``ok``:
    ``--retry-errors`` redoes it and records it so)."""
    summary = rec.get("summary") or {}
    return rec["status"] != "ok" or (summary.get("termination") == "error" and not kept_placement(summary))


def write_record(out: str | Path, rec: dict) -> Path:
    """Write ``rec`` atomically to its file under ``out`` (:func:`record_path`); raises
    :class:`RecordNotWritten` naming that file (not the temporary one) and the fix for an OSError."""
    path = record_path(out, rec["key"])
    try:
        return atomic_write_json(path, rec, non_finite=True)  # e.g. a run's solver option objective_bound = inf
    except OSError as e:
        raise RecordNotWritten(path, e) from None


def record_path(out: str | Path, key: str) -> Path:
    """Where the record of the run with ``key`` lives under the sweep folder ``out``."""
    return Path(out) / "records" / f"{key}.json"


def rerun(out: str | Path, spec: object = None) -> str:
    """The command that (re)runs the sweep of the folder ``out``: ``optdist bench OUT/spec.json``,
    the spec it saved (its paths are relative to the working directory, as the spec's were), or
    ``optdist bench SPEC`` when it saved none. ``spec``: the name of the spec whose runs are meant
    (a record's ``spec``; anything but a string: none); where ``OUT/spec.json`` is another spec's (two specs share the folder:
    it holds the last one run), ``optdist bench SPEC --out OUT`` with that spec's file, named."""
    saved = Path(out) / "spec.json"
    name = _saved_name(saved)
    if isinstance(spec, str) and name is not None and spec != name:
        return (f"`optdist bench SPEC --out {out}` with SPEC the file of spec {text_of(spec)} ({saved} is spec "
                f"{text_of(name)}'s, run last into this folder)")
    return f"`optdist bench {saved if saved.is_file() else 'SPEC'}`"


def _saved_name(saved: Path) -> str | None:
    """The ``name`` of the spec saved in ``saved`` (``OUT/spec.json``), None if none can be read."""
    try:
        doc = json.loads(saved.read_bytes())
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    name = doc.get("name") if isinstance(doc, dict) else None
    return name if isinstance(name, str) else None


def rerun_of(out: str | Path, specs: list[object]) -> str:
    """:func:`rerun` for the records of the specs named ``specs`` (their ``spec`` fields, None where
    a record has none): one command per spec, joined by "; "."""
    names = list(dict.fromkeys(s if isinstance(s, str) else None for s in specs)) or [None]
    return "; ".join(dict.fromkeys(rerun(out, n) for n in names))


def record_files(out: str | Path) -> list[Path]:
    """Every record file under ``OUT/records/`` (not the damaged ones set aside), sorted."""
    return sorted((Path(out) / "records").glob("*.json"))


def _defect(rec: object, stem: str) -> str | None:
    """What makes ``rec`` (decoded from ``<stem>.json``) unusable, or None."""
    if not isinstance(rec, dict):
        return f"{json_kind(rec)}, not an object"
    if rec.get("format") != RECORD_FORMAT:
        return f"format {json_text(rec.get('format'))}, expected {text_of(RECORD_FORMAT)}"
    missing = [f for f in ("key", "run", "status") if f not in rec]
    if missing:
        return f"missing field(s) {quoted(missing)}"
    if rec["status"] not in STATUSES:
        return f"status {json_text(rec['status'])} is not one of {quoted(STATUSES)}"
    try:
        run = Run.from_json(rec["run"])
    except TypeError as e:
        return f"field \"run\" is not a run ({e})"
    if not isinstance(run.options, dict):
        return 'field "run.options" is not an object'
    if rec["key"] != stem:
        return f"key {json_text(rec['key'])} is not the file's name"
    for f in ("summary", "instance_info"):
        if rec.get(f) is not None and not isinstance(rec[f], dict):
            return f"field {text_of(f)} is not an object"
    if rec["status"] == "ok" and not isinstance(rec.get("summary"), dict):
        return 'status "ok" without a summary'
    wrong = _wrong_field(rec)
    return None if wrong is None else wrong[0]


def _wrong_field(rec: dict) -> tuple[str, str | None] | None:
    """The first summary field (:data:`SUMMARY_KINDS`) of ``rec`` holding another JSON kind than
    its own, as the defect (the field's path, its value as typed, the kind expected) and the field
    written right where its value can be read from what is typed (``"0.001"``, ``[0.001]``), else
    None; None when all are right (or null)."""
    summary = rec.get("summary") or {}
    for name, kind in SUMMARY_KINDS.items():
        value = summary.get(name)
        if value is not None and not _KIND_TEST[kind](value):
            return f"field summary.{name} is {json_text(value)}, not {kind}", _readable(name, kind, value)
    return None


def _readable(name: str, kind: str, value: object) -> str | None:
    """``"name": VALUE`` where ``value`` (of the wrong kind) holds a value of ``kind``: a number in
    quotes or alone in a list, true/false in quotes; else None."""
    inner = value[0] if isinstance(value, list) and len(value) == 1 else value
    if kind == "a number" and isinstance(inner, str):
        try:
            inner = float(inner)
        except ValueError:
            return None
    if kind == "true or false" and inner in ("true", "false"):
        inner = inner == "true"
    return f"{text_of(name)}: {json_text(inner)}" if inner is not value and _KIND_TEST[kind](inner) else None


def read_record(path: Path) -> dict:
    """The record in ``path``; raises :class:`DamagedRecord` naming the defect."""
    try:
        rec = restore_non_finite(json.loads(path.read_bytes()), str(path))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise DamagedRecord(path, f"unreadable JSON: {e}") from None
    why = _defect(rec, path.stem)
    if why is not None:
        key = rec.get("key") if isinstance(rec, dict) else None
        sound = isinstance(key, str) and _defect(rec, key) is None  # only its file's name is wrong
        wrong = _wrong_field(rec) if isinstance(rec, dict) and isinstance(rec.get("summary"), dict) else None
        raise DamagedRecord(path, why, key if sound else None, own=sound and _own_key(rec),
                            example=wrong[1] if wrong and wrong[0] == why else None)
    return rec


def file_digest(path: str | Path) -> str | None:
    """SHA-256 (hex) of the file at ``path``, None if it cannot be read (the run's own error then)."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def instance_digest(path: str | Path) -> str | None:
    """SHA-256 (hex) of the instance file at ``path`` together with the files it reads: those it names
    (network profiles, device catalog, privacy-table files: :func:`optdist.instance.referenced_files`)
    and the bundled privacy tables it names by name (``models/privacy/<cnn>-<name>.json``, which
    ``optdist calibrate --name`` writes), each by its bytes in the order written, a missing one as
    missing (not by path: the same files reached by another spelling of ``path`` hash the same). An
    edited table changes it as an edited instance does. An instance that reads no such file:
    :func:`file_digest` of it (so a record made before those files were hashed is not stale). None
    if the instance file cannot be read. The file is read and parsed once."""
    from optdist.instance import files_named

    try:
        raw = Path(path).read_bytes()
    except OSError:
        return None
    own = hashlib.sha256(raw).hexdigest()  # as file_digest
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError):  # not JSON (nor UTF-8): the instance names no file
        doc = None
    read = [*files_named(doc, Path(path).parent), *_named_tables(doc)]
    if not read:
        return own
    h = hashlib.sha256(own.encode())
    for file in read:
        h.update(b"\0" + (file_digest(file) or "missing").encode())
    return h.hexdigest()


def _named_tables(doc: object) -> list[Path]:
    """The files of the bundled privacy tables the instance document ``doc`` (decoded JSON) names
    by name (not a ``.json`` path): :func:`optdist.privacy.table_path` of each; [] if ``doc`` is no
    JSON object."""
    from optdist.jsonfile import is_json_name
    from optdist.privacy import table_path

    privacy = doc.get("privacy") if isinstance(doc, dict) else None
    if not isinstance(privacy, dict):
        return []
    return [table_path(cnn, ref) for cnn, ref in privacy.items()
            if isinstance(ref, str) and ref.strip() and not is_json_name(ref)]


def stale(rec: dict, digest: str | None) -> bool:
    """True if ``rec`` was made from another version of its instance file (or a file it reads) than
    the one of ``digest`` (:func:`instance_digest`). Not stale: a record without a digest (written
    before ``instance_sha256`` existed), and a record whose digest is its instance file's alone
    (:func:`file_digest`, as written before the files an instance reads were hashed) where that file
    is unchanged: both are kept as they were, the files the instance reads unchecked."""
    made = rec.get("instance_sha256")
    if made is None or digest is None or made == digest:
        return False
    path = (rec.get("run") or {}).get("instance_path")
    return not (isinstance(path, str) and made == file_digest(path))


def solver_profile(name: str | None) -> dict | None:
    """The solver profile that a run's ``solver`` names, resolved as its worker resolves it
    (:func:`optdist.solvers.get_solver`: a ``.toml`` path, else a profile of ``solvers/``, the
    folder of ``OPTDIST_SOLVERS``): its file, adapter, generic ``[options]`` and raw
    ``[solver_options]``, and a SHA-256 of those three (``sha256``: a comment or a description edited
    is no change); None for no solver, a bare adapter name, or a profile that cannot be read (that
    is the run's own error). Each record holds it (``solver_profile``): see :func:`profile_change`."""
    if not isinstance(name, str):
        return None
    from optdist.solvers.profiles import profiles, read_profile

    try:
        prof = read_profile(Path(name)) if name.endswith(".toml") else profiles().get(name)
    except (OSError, ValueError):
        return None
    if prof is None:
        return None
    resolved = {"solver": prof.solver, "options": prof.options, "solver_options": prof.solver_options}
    blob = json.dumps(resolved, sort_keys=True, default=str)
    return {"path": str(prof.path), **resolved, "sha256": hashlib.sha256(blob.encode()).hexdigest()}


def profile_change(rec: dict, current: dict | None, field: str = "solver_profile") -> str | None:
    """What changed in the solver profile of ``rec``'s run since the record was made (``current``:
    :func:`solver_profile` now; ``field``: the record's field, :data:`PROFILE_FIELDS`), as
    ``"adapter \"highs\" -> \"cbc\""``, or None when nothing did, or the record predates that
    field (as :func:`stale` treats records without a digest)."""
    if field not in rec:
        return None
    made = rec[field] if isinstance(rec[field], dict) else None
    if (made or {}).get("sha256") == (current or {}).get("sha256"):
        return None
    if made is None:
        return f"the record was made without a profile, now {current['path']}"
    if current is None:
        return f"the record was made with the profile {made.get('path')}, which names no profile now"
    words = {"solver": "adapter", "options": "[options]", "solver_options": "[solver_options]"}
    diffs = [f"{word} {json_text(made.get(k))} -> {json_text(current[k])}" for k, word in words.items()
             if made.get(k) != current[k]]
    return ", ".join(diffs) or f"{current['path']}: its content"


#: the record fields holding the solver profiles a run names (:func:`solver_profile`), by where the
#: run names it: its ``solver``, and its ``options.pricing_solver`` (the profile of the decomposition's
#: pricing problems, :mod:`optdist.milp.decomposition.pricing`): an edit of either redoes the run
PROFILE_FIELDS = {"solver_profile": "solver", "pricing_solver_profile": "options.pricing_solver"}


def profile_names(run: Run) -> dict[str, str | None]:
    """The solver names of ``run`` by record field (:data:`PROFILE_FIELDS`): its ``solver`` and its
    ``options.pricing_solver`` (None where it has none)."""
    pricing = run.options.get("pricing_solver") if isinstance(run.options, dict) else None
    return {"solver_profile": run.solver, "pricing_solver_profile": pricing if isinstance(pricing, str) else None}


def profile_changes(rec: dict, run: Run, profiles: dict[str | None, dict | None] | None = None) -> list[str]:
    """What changed since ``rec`` was made in each solver profile that ``run`` names (its solver's and
    its pricing solver's, :func:`profile_names`; ``profiles``: name -> :func:`solver_profile`, read
    here when not given), one text per profile, e.g. ``"the pricing solver profile p.toml
    (options.pricing_solver) changed ([solver_options] ...)"``; empty when none did."""
    texts = []
    for field, name in profile_names(run).items():
        current = profiles[name] if profiles is not None and name in profiles else solver_profile(name)
        change = profile_change(rec, current, field)
        if change is not None:
            what = "solver profile" if field == "solver_profile" else \
                f"pricing solver profile (its {PROFILE_FIELDS[field]})"
            texts.append(f"the {what} {name} changed since this record was made ({change})")
    return texts


def option_files(run: Run) -> dict[str, list[Path]]:
    """The files whose contents shape ``run``'s result that its options name, by option (the key holds
    only their paths): ``policy``'s policy.pt and policy.json (:func:`optdist.paths.policy_files`),
    ``warm_start``'s file where it names one (not a method), and ``plan_start``'s (``plan-guided``,
    ``plan-rollout``: the plan they start from; not hashed before break44, so a record without it is not redone)."""
    out: dict[str, list[Path]] = {}
    policy, warm, plan = run.options.get("policy"), run.options.get("warm_start"), run.options.get("plan_start")
    if isinstance(policy, str):
        out["policy"] = list(policy_files(policy))
    if isinstance(warm, str) and os.path.isfile(warm):
        out["warm_start"] = [Path(warm)]
    if isinstance(plan, str):
        out["plan_start"] = [Path(plan)]
    return out


def option_digests(runs: list[Run]) -> dict[str, dict[str, str]]:
    """Run key -> option -> SHA-256 of the files the option names (:func:`option_files`; a missing one
    as missing), for each record's ``option_sha256``; each distinct option value hashed once."""
    seen: dict[tuple[str, ...], str] = {}
    out = {}
    for run in runs:
        digests = {}
        for name, files in option_files(run).items():
            paths = tuple(str(f) for f in files)
            if paths not in seen:
                h = hashlib.sha256()
                for f in paths:
                    h.update(b"\0" + (file_digest(f) or "missing").encode())
                seen[paths] = h.hexdigest()
            digests[name] = seen[paths]
        out[run.key] = digests
    return out


def option_changes(rec: dict, run: Run, current: dict[str, str]) -> list[str]:
    """One text per option of ``run`` whose files (:func:`option_files`) have other contents than when
    ``rec`` was made (``current``: option -> SHA-256 now, :func:`option_digests`), e.g. a policy
    retrained into the same folder; none for a record without ``option_sha256`` (made before it)."""
    made = rec.get("option_sha256")
    if not isinstance(made, dict):
        return []
    files = option_files(run)
    return [f"the files its options.{name} names ({', '.join(str(f) for f in files[name])}) changed since this "
            f"record was made" for name, now in current.items() if made.get(name, now) != now]


def guard_raised(rec: dict, guard_s: float) -> str | None:
    """Why a ``timeout`` record is out of date: its run was killed by a wall-clock guard shorter than
    ``guard_s``, the run's guard now (:meth:`optdist.bench.spec.BenchSpec.guard_s`: ``wall_limit`` or
    ``time_limit`` raised, as the timeout's fix says); None otherwise. A record of a run that ended
    is not redone for a changed guard: the guard only kills."""
    was = rec.get("guard_s")
    if rec.get("status") != "timeout" or not _number(was) or float(was) >= guard_s:
        return None
    return (f"its run was killed by the wall-clock guard of {float(was):g} s, and the guard is now {guard_s:g} s "
            "(wall_limit or time_limit raised)")


GRID_NAME = "grid.json"
GRID_FORMAT = "optdist-bench-grid/1"


def write_grid(out: str | Path, spec_name: str, runs: list[Run]) -> Path:
    """Record the keys of spec ``spec_name``'s grid in ``OUT/grid.json`` (atomically), keeping the
    other specs' grids there: the runs the tables count are those of every spec's grid."""
    grids = _read_grids(Path(out) / GRID_NAME)[0] or {}
    grids[spec_name] = sorted(r.key for r in runs)
    return atomic_write_json(Path(out) / GRID_NAME, {"format": GRID_FORMAT, "specs": dict(sorted(grids.items()))})


def _read_grids(path: Path) -> tuple[dict[str, list[str]] | None, str]:
    """The grids of ``path`` by spec name, or None and why when it is missing or unusable."""
    if not path.exists():
        return None, "missing"
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, UnicodeDecodeError, ValueError) as e:
        return None, f"unreadable JSON: {e}"
    specs = doc.get("specs") if isinstance(doc, dict) and doc.get("format") == GRID_FORMAT else None
    if not isinstance(specs, dict) or not all(isinstance(k, list) for k in specs.values()):
        return None, f"not a {GRID_FORMAT} document"
    return {str(name): [str(k) for k in keys] for name, keys in specs.items()}, ""


def _label(run: Run) -> tuple:
    """What the tables tell a run apart by: its instance file, method, solver, formulation and seed."""
    return str(Path(run.instance_path).resolve()), run.method, run.solver, run.formulation, run.seed


def grid_clash(out: str | Path, spec_name: str, runs: list[Run]) -> str | None:
    """Why spec ``spec_name`` (grid ``runs``) must not write into ``out``, or None: another spec's grid
    there (``OUT/grid.json``) holds a recorded run of the same instance file, method, solver,
    formulation and seed with other options (e.g. another time_limit; a renamed copy of a spec),
    which the tables would count beside this spec's under one configuration, each instance twice.
    Specs whose grids join (other instances, other methods) pass."""
    grids, _ = _read_grids(Path(out) / GRID_NAME)
    others = {k: name for name, keys in (grids or {}).items() if name != spec_name for k in keys}
    if not others:
        return None
    ours = {r.key for r in runs}
    labels = {_label(r): r for r in runs}
    for path in record_files(out):
        if path.stem not in others or path.stem in ours:
            continue
        try:
            run = Run.from_json(read_record(path)["run"])
        except DamagedRecord:
            continue
        mine = labels.get(_label(run))
        if mine is None:
            continue
        diffs = [f"{k} {json_text(run.options.get(k))} there, {json_text(mine.options.get(k))} here"
                 for k in sorted(set(run.options) | set(mine.options)) if run.options.get(k) != mine.options.get(k)]
        return (f"{Path(out) / GRID_NAME}: spec {text_of(others[path.stem])} has recorded the run of {run.instance} "
                f"with {'/'.join(str(p) for p in (run.method, run.solver, run.formulation) if p is not None)} in this "
                f"folder ({path}) with other options ({'; '.join(diffs) or 'its options'}); spec {text_of(spec_name)} "
                "writing here would count each instance twice under one configuration in the tables (fix: give this "
                "spec another out, or --out DIR; or, to replace that spec's runs, give this spec its name "
                f"{text_of(others[path.stem])})")
    return None


def read_grid(out: str | Path) -> tuple[set[str] | None, list[str]]:
    """The keys of every spec's grid in ``OUT/grid.json`` (None when there is none, or it is
    unusable: then a warning, without a level word: the logger that prints it adds one)."""
    path = Path(out) / GRID_NAME
    grids, why = _read_grids(path)
    if grids is None:
        if why == "missing":
            return None, []
        return None, [f"{path}: {why}; every record under {Path(out) / 'records'} is counted "
                      f"(fix: run {rerun(out)} again, which rewrites it)"]
    return {k for keys in grids.values() for k in keys}, []


def read_records(out: str | Path) -> tuple[list[dict], list[str]]:
    """Every usable record of the sweep's grid under ``out`` (:func:`read_grid`; all of them
    without one) made from its instance file as it is now (:func:`current_records`), one warning per
    damaged file (named), one per instance file changed since records of it were made, and one for
    records outside the grid (texts for ``log.warning``, which adds the level: no "WARNING" of their own)."""
    grid, warns = read_grid(out)
    owner = {k: name for name, keys in (_read_grids(Path(out) / GRID_NAME)[0] or {}).items() for k in keys}
    recs, stray = [], []
    for path in record_files(out):
        try:
            rec = read_record(path)
        except DamagedRecord as e:
            fix = _damaged_fix(e, owner.get(path.stem)) if grid is None or path.stem in grid else (
                f"it is of no run in {Path(out) / GRID_NAME}, so no `optdist bench` of this folder reads it or sets it "
                f"aside: move {path} out of {path.parent}, or delete it")
            warns.append(f"{e}; left out of the tables and figures (fix: {fix})")
            continue
        (recs if grid is None or rec["key"] in grid else stray).append(rec)
    recs, stale_warns = current_records(out, recs)
    warns += stale_warns + missing_runs(out)
    if stray:
        first, others = record_path(out, stray[0]["key"]), len(stray) - 1
        warns.append(f"{first}{f' and {others} other record(s)' if others else ''}: of runs in no spec's grid "
                     f"({Path(out) / GRID_NAME}: the spec was edited since they ran); left out of the tables and "
                     f"figures, kept on disk (fix: to count them, run the spec as it was when they ran; to be rid of "
                     f"them, move them out of {Path(out) / 'records'})")
    return recs, warns


def missing_runs(out: str | Path) -> list[str]:
    """One warning per spec of ``OUT/grid.json`` with runs of its grid that have no record file under
    ``OUT/records`` (an interrupted sweep, a record set aside as damaged, a file moved away): the
    tables and figures lack them. Names the first keys, how many, and the command that does them
    (:func:`rerun`); no level word."""
    grids, _ = _read_grids(Path(out) / GRID_NAME)
    have = {p.stem for p in record_files(out)}
    warns = []
    for name, keys in sorted((grids or {}).items()):
        lack = [k for k in keys if k not in have]
        if lack:
            more = f" and {len(lack) - 3} more" if len(lack) > 3 else ""
            warns.append(f"{Path(out) / GRID_NAME}: {len(lack)} of the {len(keys)} runs of spec {text_of(name)}'s grid "
                         f"have no record under {Path(out) / 'records'} ({', '.join(lack[:3])}{more}); the tables and "
                         f"figures lack them (fix: run {rerun(out, name)} again, which does the runs without a record)")
    return warns


def current_records(out: str | Path, recs: list[dict]) -> tuple[list[dict], list[str]]:
    """``recs`` less those made from another version of their instance file (or a file it names) than the
    one on disk now (:func:`stale`; each file hashed once), and the warnings: one per instance file that changed, naming
    its records left out and the fix (a rerun of the sweep redoes them), one per instance file that is
    gone (its records are kept, unchecked). Records without ``instance_sha256`` are kept. The paths are
    relative to the working directory, as the spec's were when the sweep ran."""
    by_path: dict[str, list[dict]] = {}
    for rec in recs:
        if rec.get("instance_sha256") is not None:
            by_path.setdefault(str(rec["run"].get("instance_path")), []).append(rec)
    out_of_date: set[int] = set()
    warns, gone = [], []
    for path, group in by_path.items():
        if not Path(path).is_file():
            gone.append((path, group))
            continue
        now = instance_digest(path)
        old = [r for r in group if stale(r, now)]
        if old:
            out_of_date.update(id(r) for r in old)
            names = ", ".join(str(record_path(out, r["key"])) for r in old[:3]) + (
                f" and {len(old) - 3} more" if len(old) > 3 else "")
            warns.append(f"{path}: the instance file or a file it names (a profile, a privacy table) changed since "
                         f"{len(old)} record(s) of it were made ({names}); "
                         f"left out of the tables and figures, kept on disk (fix: run "
                         f"{rerun_of(out, [r.get('spec') for r in old])} again, which "
                         "redoes those runs on the file as it is now)")
    if gone:  # once for all of them: run from another folder, every relative path is gone
        n = sum(len(g) for _, g in gone)
        files = ", ".join(p for p, _ in gone[:3]) + (f" and {len(gone) - 3} more" if len(gone) > 3 else "")
        warns.append(f"{files}: instance file(s) not found (from {Path.cwd()}), so {n} record(s) of them (e.g. "
                     f"{record_path(out, gone[0][1][0]['key'])}) are counted without checking that they were made "
                     "from the files as they are now (fix: run this command from the folder the sweep ran in, or put "
                     "the files back)")
    return [r for r in recs if id(r) not in out_of_date], warns


def _own_key(rec: dict) -> bool:
    """Whether ``rec['key']`` is its run's key (current or legacy), as ``optdist bench`` names it."""
    run = Run.from_json(rec["run"])
    return rec["key"] in (run.key, run.legacy_key)


def _damaged_fix(e: DamagedRecord, spec: str | None = None) -> str:
    """The fix of a damaged record: a misnamed one (a copy or a renamed file: ``optdist bench``
    never reads it as its run's record, so never redoes it) is deleted or renamed; any other
    is set aside by the next ``optdist bench`` of the spec whose grid has it (``spec``, its name:
    :func:`rerun`), which redoes its run."""
    if e.example is not None:
        return (f"write the field as {e.example}, or run {rerun(e.path.parent.parent, spec)} again: it sets the "
                f"record aside under {e.path.parent / DAMAGED_DIR} and redoes the run")
    if e.key is None:
        return (f"run {rerun(e.path.parent.parent, spec)} again: it sets the record aside under "
                f"{e.path.parent / DAMAGED_DIR} and redoes the run")
    if not e.own:  # a key no run has (edited by hand): not a name to give the file
        return f"its key is not its run's: move it out of {e.path.parent}"
    own = e.path.with_name(f"{e.key}.json")
    if own.exists():
        return f"it is a copy of the record of run {e.key}, which is {own.name}: delete it or move it out of {e.path.parent}"
    return f"rename it {own.name}, the name of its run's record, or move it out of {e.path.parent}"


def set_aside(damaged: DamagedRecord) -> Path:
    """Move a damaged record to ``records/damaged/`` next to a note saying why; return its new path."""
    path = damaged.path
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    dest = path.parent / DAMAGED_DIR / f"{path.stem}.{stamp}{path.suffix}"
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(path, dest)
    note = f"{path}: {damaged.why}\nset aside at {stamp}; the run is done again.\n"
    atomic_write_text(dest.with_suffix(".why.txt"), note)
    return dest


def find(out: str | Path, run: Run) -> tuple[Path, dict] | None:
    """The file and record of ``run`` (under its current key, else a legacy record of exactly
    this run: same instance path), or None. Reads only; raises :class:`DamagedRecord`."""
    path = record_path(out, run.key)
    if path.exists():
        rec = read_record(path)
        if Run.from_json(rec["run"]) != run:
            raise DamagedRecord(path, f"it records another run than that of its key: {rec['run']}")
        return path, rec
    old = record_path(out, run.legacy_key)
    if old.exists():
        rec = read_record(old)
        if Run.from_json(rec["run"]) == run:  # else the other instance of a shared legacy key
            return old, rec
    return None


def migrate(out: str | Path, run: Run) -> dict | None:
    """Like :func:`find`, renaming a legacy record to ``run``'s current key (atomically)."""
    found = find(out, run)
    if found is None:
        return None
    path, rec = found
    if path != record_path(out, run.key):
        rec["key"] = run.key
        atomic_write_json(record_path(out, run.key), rec, non_finite=True)
        path.unlink()
    return rec
