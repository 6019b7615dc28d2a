"""Deliberately infeasible instances for `optdist diagnose`: `python instances/infeasible/make_infeasible.py`.

Each instance has one cause, named in its ``description``; tests/test_diagnose.py checks that
the diagnosis names that constraint family (and layer or node).
"""

from __future__ import annotations

import sys
from pathlib import Path

from optdist.generate import generate, write_instances

HERE = Path(__file__).resolve().parent


def infeasible_sets() -> dict[str, dict]:
    docs = {}
    # privacy (10f): ReLU2 has 16 maps, at tau 0.8 a device may receive 4 -> 4 devices needed, 3 exist
    docs["lenet-1x3-privacy"] = generate(
        "lenet-1x3-privacy", {"lenet": 1}, {"rpi3": 3}, 0.8, sources=1,
        description="INFEASIBLE (privacy, layer ReLU2): at tau 0.8 a device may receive at most 4 of "
                    "ReLU2's 16 maps (paper table, Nf = 4), so ReLU2 needs 4 devices, but there are 3")
    # memory: fc1 of the CIFAR CNN has 4 MiB of weights, every device has 2 MiB
    doc = generate(
        "cifar-1x4-memory", {"cifar": 1}, {"rpi3": 4}, 0.8, sources=1,
        description="INFEASIBLE (memory, layer fc1): fc1 holds 2048 x 512 float32 weights (4 MiB) "
                    "and must run on one device, but every device has 2 MiB of memory")
    for d in doc["devices"]:
        d["memory"] = 2 * 2**20
    docs["cifar-1x4-memory"] = doc
    # compute: no device can do one conv2 segment (25,600 multiplications) per period
    doc = generate(
        "lenet-1x4-compute", {"lenet": 1}, {"rpi3": 4}, 0.8, sources=1,
        description="INFEASIBLE (compute, layer conv2): each conv2 segment needs 25,600 "
                    "multiplications, but every device may do 20,000 per period")
    for d in doc["devices"]:
        d["compute_capacity"] = 20000
    docs["lenet-1x4-compute"] = doc
    # bandwidth at a shared source: each request alone fits, the two together do not
    docs["lenet-2x4-source-bandwidth"] = generate(
        "lenet-2x4-source-bandwidth", {"lenet": 2}, {"rpi3": 4}, 0.8, sources=1, period_s=0.003,
        description="INFEASIBLE (bandwidth, source cam1): over a 3 ms period the camera can send "
                    "27,075 B; each of its two requests must send conv1's 8 output maps (18,432 B) "
                    "to the devices, 36,864 B together. Each request alone is feasible")
    return docs


def main() -> int:
    for path in write_instances(infeasible_sets(), HERE):
        print(f"wrote instances/infeasible/{path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
