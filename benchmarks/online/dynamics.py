"""Devices leaving mid-training (paper Fig. 10): 20 -> 10 participants, CIFAR requests.

    .venv/bin/python benchmarks/online/dynamics.py          # writes dynamics/{curves,eval}.csv, dynamics.png

The instance (``instances/cifar-2x20-tau0.8.json``, made here): 2 CIFAR requests from 2 RPi3
cameras, 20 devices (6 LG Nexus + 14 RPi3, the paper's 2:5 mix), tau 0.8, 1 s period. The
paper's agent (eq. 11 reward, no masking, plain DQN, preset ``cifar``; one gradient step per
``--train-freq`` env steps) trains for ``--episodes`` layer episodes; before episode
``--leave-at`` 10 devices (drawn with seed 0) leave: from then on they hold no resources, so
choosing one breaks C2 (reward 0). Every ``--eval-every`` episodes the greedy policy places
both requests online on the devices present (the evaluator scores latency and violations).
Reference: the MILP decomposed by request (HiGHS, greedy start; incumbent and certified bound)
of the same requests on all 20 devices and on the 10 that stay.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE)]  # this checkout's optdist (run by path, the script's folder comes first, not the cwd)

from optdist.assignment import Assignment  # noqa: E402
from optdist.evaluate import evaluate  # noqa: E402
from optdist.generate import generate  # noqa: E402
from optdist.instance import Instance, load_instance, resolve  # noqa: E402
from optdist.io import atomic_write_json, atomic_write_text  # noqa: E402
from optdist.rl.policy import Policy, place_online  # noqa: E402
from optdist.rl.presets import PRESETS  # noqa: E402
from optdist.rl.train import smooth, train  # noqa: E402

from _common import machine, reference, violation_families  # noqa: E402

INSTANCE = HERE / "instances" / "cifar-2x20-tau0.8.json"
OUT = HERE / "dynamics"


def make_instance() -> Instance:
    if not INSTANCE.exists():
        doc = generate(INSTANCE.stem, {"cifar": 2}, {"nexus": 6, "rpi3": 14}, 0.8, sources=2, seed=20,
                       description="2 CIFAR requests on 20 devices (6 Nexus + 14 RPi3): Fig. 10 devices-leave scenario")
        atomic_write_json(INSTANCE, doc)
    return load_instance(INSTANCE)


def without(inst: Instance, gone: np.ndarray) -> Instance:
    """The same instance with devices ``gone`` removed."""
    keep = [d for n, d in enumerate(inst.spec.devices) if n not in set(gone.tolist())]
    return resolve(inst.spec.model_copy(update={"devices": keep, "name": f"{inst.name}-{len(keep)}dev"}))


def exact(inst: Instance, time_limit: float) -> dict:
    res = reference(inst, time_limit)
    ev = res.evaluation
    return {"instance": inst.name, "status": str(res.termination), "latency_ms": None if ev is None else 1e3 * ev.total_latency,
            "bound_ms": None if res.bound is None else 1e3 * res.bound, "solve_s": res.wall_time}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--episodes", type=int, default=2000)
    ap.add_argument("--leave-at", type=int, default=1000)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--train-freq", type=int, default=4)
    ap.add_argument("--time-limit", type=float, default=300.0, help="MILP seconds per reference solve")
    ap.add_argument("--render", action="store_true", help="only redraw dynamics.png from the CSVs of the last run")
    args = ap.parse_args(argv)
    if args.render:
        curves, evals, refs = (pd.read_csv(OUT / f"{n}.csv") for n in ("curves", "eval", "exact"))
        plot(curves, evals, refs, args.leave_at, OUT / "dynamics.png")
        return 0
    inst = make_instance()
    gone = np.sort(np.random.default_rng(0).permutation(inst.n_devices)[:10])
    evals = []

    def hook(ep: int, env, agent) -> None:
        if ep == args.leave_at:
            env.remove_devices(gone)
        if ep % args.eval_every == 0:
            pol = Policy.from_agent(agent.q, {"masked": False, "n_actions": inst.n_devices, "cnns": env.features.cnns, "max_layers": env.features.max_layers})
            out, decision_s, _ = place_online(inst, pol, active=env.active)
            ev = evaluate(inst, Assignment(out.owners))
            evals.append({"episode": ep, "devices": int(env.active[: inst.n_devices].sum()), "latency_ms": 1e3 * ev.total_latency,
                          **violation_families(inst, ev), "decision_ms_per_request": 1e3 * float(np.mean(decision_s))})

    res = train(inst, PRESETS["cifar"], episodes=args.episodes, reward="paper", train_freq=args.train_freq, on_episode=hook)
    OUT.mkdir(parents=True, exist_ok=True)
    atomic_write_text(OUT / "curves.csv", res.curves.to_csv(index=False))
    ev_df = pd.DataFrame(evals)
    atomic_write_text(OUT / "eval.csv", ev_df.to_csv(index=False))
    refs = pd.DataFrame([exact(inst, args.time_limit), exact(without(inst, gone), args.time_limit)])
    atomic_write_text(OUT / "exact.csv", refs.to_csv(index=False))
    plot(res.curves, ev_df, refs, args.leave_at, OUT / "dynamics.png")
    cmd = "python benchmarks/online/dynamics.py " + " ".join(argv if argv is not None else sys.argv[1:])
    md = [
        "# Devices leaving mid-training (Fig. 10)",
        "",
        f"Command: `{cmd.strip()}`  ",
        f"Machine: {machine()}  ",
        f"Training: {len(res.curves)} episodes in {res.train_s:.0f} s; devices {gone.tolist()} leave before episode {args.leave_at}.",
        "",
        "## Exact reference",
        "",
        refs.to_markdown(index=False, floatfmt=".6g"),
        "",
        "## Policy placing both requests online (evaluator)",
        "",
        ev_df.to_markdown(index=False, floatfmt=".4g"),
        "",
        "## Episodes (means over 100)",
        "",
        res.curves.assign(block=res.curves.episode // 100).groupby("block")[["reward", "latency_penalty_ms", "stage_time_ms", "constraints_met"]]
        .mean().to_markdown(floatfmt=".4g"),
        "",
    ]
    atomic_write_text(OUT / "README.md", "\n".join(md))
    print("\n".join(md))
    return 0


def plot(curves: pd.DataFrame, evals: pd.DataFrame, refs: pd.DataFrame, leave_at: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b, c) = plt.subplots(1, 3, figsize=(14, 3.6))
    for ax, col, label in ((a, "reward", "return per episode (eq. 11)"), (b, "constraints_met", "constraints met")):
        ax.plot(curves.episode, curves[col], color="0.85", lw=0.4)
        ax.plot(curves.episode, smooth(curves[col], 34), color="C0", lw=1.4, label="mean of 34 (as Fig. 10)")
        ax.set_ylabel(label)
    c.plot(evals.episode, evals.latency_ms, "o-", color="C0", label="policy (evaluator)")
    x0, x1 = curves.episode.min(), curves.episode.max()
    for (_, ref), (lo, hi), devices in zip(refs.iterrows(), ((x0, leave_at), (leave_at, x1)), (20, 10)):
        if ref.latency_ms is not None and np.isfinite(ref.latency_ms):
            name = (f"optimum, {devices} devices" if ref.status == "optimal"
                    else f"MILP, {devices} devices (bound {ref.bound_ms:.4g})")
            c.hlines(ref.latency_ms, lo, hi, colors="C2", linestyles="-", label="MILP (decomposed)" if lo == x0 else None)
            c.text(lo, ref.latency_ms, f" {name}", color="C2", fontsize=7, va="bottom")
    c.set_ylabel("total latency of both requests (ms)")
    c.set_yscale("log")
    for ax in (a, b, c):
        ax.axvline(leave_at, color="C3", ls="--", lw=1)
        ax.set_xlabel("episode (one layer)")
        ax.legend(fontsize=7)
    fig.suptitle("CIFAR, 20 participants; 10 leave (dashed): the agent re-converges", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
