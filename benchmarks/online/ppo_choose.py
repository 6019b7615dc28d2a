"""Microseconds per call of MaskablePPO's device choice on a few states: sb3-contrib's
``get_distribution(...).get_actions(deterministic=True)`` (the chooser before lenet42), the same torch
operations without its distribution objects (:func:`optdist.rl.ppo._torch_chooser`) and the float64
numpy actor with its float32 bound (:func:`optdist.rl.ppo._chooser`), on states of a real placement.

    python benchmarks/online/ppo_choose.py [--instance lenet-1x10-tau0.6] [--timesteps 20000] [--calls 2000]

The policy is trained here (seed 0, as ``gap_table.py``'s ``rl (MaskablePPO)`` row); the states are
the first request's rounds as :func:`optdist.rl.decide.layer_states` builds them along the
choices of the layers (K states each) and single states (K = 1). Each chooser is checked to
give the same actions on them before it is timed (min over 5 repeats of ``--calls`` calls).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(ROOT)]


def _seconds(choose, batch: tuple, calls: int) -> float:
    """Wall seconds of ``calls`` calls of ``choose(*batch)``."""
    t0 = time.perf_counter()
    for _ in range(calls):
        choose(*batch)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--instance", default="lenet-1x10-tau0.6", help="a set of instances/paper (default lenet-1x10-tau0.6)")
    ap.add_argument("--timesteps", type=int, default=20_000, help="MaskablePPO training steps (default 20000)")
    ap.add_argument("--calls", type=int, default=2000, help="calls per timing (default 2000)")
    args = ap.parse_args(argv)
    import torch

    from optdist.heuristics.incremental import RequestPlacer, Usage
    from optdist.instance import load_instance
    from optdist.rl.env import Features
    from optdist.rl.ppo import _chooser, _torch_chooser, train_maskable_ppo
    from optdist.rl.trajectory import DeviceRows, layer_states

    inst = load_instance(ROOT / "instances" / "paper" / f"{args.instance}.json")
    policy = train_maskable_ppo(inst, args.timesteps, 0)[0]
    torch.set_num_threads(1)
    net, cfg = policy.net, policy.config

    def sb3(glob, dev, allowed):
        obs = torch.from_numpy(np.concatenate([glob, dev.dense().reshape(len(glob), -1)], axis=1))
        with torch.no_grad():
            return net.get_distribution(obs, action_masks=allowed).get_actions(deterministic=True).numpy()

    choosers = {"sb3 get_distribution": sb3, "torch, no distributions": _torch_chooser(net), "numpy float64 + bound": _chooser(net)}
    feats, rp = Features(inst, cfg["cnns"], cfg["max_layers"]), RequestPlacer(inst, Usage.zeros(inst.n_nodes), 0, None)
    batches = []
    while not rp.done:
        st = rp.next_layer()
        if not st.on_source and st.P > 1:
            ls = layer_states(feats, 0, st, np.zeros(st.P, dtype=np.int64))
            batches += [(ls.glob, ls.rows, ls.mask), (ls.glob[:1], DeviceRows.of(ls.rows.dense()[:1]), ls.mask[:1])]
        st.commit(np.full(st.P, int(inst.request_source[0])) if st.on_source else np.zeros(st.P, dtype=np.int64))
        rp.close(st)
    for b in batches:
        acts = [f(*b) for f in choosers.values()]
        assert all((a == acts[0]).all() for a in acts), acts
    print(f"{args.instance}, {len(batches)} batches of K states (K = 1 or the layer's segments); us per call:")
    for K in sorted({len(b[0]) for b in batches}):
        line = []
        for name, f in choosers.items():
            b = next(b for b in batches if len(b[0]) == K)
            best = min(_seconds(f, b, args.calls) for _ in range(5))
            line.append(f"{name} {1e6 * best / args.calls:.1f}")
        print(f"  K = {K:3d}: " + ", ".join(line))
    return 0


if __name__ == "__main__":
    sys.exit(main())
