"""The ``hetero`` RL preset across training seeds and held-out sets, against greedy, plan-guided and the engine.

    python benchmarks/online/hetero_seeds.py --seeds 1 2 --policies DIR   # train what is missing, place, score
    python benchmarks/online/hetero_seeds.py --render                     # hetero_seeds.{md,csv} from the records

For each seed a policy is trained on the training set (:data:`TRAINING`) by the command a user
runs, ``optdist train-rl FILE --preset hetero --reward stage --masked --double --seed S --out
DIR/seedS`` (the preset's episodes and train_freq), in a child process; a policy already in
``DIR/seedS`` (its ``policy.json``) is reused, not retrained. Then on the training set and each
held-out set (:data:`HELDOUT`, made by ``heldout_instances.py``) every seed's policy (``optdist
solve FILE --method rl --policy DIR/seedS``), greedy (``--method greedy``), plan-guided
(``--method plan-guided``, default options) and the exact engine (``optdist solve FILE
--time-limit 60``) place the requests, each in a child process writing ``--out``; each result is
scored by the independent evaluator (``optdist evaluate FILE RESULT``: its summary lines are kept;
the numbers are :func:`optdist.evaluate.evaluate`'s, which that command prints).

Records (small JSON, written atomically when a run ends; present: skipped, so a rerun resumes; a
policy's records made with another policy than the one now in ``DIR/seedS``, e.g. one a signal
stopped that ``optdist train-rl ... --resume`` has since finished, are redone) in
``hetero_seeds/``: ``train--seedS.json`` (``train_s`` from ``policy.json``, the command's wall and
CPU seconds, 1-minute load average before and after; a policy trained outside this script gets
``wall_s``/``cpu_s`` from a ``/usr/bin/time -v`` log ``DIR/seedS.time`` where there is one, else
none) and ``<instance>--<method>.json``. The table (:func:`table`) gives each row the gap of its
total latency to the engine's bound on that set where every request is admitted and nothing is
violated. SIGINT/SIGTERM stop the run (exit 130 / 143): the child under way is killed and gets no
record, those written stay.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(ROOT), str(HERE)]  # this checkout's optdist (run by path, the script's folder comes first, not the cwd)

from optdist.instance import load_instance  # noqa: E402
from optdist.interrupts import interrupted_status, sigterm_interrupts, signal_name  # noqa: E402
from optdist.io import atomic_write_json, atomic_write_text  # noqa: E402
from optdist.result import SolveResult  # noqa: E402

from _common import machine, row  # noqa: E402
from heldout_instances import HELDOUT  # noqa: E402

RECORDS = HERE / "hetero_seeds"
TRAINING = "instances/coupled/mixed-8x6-nexus-rpi3.json"
INSTANCES = [TRAINING, *(f"benchmarks/online/instances/{name}.json" for name in HELDOUT)]
ENGINE_S = 60.0
#: baseline label -> the arguments of ``optdist solve FILE`` (the engine's time limit is added by :func:`solve_args`)
BASELINES: dict[str, list[str]] = {"greedy": ["--method", "greedy"], "plan-guided": ["--method", "plan-guided"],
                                   "engine": []}
#: the columns of the results table, in order
COLUMNS = ["instance", "set", "method", "rejected", "capacity_viol", "privacy_viol", "placement_viol", "latency_ms",
           "engine_bound_ms", "gap_to_bound_%", "decision_ms_per_request", "wall_s", "policy_episodes"]
TRAIN_COLUMNS = ["seed", "episodes", "episodes_planned", "interrupted", "train_freq", "train_s", "wall_s", "cpu_s",
                 "load_before", "load_after", "timed_by", "date_utc"]


def optdist_cmd(*args: str) -> list[str]:
    """The command line running this checkout's ``optdist`` with ``args``."""
    return [sys.executable, "-m", "optdist", *args]


