"""Where the DQN's fast training step is exact: :func:`optdist.rl.dqn.fast_path_is_exact` on
random batches of the presets' shapes (64 states, a 64-64 network, 20 global and 11 per-device
features) for 1..MAX_DEVICES devices, and of a tiny shape (2 states, one 4-unit layer, 2 devices)
where one batch does not decide.

    PYTHONPATH=$PWD python benchmarks/online/fast_step_scan.py [--threads N] [--batches K] [--max-devices D]

Prints, per shape, the batches (each: its own values, ``samples=0``) that pass, as a string of 1/0.
"""

from __future__ import annotations

import argparse

import torch

from optdist.rl.dqn import DeviceQNet, TakenGradients, fast_path_is_exact


def passes(G: int, F: int, D: int, hidden: tuple[int, ...], B: int, batches: int) -> str:
    """'1'/'0' per random batch: whether the fast step equals the dense one on it."""
    net = DeviceQNet(G, F, D, hidden)
    return "".join("1" if fast_path_is_exact(net, TakenGradients(), torch.rand(B, G + F * D), torch.randint(0, D, (B,)),
                                             torch.randn(B), samples=0) else "0" for _ in range(batches))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batches", type=int, default=15)
    ap.add_argument("--max-devices", type=int, default=120)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    failed = 0
    for D in range(1, args.max_devices + 1):
        bits = passes(20, 11, D, (64, 64), 64, args.batches)
        failed += "0" in bits
        if "0" in bits:
            print(f"presets' shape, {D} devices: {bits}")
    print(f"presets' shape (64 states, 64-64): {args.max_devices - failed} of {args.max_devices} device counts "
          f"passed all {args.batches} batches")
    print(f"tiny shape (2 states, one 4-unit layer, 2 devices): {passes(4, 3, 2, (4,), 2, args.batches)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
