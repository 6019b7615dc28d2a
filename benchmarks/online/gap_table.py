"""Gap table: online placement methods against the exact optimum (or the best bound).

    .venv/bin/python benchmarks/online/gap_table.py            # writes gap_table.{csv,json,md}, curves/
    .venv/bin/python benchmarks/online/gap_table.py --render   # gap_table.md from the CSV and JSON

Per instance the MILP decomposed by request (``formulation="decomposed"``, HiGHS, 1 thread,
greedy start, ``--time-limit``) gives an incumbent and a certified bound. The reference is the optimum when
the best feasible latency found (by any method) meets the bound, else the bound. Methods:

* ``rl (paper reward)``: the paper's agent: eq. 11 reward (sigma, beta), no action masking,
  plain DQN, preset by CNN (Tables 4-5);
* ``rl (masked)``: stage-time reward, action masking, double DQN, same preset;
* ``greedy``, ``per-layer``, ``edge-cloud``: the baselines (deterministic).

Both agents are trained on the instance (``--episodes`` layer episodes, seed 0) and then place
its requests online; their convergence curves go to ``curves/``. Every latency, byte,
rejection and violation comes from the independent evaluator; violations are split into
capacity (10b-d), privacy ((10f) and the (10h) pins) and placement (intermediate layers on a
source). The coupled instance (``instances/lenet-10x10-tau0.6-p3ms.json``, 3 ms period, made
here) is one where requests compete for bandwidth: their separate optima do not fit together.
"""

from __future__ import annotations

import argparse
import json
import sys
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

COUPLED = HERE / "instances" / "lenet-10x10-tau0.6-p3ms.json"
DEFAULT = [
    ROOT / "instances/paper/lenet-10x10-tau0.8.json",
    ROOT / "instances/paper/lenet-10x10-tau0.6.json",
    ROOT / "instances/paper/lenet-10x70-tau0.8.json",
    ROOT / "instances/paper/lenet-10x70-tau0.6.json",
    COUPLED,
]
RL_VARIANTS = {
    "rl (paper reward)": {"reward": "paper", "masked": False, "double": False},
    "rl (masked)": {"reward": "stage", "masked": True, "double": True},
}


def make_coupled() -> Path:
    """10 LeNet requests on 10 RPi3 at tau 0.6 with a 3 ms period: bandwidth binds across requests."""
    if not COUPLED.exists():
        doc = generate(COUPLED.stem, {"lenet": 10}, {"rpi3": 10}, 0.6, sources=10, period_s=0.003, seed=10,
                       description="the paper's 10x10 LeNet set with a 3 ms period: requests share bandwidth")
        atomic_write_json(COUPLED, doc)
    return COUPLED


def run_instance(inst: Instance, episodes: int, time_limit: float) -> tuple[list[dict], dict]:
    """Every method on ``inst``: table rows and the reference it is measured against."""
    results = {method: optdist.solve(inst, method=method) for method in ("greedy", "per-layer", "edge-cloud")}
    preset = preset_for(inst)
    for label, opts in RL_VARIANTS.items():
        tr = train(inst, preset, episodes=episodes, seed=0, progress=True, **opts)
        slug = f"{inst.name}-{'paper' if opts['reward'] == 'paper' else 'masked'}"
        write_curves(tr.curves, HERE / "curves" / slug, f"{inst.name}: {label}, preset {preset.name}, {episodes} episodes")
        res = finalize(inst, solve_rl(inst, policy=Policy.from_agent(tr.agent.q, tr.config)))
        res.extra["train_s"] = tr.train_s
        results[label] = res
    milp = reference(inst, time_limit)
    bound = milp.bound
    results["milp"] = milp
    feasible = [r.evaluation.total_latency for r in results.values() if r.evaluation is not None and r.evaluation.feasible]
    best = min(feasible) if feasible else None
    proven = best is not None and best <= bound * (1 + 1e-6)
    ref = best if proven else bound
    rows = [{**row(inst, label, res, ref), "train_s": res.extra.get("train_s")}
            for label, res in results.items() if res.evaluation is not None]
    info = {"instance": inst.name, "reference_ms": 1e3 * ref, "proven_optimal": proven,
            "best_feasible_ms": None if best is None else 1e3 * best, "milp_status": str(milp.termination),
            "milp_bound_ms": 1e3 * bound, "milp_s": milp.wall_time}
    return rows, info


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("instances", nargs="*", type=Path, help="default: the LeNet 10x10 and 10x70 sets and the coupled set")
    ap.add_argument("--episodes", type=int, default=3000, help="training episodes per RL variant (default 3000)")
    ap.add_argument("--time-limit", type=float, default=300.0, help="MILP seconds per solve (default 300)")
    ap.add_argument("--render", action="store_true", help="only rewrite gap_table.md from gap_table.csv and gap_table.json")
    args = ap.parse_args(argv)
    if not args.render:
        make_coupled()
        rows, infos = [], []
        for path in args.instances or DEFAULT:
            r, info = run_instance(load_instance(path), args.episodes, args.time_limit)
            rows += r
            infos.append(info)
            print(pd.DataFrame(r).to_markdown(index=False, floatfmt=".4g"), flush=True)
        atomic_write_text(HERE / "gap_table.csv", pd.DataFrame(rows).to_csv(index=False))
        cmd = "python benchmarks/online/gap_table.py " + " ".join(argv if argv is not None else sys.argv[1:])
        atomic_write_json(HERE / "gap_table.json", {"command": cmd.strip(), "machine": machine(), "references": infos})
    render()
    print(f"wrote {HERE / 'gap_table.csv'}, gap_table.json and gap_table.md")
    return 0


def render() -> None:
    """gap_table.md from the run's records; gap and of_optimal only for feasible placements
    (a placement that rejects requests or breaks a constraint is not comparable)."""
    meta = json.loads((HERE / "gap_table.json").read_text())
    table = pd.read_csv(HERE / "gap_table.csv")
    ok = table["feasible"].astype(bool)
    table.loc[~ok, ["gap_%", "of_optimal_%"]] = None
    table = table.astype(object).where(table.notna(), None)  # blank cells print as "-"
    md = [
        "# Online placement vs the exact optimum",
        "",
        f"Command: `{meta['command']}`  ",
        f"Machine: {meta['machine']}  ",
        "Every latency, byte, rejection and violation is from the independent evaluator (`optdist.evaluate`).",
        "gap = (latency - reference) / reference and of_optimal = reference / latency, for feasible placements only:",
        "a placement that rejects requests (latency then counts the admitted ones) or breaks a constraint has none.",
        "per-layer ignores privacy and edge-cloud computes its head on the source by design (MODEL.md forbids both).",
        "",
        "## References",
        "",
        pd.DataFrame(meta["references"]).to_markdown(index=False, floatfmt=".6g"),
        "",
        "## Methods",
        "",
        table.drop(columns=["wall_s"]).to_markdown(index=False, floatfmt=".4g", missingval="-"),
        "",
    ]
    atomic_write_text(HERE / "gap_table.md", "\n".join(md))


if __name__ == "__main__":
    sys.exit(main())
