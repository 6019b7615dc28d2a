"""One run in its own process: ``python -P -m optdist.bench.worker RUN_JSON RESULT_PATH [IMPORT_DIR]``.

The runner starts this per run so that a hung or crashing method can be killed (hard
wall-clock guard) without taking the sweep down. It solves, re-scores with the evaluator
(:func:`optdist.solve`), and writes the payload of the run's record atomically to
``RESULT_PATH``; an exception is written there as ``{"status": "error", ...}``.

It reports each phase as it enters it (:func:`report_phase`: reading the instance, the solve,
scoring) in a file beside ``RESULT_PATH`` (:func:`phase_path`), which the runner reads to say in a
timeout's record which phase the wall-clock guard killed, and to count the solve's guard from
the solve's start (:func:`optdist.bench.runner.execute`).

It dies with the process that started it (:func:`die_with_parent`, pid in ``PARENT_ENV``).
Methods come from the registry or an ``optdist.*`` module; a ``module:function`` from
elsewhere is imported only when the runner passes ``IMPORT_DIR``, the folder where it found
that module (appended to the end of the import path).
"""

from __future__ import annotations

import importlib
import json
import math
import os
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from optdist.bench.records import instance_digest, kept_placement
from optdist.bench.spec import Run
from optdist.io import atomic_write_json
from optdist.jsonfile import text_of
from optdist.solvers.subprocesses import set_parent_death_signal

PARENT_ENV = "OPTDIST_BENCH_PARENT"  # the pid of the process this worker dies with

#: the phases a worker reports (:func:`report_phase`), in order; before the first, it is starting up (its
#: interpreter and the imports of this module)
PHASES = ("reading", "solve", "scoring")


def phase_path(result: str | os.PathLike, phase: str) -> Path:
    """The file in which the worker writing its payload to ``result`` reports entering ``phase``."""
    return Path(result).with_name(f"{Path(result).name}.{phase}")


def report_phase(result: str | os.PathLike | None, phase: str) -> None:
    """Write ``{"at": time.time()}`` (seconds since the epoch) to :func:`phase_path` of
    ``result`` and ``phase`` (one of :data:`PHASES`), atomically: the worker entered ``phase``
    then. Nothing where ``result`` is None (a run executed in this process) or the file cannot be
    written (the phase is then unknown to the runner, which is no reason to fail the run)."""
    if result is None:
        return
    try:
        atomic_write_json(phase_path(result, phase), {"at": time.time()})
    except OSError:
        pass


def die_with_parent(parent: int) -> None:
    """Be killed when process ``parent`` (our parent) ends, even by SIGKILL.

    Linux: ``prctl(PR_SET_PDEATHSIG, SIGKILL)``; elsewhere a daemon thread polls the parent
    pid every 0.5 s. Either way, a parent already gone ends this process at once. Solvers the
    worker starts die with it in turn (:mod:`optdist.solvers.subprocesses`).
    """
    if not set_parent_death_signal():
        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(0.5)
            os._exit(1)

        threading.Thread(target=watch, daemon=True, name="parent-watchdog").start()
    if os.getppid() != parent:  # it died before we asked
        os._exit(1)


def method_callable(method: str, import_dir: str | None = None) -> Callable[..., Any]:
    """A registered method name, an ``optdist.*`` ``module:function``, or, with ``import_dir``,
    a ``module:function`` from that folder. Raises ValueError for any other method."""
    if ":" not in method:
        from optdist.solve import method_function

        return method_function(method)
    module, func = method.split(":", 1)
    if module.split(".")[0] != "optdist":
        if import_dir is None:
            raise ValueError(f"method {text_of(method)} is outside optdist and was not allowed (--allow-external-methods)")
        sys.path.append(import_dir)
        mod = importlib.import_module(module)
        where = os.path.realpath(getattr(mod, "__file__", None) or "")
        if os.path.commonpath([where, os.path.realpath(import_dir)]) != os.path.realpath(import_dir):
            raise ValueError(f"method {text_of(method)}: module {text_of(module)} was imported from {where}, not from {import_dir} "
                             "where the sweep found it (fix: rename the module)")
        return getattr(mod, func)
    return getattr(importlib.import_module(module), func)


