"""RL sub-command: ``optdist train-rl FILE --preset lenet [--episodes N] [--masked] [--double] [--out DIR]``."""

from __future__ import annotations

import argparse
from pathlib import Path

PRESET_NAMES = ("lenet", "cifar", "vgg", "hetero")  # optdist.rl.presets.PRESETS, without importing torch
MAX_EPISODES = 10_000_000


def _episodes(text: str) -> int:
    """``--episodes``: a whole number in [1, MAX_EPISODES] (argparse reports the error, exit status 2)."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of episodes, e.g. 2000") from None
    if not 1 <= n <= MAX_EPISODES:
        raise argparse.ArgumentTypeError(f"{n} is outside [1, {MAX_EPISODES:,}]; give the number of layer episodes, e.g. 2000")
    return n


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train-rl", help="train a DQN placement policy (RL-DistPrivacy) on an instance")
    p.add_argument("instance", type=Path)
    p.add_argument("--preset", choices=PRESET_NAMES, help="paper hyper-parameters (Tables 4-5); default: by the instance's CNNs")
    p.add_argument("--episodes", type=_episodes, metavar="N", help="layer episodes (default: the preset's)")
    p.add_argument("--masked", action="store_true", help="act only on devices in the action mask (not in the paper)")
    p.add_argument("--double", action="store_true", help="double DQN targets (not in the paper)")
    p.add_argument("--reward", choices=["paper", "stage"], default="paper",
                   help="paper: eq. 11 with sigma, beta; stage: minus the stage-time rise and beta (not in the paper)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, help="folder for policy.pt, policy.json, curves.csv, curves.png (default runs/rl/<instance>)")
    p.set_defaults(func=cmd_train_rl)


def cmd_train_rl(args: argparse.Namespace) -> int:
    from optdist.commands.core import print_evaluation
    from optdist.instance import load_instance
    from optdist.result import finalize
    from optdist.rl.policy import Policy, solve_rl
    from optdist.rl.presets import PRESETS, preset_for
    from optdist.rl.train import save_policy, train, write_curves

    inst = load_instance(args.instance)
    preset = PRESETS[args.preset] if args.preset else preset_for(inst)
    out = args.out or Path("runs/rl") / inst.name
    res = train(inst, preset, episodes=args.episodes, masked=args.masked, double=args.double, reward=args.reward, seed=args.seed)
    save_policy(res, out)
    variant = f"{args.reward} reward" + (", masked" if args.masked else "") + (", double" if args.double else "")
    write_curves(res.curves, out, f"{inst.name}: DQN, preset {preset.name}, {variant}")
    tail = res.curves.tail(100)
    print(f"trained {len(res.curves)} episodes in {res.train_s:.1f} s; last 100: return {tail.reward.mean():.4g}, "
          f"latency penalty {tail.latency_penalty_ms.mean():.4g} ms, constraints met {100 * tail.constraints_met.mean():.1f}%")
    print(f"wrote {out}/policy.pt, policy.json, curves.csv, curves.png")
    sol = finalize(inst, solve_rl(inst, policy=Policy.from_agent(res.agent.q, res.config)))
    print(f"\n# the policy placing {inst.name} online (decisions {sol.extra['decision_ms_mean']:.3g} ms per request, "
          f"{sol.extra['rejected']} rejected)")
    print_evaluation(inst, sol.evaluation, 5)
    return 0
