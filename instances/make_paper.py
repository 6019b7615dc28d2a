"""Regenerate the bundled paper and tiny instances: `python instances/make_paper.py`.

Paper settings (Baccour et al. sec. 4.1): RPi3 cameras; LeNet sets on 10 RPi3 devices (the
exact-optimum experiments: 1, 3 and 10 requests) and on the 70-device network; CIFAR, VGG and
heterogeneous sets with 250 requests on 70 devices (20 LG Nexus + 50 RPi3) at tau 0.8/0.6/0.4.
The paper gives no period: capacities are counted over ``period_s`` (1 s for LeNet/CIFAR,
60 s for VGG and heterogeneous loads, whose 250 requests need ~0.7-1.6e12 multiplications).
"""

from __future__ import annotations

import sys
from pathlib import Path

from optdist.generate import generate, write_instances

HERE = Path(__file__).resolve().parent
P70 = {"nexus": 20, "rpi3": 50}


def paper_sets() -> dict[str, dict]:
    docs = {}
    for tau in (0.8, 0.6):
        for n in (1, 3, 10):
            name = f"lenet-{n}x10-tau{tau}"
            docs[name] = generate(name, {"lenet": n}, {"rpi3": 10}, tau, sources=min(n, 10), seed=n,
                                  description=f"{n} LeNet request(s) on 10 RPi3 devices (paper's exact-optimum setting)")
        name = f"lenet-10x70-tau{tau}"
        docs[name] = generate(name, {"lenet": 10}, P70, tau, seed=70,
                              description="10 LeNet requests on the paper's 70-device network (20 Nexus + 50 RPi3)")
    for tau in (0.8, 0.6, 0.4):
        for cnn, period in (("cifar", 1.0), ("vgg16", 60.0), ("vgg19", 60.0)):
            name = f"{cnn}-250x70-tau{tau}"
            docs[name] = generate(name, {cnn: 250}, P70, tau, period_s=period, seed=250,
                                  description=f"250 {cnn} requests on 20 Nexus + 50 RPi3 (paper sec. 4.1)")
        name = f"hetero-250x70-tau{tau}"
        docs[name] = generate(name, {"lenet": 63, "cifar": 63, "vgg16": 62, "vgg19": 62}, P70, tau, period_s=60.0,
                              seed=250, description="250 heterogeneous requests (LeNet, CIFAR, VGG16, VGG19) on 20 Nexus + 50 RPi3")
    return docs


def tiny_sets() -> dict[str, dict]:
    docs = {}
    for tau in (0.8, 0.6):
        docs[f"lenet-1x4-tau{tau}"] = generate(f"lenet-1x4-tau{tau}", {"lenet": 1}, {"rpi3": 3, "nexus": 1}, tau, sources=1)
    docs["lenet-2x4-tight"] = generate("lenet-2x4-tight", {"lenet": 2}, {"rpi3": 4}, 0.6, sources=2, period_s=0.004,
                                       description="2 LeNet requests whose capacities couple (4 ms period)")
    docs["micro-1x3-tau0.6"] = generate("micro-1x3-tau0.6", {"micro": 1}, {"rpi3": 2, "stm32h7": 1}, 0.6, sources=1, privacy="synthetic")
    docs["micro-2x2-tau0.6"] = generate("micro-2x2-tau0.6", {"micro": 2}, {"rpi3": 1, "stm32h7": 1}, 0.6, sources=2, privacy="synthetic")
    tight = generate("micro-2x3-tight", {"micro": 2}, {"rpi3": 2, "stm32h7": 1}, 0.95, sources=1, privacy="synthetic",
                     description="two requests compete for two small fast devices (explicit capacities)")
    for d in tight["devices"][:2]:
        d.update(compute_capacity=900, bandwidth_capacity=500)
    docs["micro-2x3-tight"] = tight
    docs["cifar-1x4-tau0.8"] = generate("cifar-1x4-tau0.8", {"cifar": 1}, {"rpi3": 3, "nexus": 1}, 0.8, sources=1)
    # MODEL.md section 8 options, small enough for brute force (MILP tests)
    adm = generate("micro-3x2-admission", {"micro": 3}, {"rpi3": 2}, 0.6, sources=1, privacy="synthetic",
                   objective={"admission": True},
                   description="three requests, room for two (conv2 compute 900 mult per device): one is rejected")
    for d in adm["devices"]:
        d.update(compute_capacity=900)
    docs["micro-3x2-admission"] = adm
    docs["micro-2x3-serial"] = generate("micro-2x3-serial", {"micro": 2}, {"rpi3": 2, "stm32h7": 1}, 0.95, sources=1,
                                        privacy="synthetic", objective={"uplink": "serial"},
                                        description="serialised uplink: a sender's transfers queue")
    docs["micro-2x3-makespan"] = generate("micro-2x3-makespan", {"micro": 2}, {"rpi3": 1, "stm32h7": 2}, 0.95,
                                          sources=2, privacy="synthetic",
                                          objective={"kind": "makespan", "shared_weight": 1e-9},
                                          description="largest request latency plus 1 ns per shared byte")
    return docs


def main() -> int:
    for folder, docs in (("paper", paper_sets()), ("tiny", tiny_sets())):
        write_instances(docs, HERE / folder)
        print(f"{folder}: {len(docs)} instances")
    return 0


if __name__ == "__main__":
    sys.exit(main())