def jsonable(obj: Any) -> Any:
    """``obj`` with numpy scalars/arrays as Python values, non-finite floats as None, the rest as str."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if obj is None or isinstance(obj, bool | int | str):
        return obj
    if hasattr(obj, "tolist"):
        return jsonable(obj.tolist())
    return str(obj)


def instance_info(inst: Any) -> dict:
    """Size and make-up of an instance, for tables and figures."""
    return {
        "name": inst.name,
        "n_requests": inst.n_requests,
        "n_devices": inst.n_devices,
        "tau": inst.spec.tau,
        "period_s": inst.spec.period_s,
        "cnns": dict(Counter(inst.request_cnn)),
        "device_types": dict(Counter(t or "custom" for t in inst.node_types[: inst.n_devices])),
    }


def scores(inst: Any, res: Any) -> dict:
    """Per-request latency and shared data, and how many requests meet every constraint.

    ``requests_ok`` counts admitted requests that no violation names (the paper's
    RL-accuracy numerator); ``node_violations`` counts capacity violations, which name a node.
    """
    ev = res.evaluation
    if ev is None:
        return {"per_request": None, "requests_ok": 0, "node_violations": None}
    named = {v.request for v in ev.violations if v.request is not None}
    ok = sum(1 for r, rid in enumerate(inst.request_ids) if ev.admitted[r] and rid not in named)
    return {
        "per_request": {"latency_s": jsonable(ev.latency), "shared_bytes": jsonable(ev.shared_bytes)},
        "requests_ok": ok,
        "node_violations": sum(1 for v in ev.violations if v.request is None),
    }


class InstanceChanged(RuntimeError):
    """The instance file changed while the worker read it (its SHA-256 before and after differ)."""


def execute_in_process(run: Run, import_dir: str | None = None, digest: str | None = None,
                       result: str | None = None) -> dict:
    """Solve ``run`` here and return the record payload (status ok), or raise.

    ``digest``: the SHA-256 of the instance file and the files it names as this worker found them
    (:func:`optdist.bench.records.instance_digest`; computed here when not given); hashed again once loaded, and :class:`InstanceChanged` raised if it changed
    meanwhile, so that ``instance_sha256`` in the payload is the hash of the bytes the run solved.
    ``result``: the payload's file, beside which the phases ``solve`` (the method called: its model
    build and solve) and ``scoring`` (the evaluator's re-score) are reported (:func:`report_phase`)."""
    from optdist.instance import load_instance
    from optdist.milp.run import refute_checked_bound
    from optdist.result import finalize

    if digest is None:
        digest = instance_digest(run.instance_path)
    inst = load_instance(run.instance_path)
    if instance_digest(run.instance_path) != digest:
        raise InstanceChanged(f"{run.instance_path}: the instance file or a file it names changed while this run read "
                              "it (fix: do not edit instance files, nor their profiles or privacy tables, during a sweep; run it again once the file is as it should be)")
    fn = method_callable(run.method, import_dir)
    options = run.solve_options()
    if isinstance(options.get("warm_start"), str) and ":" not in run.method:  # as optdist.solve reads it: a file
        from optdist.solve import warm_start_of  # is its placement (was taken as a method name: "unknown method")

        options["warm_start"] = warm_start_of(inst, options["warm_start"])
    report_phase(result, "solve")
    t0 = time.perf_counter()
    res = fn(inst, **options)
    report_phase(result, "scoring")
    refute_checked_bound(inst, res)  # a user adapter's or GLPK's bound, checked as optdist.solve checks it
    res = finalize(inst, res)
    summary = jsonable(res.summary())
    # the solver died or failed: a failed run (exit 1, --retry-errors), unless a feasible placement was kept
    # (a warm start: `optdist solve` exits 0 on it), a result with a note (records.kept_placement)
    kept = kept_placement(summary)
    failed = str(res.termination) == "error" and not kept
    return {
        "status": "error" if failed else "ok",
        "error": _termination_error(res) if failed else None,
        **({"note": _kept_note(res)} if kept else {}),
        "summary": summary,
        "solve_wall_s": time.perf_counter() - t0,
        "instance_info": instance_info(inst),
        **scores(inst, res),
        "extra": jsonable(res.extra),
        # the solver's own version where its adapter tells it (extra.solver_version), on the record's face
        "solver_version": res.extra.get("solver_version") if isinstance(res.extra, dict) else None,
        "instance_sha256": digest,  # of the bytes this run loaded (the runner compares it with the sweep's)
    }


def _kept_note(res: Any) -> str:
    """The note of a run that ended with termination ``error`` but kept a feasible placement."""
    kept = res.extra.get("incumbent") if isinstance(res.extra, dict) else None
    return (f"{_termination_error(res)}; it kept a feasible placement ({kept or 'the warm start'}), a result as "
            "`optdist solve` counts it (exit 0): status ok, not a failed run, not redone by --retry-errors")


def _termination_error(res: Any) -> str:
    """The error of a run whose method ended with termination ``error``: the solver's message
    (``extra.solver_error``, e.g. its process killed by a signal), else its status."""
    extra = res.extra if isinstance(res.extra, dict) else {}
    why = extra.get("solver_error") or extra.get("solver_status") or "no message from the method"
    errors = extra.get("solver_errors")
    if not extra.get("solver_error") and isinstance(errors, list) and errors:
        why = "; ".join(str(e) for e in errors[:3])
    return f"{res.method} ended with termination error ({res.solver or 'no solver'}): {why}"


def main(argv: list[str]) -> int:
    if PARENT_ENV in os.environ:
        die_with_parent(int(os.environ[PARENT_ENV]))
    report_phase(argv[1], "reading")  # started up: the instance and the method are read next
    run = Run.from_json(json.loads(argv[0]))
    digest = instance_digest(run.instance_path)  # the file as this run finds it, before it is read
    try:
        payload = execute_in_process(run, argv[2] if len(argv) > 2 else None, digest, argv[1])
    except Exception as e:  # recorded, never raised: the sweep goes on
        payload = {"status": "error", "error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()[-4000:],
                   "instance_sha256": digest}
    atomic_write_json(argv[1], payload, non_finite=True)  # jsonable leaves none; any other is named, not fatal
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
