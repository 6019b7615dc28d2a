"""Instances the figure specs need beyond ``instances/paper/``: `python benchmarks/specs/make_instances.py`.

Same generator and settings as ``instances/make_paper.py`` (RPi3 cameras, 10 sources, seed
250 for the 250-request loads, 60 s period for heterogeneous loads):

* ``lenet-250x70-tau*``: 250 LeNet requests on 20 Nexus + 50 RPi3 (Figs. 11-14; the paper
  set has none), 1 s period like the other LeNet sets;
* ``hetero-250xD-nexus30rpi3-tau0.4``: heterogeneous load on D = 20..100 devices, 30% LG Nexus
  and 70% RPi3 (Fig. 15);
* ``hetero-250x70-nexusPstm-tau0.4``: 70 devices, P% LG Nexus and the rest STM32H7 (Fig. 16);
* ``train-lenet-cifar-20x70-tau0.8``: 10 LeNet + 10 CIFAR requests on the same 70 devices, on
  which the RL policy of ``paper-250-rl.toml`` is trained (other seed than the test loads);
* ``train-mix-8x70-tau0.6``: 2 requests each of LeNet, CIFAR, VGG16 and VGG19 on the same 70
  devices (60 s period like the VGG and heterogeneous loads), on which the RL policy of the VGG,
  VGG19 and heterogeneous series (``paper-250-rl.toml``, Figs. 15-16) is trained;
* ``lenet-Nx10-tau0.6`` (N = 2, 5; the paper set has 1, 3, 10) and ``lenet-3xD-tau0.6`` (RPi3
  only, D = 4, 20, 40, 70): solve-time scaling in requests and devices.
"""

from __future__ import annotations

import sys
from pathlib import Path

from optdist.generate import generate, write_instances

HERE = Path(__file__).resolve().parent / "instances"
HETERO = {"lenet": 63, "cifar": 63, "vgg16": 62, "vgg19": 62}


def documents() -> dict[str, dict]:
    docs = {}
    for tau in (0.8, 0.6, 0.4):
        name = f"lenet-250x70-tau{tau}"
        docs[name] = generate(name, {"lenet": 250}, {"nexus": 20, "rpi3": 50}, tau, seed=250,
                              description="250 LeNet requests on 20 Nexus + 50 RPi3 (Figs. 11-14)")
    for d in (20, 30, 40, 50, 60, 70, 80, 90, 100):
        nexus = round(0.3 * d)
        name = f"hetero-250x{d}-nexus30rpi3-tau0.4"
        docs[name] = generate(name, HETERO, {"nexus": nexus, "rpi3": d - nexus}, 0.4, period_s=60.0, seed=250,
                              description=f"heterogeneous load on {d} devices, 30% Nexus / 70% RPi3 (Fig. 15)")
    for pct in (0, 25, 50, 75, 100):
        nexus = round(70 * pct / 100)
        devices = {t: n for t, n in (("nexus", nexus), ("stm32h7", 70 - nexus)) if n}
        name = f"hetero-250x70-nexus{pct}stm-tau0.4"
        docs[name] = generate(name, HETERO, devices, 0.4, period_s=60.0, seed=250,
                              description=f"heterogeneous load on 70 devices, {pct}% Nexus / rest STM32H7 (Fig. 16)")
    name = "train-lenet-cifar-20x70-tau0.8"
    docs[name] = generate(name, {"lenet": 10, "cifar": 10}, {"nexus": 20, "rpi3": 50}, 0.8, seed=1,
                          description="RL training set: 10 LeNet + 10 CIFAR requests on 20 Nexus + 50 RPi3")
    name = "train-mix-8x70-tau0.6"
    docs[name] = generate(name, {c: 2 for c in HETERO}, {"nexus": 20, "rpi3": 50}, 0.6, period_s=60.0, seed=1,
                          description="RL training set: 2 LeNet + 2 CIFAR + 2 VGG16 + 2 VGG19 requests on 20 Nexus + 50 RPi3")
    for n in (2, 5):
        name = f"lenet-{n}x10-tau0.6"
        docs[name] = generate(name, {"lenet": n}, {"rpi3": 10}, 0.6, sources=min(n, 10), seed=n,
                              description=f"{n} LeNet request(s) on 10 RPi3 (scaling in requests)")
    for d in (4, 20, 40, 70):
        name = f"lenet-3x{d}-tau0.6"
        docs[name] = generate(name, {"lenet": 3}, {"rpi3": d}, 0.6, sources=3, seed=3,
                              description=f"3 LeNet requests on {d} RPi3 (scaling in devices; D = 10 is the paper set's)")
    return docs


def main() -> int:
    docs = documents()
    write_instances(docs, HERE)
    print(f"{len(docs)} instances in {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
