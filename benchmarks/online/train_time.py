"""Training time of each RL preset at its default episode count (issue 14: <= 15 min on 2 cores).

    python benchmarks/online/train_time.py                   # every preset (resumes: one record each)
    python benchmarks/online/train_time.py --presets lenet   # some
    python benchmarks/online/train_time.py --render          # train_time.{md,csv} from the records

Each preset (:data:`RUNS`) is trained by the command a user runs, ``optdist train-rl FILE --preset P
--reward stage --masked --double --seed 0`` with no ``--episodes`` (so the preset's default of
:mod:`optdist.rl.presets`, the paper's Tables 4-5), in a child process, on the largest set of the
gap table that uses that preset (``vgg``: the set of ``benchmarks/specs/paper-250-rl-vgg.toml``,
whose policy places the VGG and heterogeneous loads), with no ``--train-freq`` either (the preset's).
A record per preset in ``train_time/`` (written atomically when its run ends; present: skipped,
``--force`` re-runs): the command, the training seconds of its ``policy.json`` (``train_s``), the
command's wall seconds, its CPU seconds (user + system, ``getrusage`` of the child), the load
average before and after, the policy's episodes, train_freq, env steps and gradient steps, and
(``placement``) the lines of the command's placement of the set with the trained policy that
say its latency, rejections and violations. The policy files go to a temporary folder and are
deleted. Wall time follows the load of the shared
machine; CPU time does not. SIGINT/SIGTERM stop the run (exit 130 / 143): the training under way
is killed and gets no record, those written stay (a rerun resumes).
"""

from __future__ import annotations

import argparse
import json
import os
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

from optdist.interrupts import interrupted_status, sigterm_interrupts, signal_name  # noqa: E402
from optdist.io import atomic_write_json, atomic_write_text  # noqa: E402

from _common import machine  # noqa: E402

RECORDS = HERE / "train_time"
#: preset -> (instance file, extra arguments of ``optdist train-rl``)
RUNS = {
    "lenet": ("instances/paper/lenet-20x70-tight-tau0.6.json", []),
    "cifar": ("instances/coupled/cifar-20x20-nexus-rpi3.json", []),
    "hetero": ("instances/coupled/mixed-8x6-nexus-rpi3.json", []),
    "vgg": ("benchmarks/specs/instances/train-mix-8x70-tau0.6.json", []),
}
TARGET_S = 15 * 60


def command(preset: str, out: Path) -> list[str]:
    """The ``optdist train-rl`` command line of ``preset``, writing its policy to ``out``."""
    instance, extra = RUNS[preset]
    return [sys.executable, "-m", "optdist", "train-rl", instance, "--preset", preset, "--reward", "stage",
            "--masked", "--double", "--seed", "0", *extra, "--out", str(out)]


