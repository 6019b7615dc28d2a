"""Gap table: online placement methods against the exact optimum (or the best bound).

    .venv/bin/python benchmarks/online/gap_table.py            # writes gap_table.{csv,md}, curves/

Per instance: the compact MILP (HiGHS, 1 thread, greedy warm start, ``--time-limit``) gives an
incumbent and a bound; the bound is raised to the per-request bound (each request's optimum
alone, a relaxation) when that is higher. The reference is the optimum when the best feasible
latency found (by any method) meets the bound, else the bound. Methods:

* ``rl (paper reward)``: the paper's agent: eq. 11 reward (sigma, beta), no action masking,
  plain DQN, preset by CNN (Tables 4-5);
* ``rl (masked)``: stage-time reward, action masking, double DQN, same preset;
* ``greedy``, ``per-layer``, ``edge-cloud``: the baselines (deterministic).

Both agents are trained on the instance (``--episodes`` layer episodes, seed 0) and then place
its requests online; their convergence curves go to ``curves/``. Every latency, byte,
rejection and violation comes from the independent evaluator; violations are split into
capacity (10b-d), privacy ((10f) and the (10h) pins) and placement (intermediate layers on a
source). The coupled instance (``instances/lenet-10x10-tau0.6-p6ms.json``, 6 ms period, made
here) is one where requests compete for bandwidth.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import optdist  # noqa: E402
from optdist.generate import generate  # noqa: E402
from optdist.instance import Instance, load_instance  # noqa: E402
from optdist.io import atomic_write_json, atomic_write_text  # noqa: E402
from optdist.result import finalize  # noqa: E402
from optdist.rl.policy import Policy, solve_rl  # noqa: E402
from optdist.rl.presets import preset_for  # noqa: E402
from optdist.rl.train import train, write_curves  # noqa: E402

from _common import machine, reference, row  # noqa: E402

COUPLED = HERE / "instances" / "lenet-10x10-tau0.6-p6ms.json"
DEFAULT = [
    ROOT / "instances/paper/lenet-10x10-tau0.8.json",
    ROOT / "instances/paper/lenet-10x10-tau0.6.json",
    ROOT / "instances/paper/lenet-10x70-tau0.8.json",
    COUPLED,
]
RL_VARIANTS = {
    "rl (paper reward)": {"reward": "paper", "masked": False, "double": False},
    "rl (masked)": {"reward": "stage", "masked": True, "double": True},
}


def make_coupled() -> Path:
    """10 LeNet requests on 10 RPi3 at tau 0.6 with a 6 ms period: bandwidth binds across requests."""
    if not COUPLED.exists():
        doc = generate(COUPLED.stem, {"lenet": 10}, {"rpi3": 10}, 0.6, sources=10, period_s=0.006, seed=10,
                       description="the paper's 10x10 LeNet set with a 6 ms period: requests share bandwidth")
        atomic_write_json(COUPLED, doc)
    return COUPLED


def run_instance(inst: Instance, episodes: int, time_limit: float) -> tuple[list[dict], dict]:
    rows, results = [], {}
    for method in ("greedy", "per-layer", "edge-cloud"):
        results[method] = optdist.solve(inst, method=method)
    preset = preset_for(inst)
    for label, opts in RL_VARIANTS.items():
        tr = train(inst, preset, episodes=episodes, seed=0, progress=True, **opts)
        slug = f"{inst.name}-{'paper' if opts['reward'] == 'paper' else 'masked'}"
        write_curves(tr.curves, HERE / "curves" / slug, f"{inst.name}: {label}, preset {preset.name}, {episodes} episodes")
        res = finalize(inst, solve_rl(inst, policy=Policy.from_agent(tr.agent.q, tr.config)))
        res.extra["train_s"] = tr.train_s
        results[label] = res
    t0 = time.perf_counter()
    milp, bound = reference(inst, time_limit)
    ref_s = time.perf_counter() - t0
    results["milp"] = milp
    feasible = [r.evaluation.total_latency for r in results.values() if r.evaluation is not None and r.evaluation.feasible]
    best = min(feasible) if feasible else None
    proven = best is not None and best <= bound * (1 + 1e-6)
    ref = best if proven else bound
    for label, res in results.items():
        if res.evaluation is not None:
            rows.append({**row(inst, label, res, ref), "train_s": res.extra.get("train_s")})
    info = {"instance": inst.name, "reference_ms": 1e3 * ref, "proven_optimal": proven, "best_feasible_ms": None if best is None else 1e3 * best,
            "milp_status": str(milp.termination), "milp_bound_ms": None if milp.bound is None else 1e3 * milp.bound,
            "bound_ms": 1e3 * bound, "reference_s": ref_s}
    return rows, info


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("instances", nargs="*", type=Path, help="default: the LeNet 10x10 sets, 10x70 tau 0.8 and the coupled set")
    ap.add_argument("--episodes", type=int, default=3000, help="training episodes per RL variant (default 3000)")
    ap.add_argument("--time-limit", type=float, default=300.0, help="MILP seconds per solve (default 300)")
    args = ap.parse_args(argv)
    make_coupled()
    rows, infos = [], []
    for path in args.instances or DEFAULT:
        r, info = run_instance(load_instance(path), args.episodes, args.time_limit)
        rows += r
        infos.append(info)
        print(pd.DataFrame(r).to_markdown(index=False, floatfmt=".4g"), flush=True)
    table = pd.DataFrame(rows)
    atomic_write_text(HERE / "gap_table.csv", table.to_csv(index=False))
    cmd = "python benchmarks/online/gap_table.py " + " ".join(argv if argv is not None else sys.argv[1:])
    md = [
        "# Online placement vs the exact optimum",
        "",
        f"Command: `{cmd.strip()}`  ",
        f"Machine: {machine()}  ",
        "Every latency, byte, rejection and violation is from the independent evaluator (`optdist.evaluate`).",
        "gap = (latency - reference) / reference; of_optimal = reference / latency.",
        "",
        "## References",
        "",
        pd.DataFrame(infos).to_markdown(index=False, floatfmt=".6g"),
        "",
        "## Methods",
        "",
        table.drop(columns=["wall_s"]).to_markdown(index=False, floatfmt=".4g"),
        "",
    ]
    atomic_write_text(HERE / "gap_table.md", "\n".join(md))
    print(f"wrote {HERE / 'gap_table.csv'} and gap_table.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
