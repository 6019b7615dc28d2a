"""Held-out sets for the ``hetero`` preset: `python benchmarks/online/heldout_instances.py [NAME ...]`.

The preset is trained on ``instances/coupled/mixed-8x6-nexus-rpi3.json`` (4 LeNet + 4 CIFAR
requests from 4 cameras on 2 Nexus + 4 RPi3, tau 0.8, seed 4). Each held-out set keeps its
devices, CNN mix and tau and changes what the policy never saw: the arrival order (the
generator's seed) and the number of cameras. Each is made by the recipe that made the training
set (``instances/make_coupled.py``: ``make(name, spec)``, which sets its own period so that the
per-request optima overrun the busiest radio by 30 % and checks that all requests still fit
together); its ``description`` says so. Writes ``benchmarks/online/instances/<name>.json``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from optdist.generate import write_instances

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OUT = HERE / "instances"
TRAINING = "mixed-8x6-nexus-rpi3"

# name: (requests per CNN, devices, sources, tau, seed): the training set's but for sources and seed
HELDOUT: dict[str, tuple[dict[str, int], dict[str, int], int, float, int]] = {
    "mixed-8x6-heldout-a-4cams-seed101": ({"lenet": 4, "cifar": 4}, {"nexus": 2, "rpi3": 4}, 4, 0.8, 101),
    "mixed-8x6-heldout-b-6cams-seed102": ({"lenet": 4, "cifar": 4}, {"nexus": 2, "rpi3": 4}, 6, 0.8, 102),
    "mixed-8x6-heldout-c-8cams-seed103": ({"lenet": 4, "cifar": 4}, {"nexus": 2, "rpi3": 4}, 8, 0.8, 103),
}


def make_coupled():
    """``instances/make_coupled.py`` imported as a module (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("make_coupled", ROOT / "instances" / "make_coupled.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def make(name: str) -> dict:
    """The instance document of held-out set ``name`` (a key of :data:`HELDOUT`)."""
    reqs, devices, sources, tau, seed = spec = HELDOUT[name]
    doc = make_coupled().make(name, spec)
    train = make_coupled().SETS[TRAINING]
    doc["description"] = (
        f"Held-out set for the hetero preset (trained on {TRAINING}: generator seed {train[4]}, {train[2]} cameras): "
        f"made by benchmarks/online/heldout_instances.py with the training set's recipe, devices, CNN mix and "
        f"tau, and generator seed {seed} (arrival order), {sources} cameras. " + doc["description"]
    )
    return doc


def main(argv: list[str]) -> int:
    names = argv or list(HELDOUT)
    unknown = [n for n in names if n not in HELDOUT]
    if unknown:
        print(f"unknown held-out set(s) {unknown} (fix: one of {list(HELDOUT)})", file=sys.stderr)
        return 2
    for name in names:
        doc = make(name)
        write_instances({name: doc}, OUT)
        print(f"wrote benchmarks/online/instances/{name}.json: {doc['description']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
