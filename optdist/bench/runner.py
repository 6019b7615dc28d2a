"""Run a sweep's grid through a ``concurrent.futures`` executor, resumably.

Each run executes in a fresh ``python -m optdist.bench.worker`` process under a hard
wall-clock guard (``BenchSpec.guard_s``): a run that outlives it is killed and recorded
with status ``timeout``. The executor is a local process pool by default, or a Dask
cluster's executor when a scheduler address is given (Dask is imported only then).

Records are written by the submitting process, atomically, to ``OUT/records/<key>.json`` as
each run finishes; a run whose record exists is skipped, so a killed sweep resumes without
redoing or losing finished runs (records with status ``error``/``timeout`` are redone only
with ``retry_errors``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path

from tqdm import tqdm

from optdist.bench.spec import BenchSpec, Run
from optdist.io import atomic_write_json

RECORD_FORMAT = "optdist-bench-record/1"
VERSIONED = ("optdist", "pyomo", "highspy", "pyscipopt", "numpy", "pandas", "torch")


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


@cache
def versions() -> dict[str, str | None]:
    """Python and the installed versions of the packages that shape a result."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


@cache
def host() -> dict:
    """Where a run executed: host name, OS, CPU model and count."""
    cpu = platform.processor() or None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"hostname": socket.gethostname(), "platform": platform.platform(), "cpu": cpu, "cpus": os.cpu_count()}


def execute(run: Run, guard_s: float) -> dict:
    """Solve ``run`` in a child process killed after ``guard_s`` seconds; return its record."""
    started, t0 = _now(), time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="optdist-run-") as tmp:
        result, log = Path(tmp) / "result.json", Path(tmp) / "log.txt"
        cmd = [sys.executable, "-m", "optdist.bench.worker", json.dumps(run.to_json()), str(result)]
        with log.open("wb") as fh:
            proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            try:
                rc = proc.wait(timeout=guard_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                rc = None
        tail = log.read_text(errors="replace")[-4000:]
        if rc is None:
            payload = {"status": "timeout", "error": f"killed by the wall-clock guard after {guard_s:g} s", "log_tail": tail}
        elif result.exists():
            payload = json.loads(result.read_text())
            if payload["status"] != "ok":
                payload["log_tail"] = tail
        else:
            payload = {"status": "error", "error": f"worker exited with status {rc} and no result", "log_tail": tail}
    if "instance_info" not in payload:  # failed runs still say how big the instance was
        payload["instance_info"] = _info(run)
    return {
        "format": RECORD_FORMAT,
        "key": run.key,
        "run_id": uuid.uuid4().hex,
        "run": run.to_json(),
        **payload,
        "guard_s": guard_s,
        "elapsed_s": time.perf_counter() - t0,
        "started_at": started,
        "finished_at": _now(),
        "versions": versions(),
        "host": host(),
    }


def _info(run: Run) -> dict | None:
    from optdist.bench.worker import instance_info
    from optdist.instance import load_instance

    try:
        return instance_info(load_instance(run.instance_path))
    except Exception:  # an unreadable instance is already the run's recorded error
        return None


def record_path(out: str | Path, key: str) -> Path:
    return Path(out) / "records" / f"{key}.json"


def finished(out: str | Path, run: Run, retry_errors: bool = False) -> bool:
    """True if ``run`` has a record (a complete one: records are written atomically)."""
    path = record_path(out, run.key)
    if not path.exists():
        return False
    return not retry_errors or json.loads(path.read_text()).get("status") == "ok"


@contextmanager
def make_executor(workers: int = 1, scheduler: str | None = None) -> Iterator[Executor]:
    """A local process pool of ``workers``, or the executor of the Dask cluster at ``scheduler``."""
    if scheduler is None:
        with ProcessPoolExecutor(max_workers=workers) as ex:
            yield ex
        return
    from distributed import Client  # optional dependency: only for --scheduler

    with Client(scheduler) as client:
        ex = client.get_executor(pure=False)
        try:
            yield ex
        finally:
            ex.shutdown(wait=True)


@dataclass
class SweepReport:
    """What a sweep did: runs in the grid, skipped (already recorded), run now, failed now."""

    total: int
    skipped: int
    ran: int
    failed: int
    out: Path


def run_sweep(
    spec: BenchSpec,
    out: str | Path | None = None,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    retry_errors: bool = False,
    progress: bool = True,
    on_record: Callable[[dict], None] | None = None,
) -> SweepReport:
    """Run every unfinished run of ``spec``, writing ``OUT/records/<key>.json`` as each ends."""
    out = Path(out or spec.out)
    runs = spec.runs()
    todo = [r for r in runs if not finished(out, r, retry_errors)]
    atomic_write_json(out / "spec.json", spec.to_json())
    ran = failed = 0
    bar = tqdm(total=len(runs), initial=len(runs) - len(todo), desc=spec.name, unit="run", disable=not progress)
    with make_executor(workers, scheduler) as ex:
        futures: dict[Future, Run] = {ex.submit(execute, r, spec.guard_s()): r for r in todo}
        try:
            for fut in as_completed(futures):
                run = futures[fut]
                try:
                    rec = fut.result()
                except Exception as e:  # the executor itself failed (worker lost): record it
                    rec = {"format": RECORD_FORMAT, "key": run.key, "run": run.to_json(), "status": "error",
                           "error": f"executor: {type(e).__name__}: {e}", "finished_at": _now()}
                rec["spec"] = spec.name
                atomic_write_json(record_path(out, run.key), rec)
                ran += 1
                failed += rec["status"] != "ok"
                bar.update()
                bar.set_postfix(failed=failed)
                if on_record is not None:
                    on_record(rec)
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise
        finally:
            bar.close()
    return SweepReport(len(runs), len(runs) - len(todo), ran, failed, out)
