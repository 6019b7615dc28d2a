"""Where a single-request set's decision time goes, per RL agent: rounds, lone segments, CPU by part.

    python benchmarks/online/single_request.py                                  # lenet-1x10-tau0.6
    python benchmarks/online/single_request.py --instance lenet-1x10-tau0.8 --repeats 20
    python benchmarks/online/single_request.py --agents "rl (MaskablePPO)"      # that agent only (no DQN trained)

Trains the three agents of ``gap_table.py``'s RL rows on ``instances/paper/<instance>.json`` as
it does (``rl (masked)``, ``rl (paper reward)``: ``--episodes`` layer episodes, seed 0, train_freq
1; ``rl (MaskablePPO)``: ``--ppo-timesteps`` steps, seed 0), then places the set's requests with
each, ``--repeats`` + 1 times: the first call is the one ``gap_table.py`` times (the first of the
process after the training; a CNN's only request gets no warm-up), the others show the spread.
Per agent it prints the decision ms of the first request (wall; first call, then min and median
of the repeats), its CPU ms (``time.thread_time`` in :func:`optdist.rl.decide._decide_request`, the
timed part; min of the repeats) split into the network's
choices (the ``choose`` calls), building the states of the rounds
(:func:`optdist.rl.trajectory.layer_states`) and the rest (observations of lone segments,
bookkeeping), and per layer of the request: its segments, the batched rounds and the segments
decided alone (deterministic). The parts are timed by wrapping those functions in this process
(a few microseconds a call). Runs with any checkout's ``optdist`` (the one at ``PYTHONPATH``
first, else this one), so an older tree can be measured beside it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.append(str(ROOT))  # (after PYTHONPATH: an older tree given there is measured)


AGENTS = ("rl (masked)", "rl (paper reward)", "rl (MaskablePPO)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--instance", default="lenet-1x10-tau0.6", help="a set of instances/paper (default lenet-1x10-tau0.6)")
    ap.add_argument("--episodes", type=int, default=1000, help="DQN training episodes (default 1000, as the gap table's rows)")
    ap.add_argument("--ppo-timesteps", type=int, default=20_000, help="MaskablePPO training steps (default 20000)")
    ap.add_argument("--repeats", type=int, default=10, help="placements after the first (default 10)")
    ap.add_argument("--agents", nargs="+", choices=AGENTS, default=list(AGENTS), metavar="AGENT",
                    help=f"only these agents, of: {', '.join(repr(a) for a in AGENTS)} (default: all)")
    args = ap.parse_args(argv)
    import torch

    import optdist
    from optdist.instance import load_instance
    from optdist.rl import decide
    from optdist.rl.policy import Policy, place_online
    from optdist.rl.ppo import place_maskable_ppo, train_maskable_ppo
    from optdist.rl.presets import preset_for
    from optdist.rl.train import train

    print(f"optdist from {Path(optdist.__file__).parent}")
    inst = load_instance(ROOT / "instances" / "paper" / f"{args.instance}.json")
    agents = {}
    for name, opts in (("rl (masked)", {"reward": "stage", "masked": True, "double": True, "train_freq": 1}),
                       ("rl (paper reward)", {"reward": "paper", "masked": False, "double": False, "train_freq": 1})):
        if name not in args.agents:
            continue
        tr = train(inst, preset_for(inst), episodes=args.episodes, seed=0, progress=False, **opts)
        policy = Policy.from_agent(tr.agent.q, tr.config)
        agents[name] = lambda policy=policy: place_online(inst, policy)
    if "rl (MaskablePPO)" in args.agents:
        ppo = train_maskable_ppo(inst, args.ppo_timesteps, 0)[0]
        agents["rl (MaskablePPO)"] = lambda: place_maskable_ppo(inst, ppo)
    torch.set_num_threads(1)

    spent = {"request": 0.0, "choose": 0.0, "layer_states": 0.0}
    layers: list[list] = []
    states, segment, layer, request = decide.layer_states, decide.decide_segment, decide.decide_layer, decide._decide_request

    def timed(part, f):
        def run(*a, **k):
            t0 = time.thread_time()
            try:
                return f(*a, **k)
            finally:
                spent[part] += time.thread_time() - t0
        return run

    def layer_states(*a):
        layers[-1][1] += 1
        return timed("layer_states", states)(*a)

    def decide_segment(*a):
        layers[-1][2] += 1
        return segment(*a)

    def decide_layer(choose, feats, r, st, masked, **k):
        layers.append([st.P - st.t, 0, 0])
        if k.get("rank") is not None:
            k["rank"] = timed("choose", k["rank"])
        spied = timed("choose", choose)
        if getattr(choose, "one", None) is not None:  # (a chooser's lone-segment method: timed as choose too)
            spied.one = timed("choose", choose.one)
        return layer(spied, feats, r, st, masked, **k)

    decide.layer_states, decide.decide_segment, decide.decide_layer = layer_states, decide_segment, decide_layer
    decide._decide_request = timed("request", request)  # (a request's decisions: no warm-up on these sets)
    for name, place in agents.items():
        walls, cpus, parts = [], [], []
        for _ in range(args.repeats + 1):
            layers.clear()
            spent.update(request=0.0, choose=0.0, layer_states=0.0)
            out, decision_s, _ = place()
            cpus.append(spent["request"])
            walls.append(decision_s[0])
            parts.append(dict(spent))
        best = 1 + int(np.argmin(cpus[1:]))
        rounds, alone = sum(x[1] for x in layers), sum(x[2] for x in layers)
        print(f"{name}: first request {1e3 * walls[0]:.2f} ms (first call), then min {1e3 * min(walls[1:]):.2f} / median "
              f"{1e3 * np.median(walls[1:]):.2f} ms wall; CPU {1e3 * cpus[best]:.2f} ms (choose "
              f"{1e3 * parts[best]['choose']:.2f}, layer_states {1e3 * parts[best]['layer_states']:.2f}, rest "
              f"{1e3 * (cpus[best] - parts[best]['choose'] - parts[best]['layer_states']):.2f}); {rounds} rounds, {alone} "
              f"segments alone of {sum(x[0] for x in layers)}; per layer (segments, rounds, alone): "
              + " ".join(f"({p}, {r}, {a})" for p, r, a in layers)
              + f"; requests {inst.n_requests}, rejected {len(out.rejected)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
