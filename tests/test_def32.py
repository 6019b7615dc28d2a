"""def32: defended placement found wrong by a fresh user (break32b).

1. a DefQ ``quantization`` block on the single-exit zoo LeNet scaled its compute by another
   network's early-exit load factor, labelled "distribution alone";
2. a DP cut with no measurement of its own borrowed an earlier tensor's accuracy cost;
3. ``optdist.evaluate`` and ``optdist evaluate`` disagreed on a defended result;
4. negligible noise (eps above the grid, or an SSIM within its standard error of no noise) freed layers;
5. small: repeated epsilons, an unmeasured eps said nowhere, the printed objective without DefQ time.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from optdist.instance import DefenceSpec, InstanceError, load_instance, parse

ROOT = Path(__file__).resolve().parents[1]
PLACEMENT = ROOT / "benchmarks" / "defences" / "placement" / "instances"
PAPER = ROOT / "instances" / "paper"
TINY = ROOT / "instances" / "tiny"


def _doc(path: Path, defence: dict) -> dict:
    doc = json.loads(path.read_text())
    doc["defence"] = defence
    return doc


# 1 ---------------------------------------------------------------------------------------------

def test_quantization_on_single_exit_lenet_is_refused_naming_field_and_fix(tmp_path):
    doc = _doc(PLACEMENT / "lenet-10x10-tau0.6-cpu143k.json",
               {"lenet": {"mode": "distribute", "quantization": {"use": "off", "attack_share": 0}}})
    with pytest.raises(InstanceError) as e:
        parse(doc, "q0", tmp_path / "q0.json")
    (p,) = e.value.problems
    assert p.path == "defence.lenet.quantization" and "single exit" in p.message
    assert 'remove "quantization"' in p.fix


def test_distribution_alone_is_not_said_of_a_scaled_load():
    from optdist.defences.placement import choice_text

    assert choice_text({"mode": "distribute", "load_factor": 1.0}) == "distribution alone"
    assert "load factor 0.4447" in choice_text({"mode": "distribute", "load_factor": 0.4447})
