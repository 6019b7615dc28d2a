"""Tight-period LeNet sets whose requests really couple: `python benchmarks/milp/make_tight.py`.

With the default 1 s period LeNet uses < 0.5 % of any capacity, so the requests never
interact and the decomposition by request is optimal at once (MODEL.md section 7). Counting
capacities over a few milliseconds instead makes the devices' radios the bottleneck: at a
3 ms period, 10 requests' single-request optima together need ~115 % of the bandwidth of
the busiest RPi3 devices, so the optimum of the whole differs from the sum of the parts.
(At 2 ms a source cannot even send one request's conv1 partial sums: 18,432 B > 18,050 B.)

Writes ``instances/paper/lenet-10x10-tight-tau{0.8,0.6}.json`` (10 RPi3, 3 ms),
``instances/paper/lenet-10x70-tight-tau{0.8,0.6}.json`` (20 Nexus + 50 RPi3, 2.5 ms) and
``instances/paper/lenet-20x70-tight-tau0.6.json`` (20 requests from 20 cameras, 3 ms).

On the 70-device network 10 requests never couple: below ~2.05 ms a camera cannot send one
request's conv1 output, and above it the per-request optima (16 Nexus devices each) fit
side by side once each request's identical devices are permuted (least-loaded first). With
20 requests at 3 ms the Nexus radios are overloaded by ~20 %, and some requests must move to
the RPi3 devices.
"""

from __future__ import annotations

import sys
from pathlib import Path

from optdist.generate import generate, write_instances

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "instances" / "paper"
SETS = {
    # name: (requests, devices, period_s, seed, taus)
    "lenet-10x10-tight": (10, {"rpi3": 10}, 0.003, 10, (0.8, 0.6)),
    "lenet-10x70-tight": (10, {"nexus": 20, "rpi3": 50}, 0.0025, 70, (0.8, 0.6)),
    "lenet-20x70-tight": (20, {"nexus": 20, "rpi3": 50}, 0.003, 70, (0.6,)),
}


def tight_sets() -> dict[str, dict]:
    docs = {}
    for base, (n_req, devices, period, seed, taus) in SETS.items():
        for tau in taus:
            name = f"{base}-tau{tau}"
            n_dev = sum(devices.values())
            docs[name] = generate(
                name, {"lenet": n_req}, devices, tau, sources=n_req, period_s=period, seed=seed,
                description=(f"{n_req} LeNet requests on {n_dev} devices with capacities counted over a "
                             f"{period * 1e3:g} ms period, so that the requests compete for radio "
                             "bandwidth (benchmarks/milp/make_tight.py)"),
            )
    return docs


def main() -> int:
    for path in write_instances(tight_sets(), OUT):
        print(f"wrote instances/paper/{path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