def train_args(instance: str, seed: int, out: Path, episodes: int | None = None) -> list[str]:
    """``optdist train-rl``'s arguments for ``seed`` writing ``out`` (``episodes``: None, the preset's)."""
    extra = [] if episodes is None else ["--episodes", str(episodes)]
    return ["train-rl", instance, "--preset", "hetero", "--reward", "stage", "--masked", "--double", "--seed", str(seed),
            *extra, "--out", str(out)]


def run_child(args: list[str], ok: tuple[int, ...] = (0,)) -> tuple[subprocess.CompletedProcess, float, float, float, float]:
    """Run ``optdist args`` from the repository root: (process, wall s, CPU s, load before, load after).
    RuntimeError with its last output where its exit status is not in ``ok`` (``optdist solve`` and
    ``evaluate`` exit 1 for a placement the evaluator finds infeasible, e.g. with rejections)."""
    load0 = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(optdist_cmd(*args), cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in ok:
        raise RuntimeError(f"optdist {' '.join(args)}: exit {proc.returncode}: {(proc.stderr or proc.stdout)[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return proc, wall, cpu, load0, os.getloadavg()[0]


def time_v(path: Path) -> tuple[float, float] | None:
    """(wall s, CPU s = user + system) from a GNU ``/usr/bin/time -v`` log; None where there is no such file."""
    if not path.is_file():
        return None
    text = path.read_text()
    user = float(re.search(r"User time \(seconds\): ([\d.]+)", text).group(1))
    system = float(re.search(r"System time \(seconds\): ([\d.]+)", text).group(1))
    clock = re.search(r"Elapsed \(wall clock\) time.*: ([\d:.]+)", text).group(1)
    wall = 0.0
    for part in clock.split(":"):
        wall = 60 * wall + float(part)
    return wall, user + system


def train_record(seed: int, policy: Path, wall: float | None, cpu: float | None, loads: tuple[float | None, float | None],
                 timed_by: str) -> dict:
    """The training record of ``seed``: its ``policy.json``'s episodes, train_freq and train_s, and
    the command's wall and CPU seconds and load averages (None where not measured)."""
    cfg = json.loads((policy / "policy.json").read_text())
    return {"seed": seed, "instance": cfg["instance"], "episodes": cfg["episodes"],
            "episodes_planned": cfg.get("episodes_planned", cfg["episodes"]), "interrupted": cfg.get("interrupted"),
            "policy": policy_stamp(policy), "train_freq": cfg.get("train_freq", 1), "train_s": cfg["train_s"], "wall_s": wall, "cpu_s": cpu, "load_before": loads[0], "load_after": loads[1],
            "timed_by": timed_by, "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()), "machine": machine()}


def policy_stamp(policy: Path) -> dict:
    """What identifies the policy in ``policy`` (a folder from ``optdist train-rl``): its
    ``policy.json``'s episodes, planned episodes, training seconds and ``interrupted`` (a signal
    that stopped it, else None). A record made with another stamp is stale."""
    cfg = json.loads((policy / "policy.json").read_text())
    return {"episodes": cfg["episodes"], "episodes_planned": cfg.get("episodes_planned", cfg["episodes"]),
            "train_s": cfg["train_s"], "interrupted": cfg.get("interrupted")}


def ensure_policy(seed: int, policies: Path, records: Path, instance: str, episodes: int | None) -> Path:
    """``policies/seedS``, trained (and its record written) unless it holds a policy already; a
    policy found there gets a record (:func:`train_record`, timed by ``policies/seedS.time`` if any)
    where it has none or one of another policy (:func:`policy_stamp`: e.g. one a signal stopped,
    since resumed with ``optdist train-rl --resume``)."""
    policy, rec = policies / f"seed{seed}", records / f"train--seed{seed}.json"
    if (policy / "policy.json").is_file():
        if not rec.exists() or json.loads(rec.read_text()).get("policy") != policy_stamp(policy):
            timed = time_v(policies / f"seed{seed}.time")
            atomic_write_json(rec, train_record(seed, policy, *(timed or (None, None)), (None, None),
                                                "/usr/bin/time -v (outside this script)" if timed else "not timed"))
        return policy
    args = train_args(instance, seed, policy, episodes)
    print(f"seed {seed}: optdist {' '.join(args)}", flush=True)
    _proc, wall, cpu, load0, load1 = run_child(args)
    atomic_write_json(rec, train_record(seed, policy, wall, cpu, (load0, load1), "this script"))
    print(f"seed {seed}: trained, {wall:.1f} s wall, {cpu:.1f} s CPU", flush=True)
    return policy


def solve_args(method: str, policy: Path | None, engine_s: float) -> list[str]:
    """The arguments after ``optdist solve FILE`` of ``method`` (a :data:`BASELINES` label, or
    ``rl-seedS`` with its ``policy``)."""
    if method.startswith("rl-"):
        return ["--method", "rl", "--policy", str(policy)]
    return BASELINES[method] + (["--time-limit", f"{engine_s:g}"] if method == "engine" else [])


def evaluator_lines(stdout: str) -> list[str]:
    """The summary lines of ``optdist evaluate``'s ``stdout``: latency, shared data and rejections, and
    each violation count."""
    lines = [line.strip() for line in stdout.splitlines()]
    keep = ("total latency", "shared data")
    return [line for line in lines if line.startswith(keep) or line.endswith("violation(s):")]


def place(instance: str, method: str, policy: Path | None, engine_s: float, training: bool) -> dict:
    """Place ``instance`` (a path from the repository root; ``training``: the policies' training set)
    with ``method`` (``optdist solve``) and score it (``optdist evaluate``): its record (a run that
    found no placement: its termination and bound, the evaluator's numbers None)."""
    inst = load_instance(ROOT / instance)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        args = ["solve", instance, *solve_args(method, policy, engine_s), "--requests", "0", "--out", str(out)]
        _proc, wall, cpu, _l0, _l1 = run_child(args, ok=(0, 1))
        res = SolveResult.load(out, inst)  # re-scored by optdist.evaluate.evaluate, as `optdist evaluate` does
        scored = None if res.assignment is None else run_child(["evaluate", instance, str(out), "--requests", "0"],
                                                                 ok=(0, 1))[0]
    if scored is None:
        rec = {"instance": inst.name, "method": method, **{c: None for c in COLUMNS[3:8]}, "feasible": None,
               "decision_ms_per_request": None, "wall_s": res.wall_time}
    else:
        rec = row(inst, method, res, None)
        rec.pop("gap_%"), rec.pop("of_optimal_%")
    return {**rec, "set": "training" if training else "held-out", "termination": str(res.termination),
            "objective": res.objective, "bound": res.bound, "command": "optdist " + " ".join(args[:-2]),
            "command_wall_s": wall, "command_cpu_s": cpu, "evaluate": [] if scored is None else evaluator_lines(scored.stdout),
            "policy": None if policy is None else policy_stamp(policy),
            "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime())}


def record_path(records: Path, instance: str, method: str) -> Path:
    """The record file of ``method`` on ``instance`` (a path)."""
    return records / f"{Path(instance).stem}--{method}.json"


def run_all(instances: list[str], seeds: list[int], policies: Path, records: Path, episodes: int | None,
            engine_s: float) -> None:
    """Every record of ``seeds`` x ``instances`` (training on ``instances[0]``) and the baselines that is
    missing or stale (a policy's record of another policy, :func:`policy_stamp`), each written as its
    run ends. RuntimeError where a command fails."""
    records.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        method, policy = f"rl-seed{seed}", policies / f"seed{seed}"
        stamp = policy_stamp(policy) if (policy / "policy.json").is_file() else None
        stale = [i for i in instances if _stale(record_path(records, i, method), stamp)]
        if stale or _stale(records / f"train--seed{seed}.json", stamp):
            policy = ensure_policy(seed, policies, records, instances[0], episodes)
            for instance in instances:
                if _stale(record_path(records, instance, method), policy_stamp(policy)):
                    _place(records, instance, method, policy, engine_s, instance == instances[0])
    for instance in instances:
        for method in BASELINES:
            if not record_path(records, instance, method).exists():
                _place(records, instance, method, None, engine_s, instance == instances[0])


def _stale(path: Path, stamp: dict | None) -> bool:
    """Whether the record ``path`` is missing or was made with a policy other than ``stamp``'s
    (None: no policy yet, so any record stands)."""
    if not path.exists():
        return True
    return stamp is not None and json.loads(path.read_text()).get("policy") != stamp


def _place(records: Path, instance: str, method: str, policy: Path | None, engine_s: float, training: bool) -> None:
    """Write ``method``'s record on ``instance``."""
    out = record_path(records, instance, method)
    rec = place(instance, method, policy, engine_s, training)
    atomic_write_json(out, rec)
    print(f"{out.stem}: {rec['termination']}, rejected {rec['rejected']}, latency {rec['latency_ms']} ms", flush=True)


def read_records(records: Path) -> tuple[list[dict], list[dict]]:
    """(placement records, training records) of ``records``; ValueError naming a file that is not valid JSON."""
    place_recs, train_recs = [], []
    for path in sorted(records.glob("*.json")):
        try:
            rec = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: line {e.lineno} column {e.colno}: invalid JSON: {e.msg} (fix: delete it and "
                             "rerun hetero_seeds.py to remake it)") from None
        (train_recs if path.name.startswith("train--") else place_recs).append(rec)
    return place_recs, train_recs


def table(place_recs: list[dict]) -> pd.DataFrame:
    """The results table (:data:`COLUMNS`), one row per record, sorted by set (training first),
    instance and method; ``engine_bound_ms`` the engine's bound on that instance (None without an
    engine record), ``gap_to_bound_%`` ``100 (latency - bound) / bound`` where the row admits
    every request with no violation (else NaN) and ``policy_episodes`` the episodes of a policy's
    row (NaN for the baselines)."""
    df = pd.DataFrame(place_recs)
    bounds = {r["instance"]: r["bound"] for r in place_recs if r["method"] == "engine" and r.get("bound") is not None}
    df["engine_bound_ms"] = [1e3 * bounds[i] if i in bounds else None for i in df["instance"]]
    df["policy_episodes"] = pd.Series([p["episodes"] if isinstance(p, dict) else None
                                       for p in df.get("policy", [None] * len(df))], index=df.index, dtype=object)
    ok = (df["rejected"] == 0) & (df["feasible"] == True) & df["engine_bound_ms"].notna()  # noqa: E712 (None: no placement)
    df["gap_to_bound_%"] = [100 * (lat - b) / b if good else None
                            for lat, b, good in zip(df["latency_ms"], df["engine_bound_ms"], ok)]
    order = {m: n for n, m in enumerate(BASELINES)}
    df["_set"] = df["set"] != "training"
    df["_method"] = [order.get(m, len(order)) for m in df["method"]]
    return df.sort_values(["_set", "instance", "_method", "method"])[COLUMNS].reset_index(drop=True)


def summary(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` (:func:`table`) as one row per method and one column per instance, each cell "latency
    ms (rejected)" (the evaluator's total latency of the admitted requests, rounded to 0.1 ms)."""
    cell = [f"{lat:.1f} ({rej:g})" if pd.notna(lat) else "no placement" for lat, rej in zip(df["latency_ms"], df["rejected"])]
    wide = df.assign(cell=cell).pivot(index="method", columns="instance", values="cell")
    order = {m: n for n, m in enumerate(BASELINES)}
    return wide.loc[sorted(wide.index, key=lambda m: (order.get(m, len(order)), m)), list(dict.fromkeys(df["instance"]))]


def render(records: Path) -> tuple[Path, Path]:
    """``<records>.md`` and ``<records>.csv`` beside the records folder, from its records; their paths.
    ValueError (:func:`read_records`) for an invalid record, or where there are none."""
    place_recs, train_recs = read_records(records)
    if not place_recs:
        raise ValueError(f"{records}: no placement records (fix: run hetero_seeds.py without --render first)")
    df = table(place_recs)
    md_path, csv_path = records.with_suffix(".md"), records.with_suffix(".csv")
    atomic_write_text(csv_path, df.to_csv(index=False))
    tr = pd.DataFrame(train_recs, columns=TRAIN_COLUMNS + ["machine"]).sort_values("seed")
    commands = sorted({r["command"] for r in place_recs})
    md = ["# The hetero preset across seeds and held-out sets",
          "",
          f"Command: `python benchmarks/online/{Path(__file__).name}` (records in `{records.name}/`; `--render` rewrites "
          "this file and its .csv). Training: the hetero preset at its defaults on the training set, one policy per "
          "seed. Each row: one placement of the set, scored by the independent evaluator (`optdist evaluate`): "
          "rejections, violations (capacity / privacy / placement), total latency of the admitted requests, the "
          "engine's certified bound on the set (`optdist solve FILE --time-limit 60`), the gap to it where every "
          "request is admitted and nothing violated, the method's decision ms per request and its own wall seconds.",
          f"Machines: {'; '.join(sorted(set(r['machine'] for r in train_recs) | {machine()}))}",
          "",
          "## Training (`optdist train-rl ... --preset hetero --reward stage --masked --double --seed S`)",
          "",
          tr[TRAIN_COLUMNS].to_markdown(index=False, floatfmt=".1f") if len(tr) else "(no training records)",
          "",
          "## Total latency in ms (rejected requests) per method and set",
          "",
          summary(df).reset_index().to_markdown(index=False),
          "",
          "## Placements",
          "",
          df.to_markdown(index=False, floatfmt=".4g"),
          "",
          "Commands:",
          "",
          *[f"- `{c}`" for c in commands],
          ""]
    atomic_write_text(md_path, "\n".join(md))
    return md_path, csv_path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="*", default=[1, 2, 3],
                    help="training seeds (default 1 2 3; none: only the baselines)")
    ap.add_argument("--policies", type=Path, default=Path(tempfile.gettempdir()) / "optdist-hetero-seeds",
                    help="folder of the policies, one seedS/ per seed (reused where present; default: %(default)s)")
    ap.add_argument("--instances", nargs="+", default=INSTANCES,
                    help="instance files from the repository root, the first the training set (default: "
                         "mixed-8x6-nexus-rpi3 and the held-out sets)")
    ap.add_argument("--records", type=Path, default=RECORDS, help="records folder (default: %(default)s)")
    ap.add_argument("--episodes", type=int, help="training episodes (default: the preset's; fewer only for a quick check)")
    ap.add_argument("--engine-time-limit", type=float, default=ENGINE_S, help="the engine's seconds (default %(default)g)")
    ap.add_argument("--render", action="store_true", help="only rewrite the table from the records")
    args = ap.parse_args(argv)
    if not args.render:
        try:
            with sigterm_interrupts():
                run_all(args.instances, args.seeds, args.policies.resolve(), args.records.resolve(), args.episodes,
                        args.engine_time_limit)
        except RuntimeError as e:
            print(f"hetero_seeds.py: {e}", file=sys.stderr)
            return 1
        except KeyboardInterrupt as e:
            print(f"hetero_seeds.py: interrupted by {signal_name(e)}: the run under way gets no record (those written "
                  "stay: rerun the command to resume)", file=sys.stderr)
            return interrupted_status(signal_name(e))
    try:
        md, csv = render(args.records)
    except ValueError as e:
        ap.error(f"render: {e}")
    print(f"wrote {md} and {csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
