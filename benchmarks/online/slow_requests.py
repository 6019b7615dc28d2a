"""Why some requests of the paper's (unmasked) agent take many rounds: counts per request and layer.

    .venv/bin/python benchmarks/online/slow_requests.py                       # VGG16, first 40 requests
    .venv/bin/python benchmarks/online/slow_requests.py --instance vgg19-250x70-tau0.6 --requests 40

The paper's agent (eq. 11 reward, unmasked) trained as ``decisions.py`` trains it (its preset,
episodes and seed 0 for the instance) places the first ``--requests`` requests with
:func:`optdist.rl.policy.place_online` (warm-up on). Printed per request: the rounds (batched
forwards, :func:`optdist.rl.trajectory.layer_states` calls), the states they built and the
segments decided alone (:func:`optdist.rl.decide.decide_segment`), all deterministic, and the
decisions' wall ms (machine-dependent). Then, for the costliest requests by rounds plus lone
segments, each layer that took more than one round; and for the first of those layers, the
device features (:class:`optdist.rl.env.Features`' per-device blocks) in which its first state
differs from the previous request's first state of the same layer, with the devices: the change
that made the previous request's decisions (the layer's guess) miss.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(ROOT), str(HERE)]  # this checkout's optdist (see decisions.py)

from optdist.cli import FlagError, number_flag  # noqa: E402
from optdist.instance import load_instance  # noqa: E402
from optdist.rl import decide  # noqa: E402
from optdist.rl.policy import Policy, place_online  # noqa: E402
from optdist.rl.presets import PRESETS  # noqa: E402
from optdist.rl.train import train  # noqa: E402

from decisions import CASES, VARIANTS  # noqa: E402

#: :class:`optdist.rl.env.Features`' per-device values, in its order (see its module docstring)
DEVICE_FEATURES = ("memory bit", "compute bit", "bandwidth bit", "privacy bit", "segments / cap",
                   "previous layer's share", "input map owner", "rise", "delay", "speed", "rate")
SHOWN = 5  # costliest requests shown layer by layer (the first of them with its changed features)


def count(inst, policy: Policy) -> tuple[list[float], dict, dict]:
    """Place ``inst`` with ``policy``: each request's decision seconds, the counts per (request,
    layer) (rounds, states, alone) and each (request, layer)'s first state's device block (F, D).
    The warm-up's placers come first and are left out (:func:`decide.warm_up_requests`)."""
    n_warm = len(decide.warm_up_requests(inst))
    counts: dict[tuple[int, int], np.ndarray] = defaultdict(lambda: np.zeros(3, dtype=np.int64))
    first: dict[tuple[int, int], np.ndarray] = {}
    placer = [-1]  # the index of the current RequestPlacer (the warm-up's, then each request's)
    real = (decide.RequestPlacer, decide.layer_states, decide.decide_segment, decide.decide_layer)

    class Counted(real[0]):
        def __init__(self, *args, **kwargs):
            placer[0] += 1
            super().__init__(*args, **kwargs)

    def key(st) -> tuple[int, int]:
        return placer[0] - n_warm, st.k

    def layer_states(feats, r, st, actions):
        counts[key(st)] += (1, len(actions), 0)
        return real[1](feats, r, st, actions)

    def decide_segment(choose, feats, r, st, masked):
        counts[key(st)] += (0, 0, 1)
        return real[2](choose, feats, r, st, masked)

    def decide_layer(choose, feats, r, st, *args, **kwargs):
        obs, _ = feats(r, st)
        first[key(st)] = obs[feats.n_global:].reshape(feats.n_device, feats.D)
        return real[3](choose, feats, r, st, *args, **kwargs)

    (decide.RequestPlacer, decide.layer_states, decide.decide_segment, decide.decide_layer) = (
        Counted, layer_states, decide_segment, decide_layer)
    try:
        _, decision_s, _ = place_online(inst, policy)
    finally:
        decide.RequestPlacer, decide.layer_states, decide.decide_segment, decide.decide_layer = real
    return decision_s, counts, first


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    names = [case[0] for case in CASES]
    ap.add_argument("--instance", default="vgg16-250x70-tau0.6", choices=names, help="a decisions.py instance")
    ap.add_argument("--requests", help="the first N requests (default: as many as decisions.py places, 10 on LeNet, "
                                       "40 on the others)",
                    action=number_flag("a whole number of requests >= 2 (the first has no previous request to compare "
                                       "with)", "10", whole=True, within=lambda v: v >= 2))
    try:  # before: --requests x was argparse's "invalid int value", with no fix
        args = ap.parse_args(argv)
    except FlagError as e:
        ap.error(str(e))
    name, placed, _, preset, episodes = next(case for case in CASES if case[0] == args.instance)
    if args.requests is None:  # before, a fixed 40: --instance lenet-10x10-tau0.8 alone was refused
        args.requests = placed
    inst = load_instance(ROOT / "instances" / "paper" / f"{name}.json")
    if args.requests > inst.n_requests:
        ap.error(f"--requests {args.requests}: {name} has {inst.n_requests} requests (fix: give 2 to {inst.n_requests}, "
                 f"e.g. --requests {placed})")
    inst = inst.with_spec(requests=inst.spec.requests[: args.requests])
    torch.set_num_threads(1)
    res = train(inst, PRESETS[preset], episodes=episodes, seed=0, progress=False, **VARIANTS["paper"])
    policy = Policy.from_agent(res.agent.q, {**res.config, "train_s": res.train_s})
    decision_s, counts, first = count(inst, policy)
    n = inst.n_requests
    per = np.array([sum((c for (r, _), c in counts.items() if r == i), np.zeros(3, dtype=np.int64)) for i in range(n)])
    print(f"{name}, paper agent ({episodes} episodes, seed 0), first {n} requests: rounds / states / alone per "
          f"request, median {np.median(per[:, 0]):.0f} / {np.median(per[:, 1]):.0f} / {np.median(per[:, 2]):.0f}")
    costly = np.argsort(-(per[:, 0] + per[:, 2]), kind="stable")[:SHOWN]
    for i in costly:
        print(f"request {i}: {per[i, 0]} rounds, {per[i, 1]} states, {per[i, 2]} segments alone, "
              f"{1e3 * decision_s[i]:.0f} ms wall")
    for i in costly:
        many = sorted(k for (r, k), c in counts.items() if r == i and c[0] > 1)
        if not many:
            continue
        print(f"request {i}, layers of more than one round (layer: rounds / states / alone):",
              ", ".join(f"{k}: {'/'.join(map(str, counts[i, k]))}" for k in many))
        k = many[0]
        if i >= 1 and (i - 1, k) in first:
            diff = np.argwhere(first[i, k] != first[i - 1, k])
            said = [f"{DEVICE_FEATURES[f]} of devices {sorted({int(j) for g, j in diff if g == f})}"
                    for f in sorted({int(g) for g, _ in diff})]
            print(f"  its layer {k}'s first state against request {i - 1}'s: "
                  f"{'; '.join(said) if said else 'no device feature differs'}")
    print("load average", ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