def run_one(preset: str) -> dict:
    """Train ``preset`` once (:func:`command`) and return its record. RuntimeError (with the
    command's last output) where the command fails."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = command(preset, Path(tmp) / "policy")
        load0 = os.getloadavg()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            raise RuntimeError(f"optdist {' '.join(cmd[3:])}: exit {proc.returncode}: {(proc.stderr or proc.stdout)[-2000:]}")
        cfg = json.loads((Path(tmp) / "policy" / "policy.json").read_text())
    return {"preset": preset, "instance": Path(RUNS[preset][0]).stem,
            "command": "optdist " + " ".join(cmd[3:-2]),
            "episodes": cfg["episodes"], "env_steps": cfg.get("env_steps"), "gradient_steps": cfg.get("gradient_steps"),
            "train_freq": cfg.get("train_freq", 1), "train_s": cfg["train_s"], "wall_s": wall,
            "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "load_before": load0[0], "load_after": os.getloadavg()[0], "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
            "machine": machine(), "placement": placement_lines(proc.stdout)}


def placement_lines(stdout: str) -> list[str]:
    """The lines of ``optdist train-rl``'s ``stdout`` that sum up its placement with the trained
    policy: its heading (decision time, rejections), the objective, latency and shared-data lines,
    and each violation count ("5 privacy violation(s):"); [] where it printed none."""
    lines = stdout.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("# the policy placing")), len(lines))
    return lines[start:start + 4] + [line for line in lines[start + 4:] if line.endswith("violation(s):")]


#: the columns of the table, in order (``train_within_15_min`` computed, the others each record's fields)
COLUMNS = ["preset", "instance", "episodes", "train_freq", "env_steps", "gradient_steps", "train_s", "wall_s", "cpu_s",
           "train_within_15_min", "load_before", "load_after", "date_utc"]


def read_record(path: Path) -> dict:
    """One record of ``train_time/``; ValueError naming the file, what is wrong and the fix where it is
    not valid JSON or lacks a field of :data:`COLUMNS` (or ``command``, ``machine``)."""
    fix = "fix: delete it" + (f" and rerun train_time.py --presets {path.stem} to remake it" if path.stem in RUNS else "")
    try:
        rec = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: line {e.lineno} column {e.colno}: invalid JSON: {e.msg} ({fix})") from None
    need = [c for c in COLUMNS if c != "train_within_15_min"] + ["command", "machine"]
    missing = need if not isinstance(rec, dict) else [c for c in need if c not in rec]
    if missing:
        raise ValueError(f"{path}: not a train_time record: no {', '.join(map(json.dumps, missing))} ({fix})")
    return rec


def render() -> None:
    """train_time.csv and train_time.md from the records; ValueError (:func:`read_record`) for an invalid one."""
    df = pd.DataFrame([read_record(p) for p in sorted(RECORDS.glob("*.json"))])
    df["train_within_15_min"] = df["train_s"] <= TARGET_S  # the training loop (not start-up, not placing)
    atomic_write_text(HERE / "train_time.csv", df[COLUMNS + ["command", "machine"]].to_csv(index=False))
    md = ["# Training time per RL preset at its default episodes",
          "",
          "Command: `python benchmarks/online/train_time.py` (records in `train_time/`; `--render` rewrites this file "
          "and `train_time.csv`). Each row is one run of the command below it, in a child process: `train_s` from its "
          "`policy.json` (the training loop), `wall_s` the whole command (start-up, training, placing the set with the "
          "policy), `cpu_s` its user + system CPU seconds. Target (issue 14): <= 15 min (900 s) on 2 cores; "
          "`train_within_15_min` judges `train_s`, wall time that grows with the machine's load (`load_before`, "
          "`load_after`: 1-minute load averages; above 2, other jobs shared the 2 cores).",
          f"Machines: {'; '.join(sorted(set(df['machine'])))}",
          "",
          df[COLUMNS].to_markdown(index=False, floatfmt=".1f"),
          "",
          "Commands:",
          "",
          *[f"- `{r['preset']}`: `{r['command']}`" for _, r in df.iterrows()],
          "",
          "Placement of the set by the trained policy (the command's own summary; none in a record made before "
          "train_time.py kept it):",
          "",
          *[f"- `{r['preset']}`: " + ("; ".join(" ".join(line.removeprefix("# ").rstrip(":").split()) for line in placement)
                                      if isinstance(placement := r.get("placement"), list) else "not recorded")
            for _, r in df.iterrows()],
          ""]
    atomic_write_text(HERE / "train_time.md", "\n".join(md))


def run_all(presets: list[str], force: bool) -> int:
    """Train every preset of ``presets`` that has no record (all, with ``force``), writing each
    record as its run ends. Returns 0, 1 where a command failed (what it said on stderr), or
    130 / 143 where SIGINT / SIGTERM stopped a run (its command killed, no record for it)."""
    RECORDS.mkdir(exist_ok=True)
    for preset in presets:
        out = RECORDS / f"{preset}.json"
        if out.exists() and not force:
            continue
        print(f"{preset}: {' '.join(command(preset, Path('<tmp>'))[3:])}", flush=True)
        try:
            rec = run_one(preset)  # subprocess.run kills the command on the interrupt
        except RuntimeError as e:
            print(f"train_time.py: {e}", file=sys.stderr)
            return 1
        except KeyboardInterrupt as e:
            print(f"train_time.py: interrupted by {signal_name(e)}: {preset}'s training stopped, no record for it (the "
                  "records written stay: rerun the command to resume)", file=sys.stderr)
            return interrupted_status(signal_name(e))
        atomic_write_json(out, rec)
        print(f"{preset}: training {rec['train_s']:.1f} s, command {rec['wall_s']:.1f} s wall, "
              f"{rec['cpu_s']:.1f} s CPU", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--presets", nargs="+", choices=list(RUNS), help="default: all")
    ap.add_argument("--force", action="store_true", help="re-run presets that have a record")
    ap.add_argument("--render", action="store_true", help="only rewrite train_time.{md,csv} from the records")
    args = ap.parse_args(argv)
    if args.render and (args.presets or args.force):
        ap.error("--render only redraws the table from the records: leave out --presets and --force")
    if not args.render:
        with sigterm_interrupts():
            status = run_all(args.presets or list(RUNS), args.force)
        if status:
            return status
    if not any(RECORDS.glob("*.json")):
        ap.error(f"no records in {RECORDS} (fix: run train_time.py without --render first)")
    try:
        render()
    except ValueError as e:  # a record edited or cut short
        ap.error(f"render: {e}")
    print(f"wrote {HERE / 'train_time.md'} and train_time.csv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
