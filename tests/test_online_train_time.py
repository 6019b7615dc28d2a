"""benchmarks/online/train_time.py: one record per preset, resumable, rendered to a table."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def train_time(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("train_time_under_test", ROOT / "benchmarks" / "online" / "train_time.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    monkeypatch.setattr(mod, "HERE", tmp_path)
    monkeypatch.setattr(mod, "RECORDS", tmp_path / "train_time")
    monkeypatch.setattr(mod, "RUNS", {"lenet": ("instances/tiny/lenet-1x4-tau0.6.json", ["--episodes", "3"])})
    return mod


@pytest.mark.slow
def test_a_preset_is_trained_by_the_cli_recorded_and_rendered(train_time, tmp_path):
    assert train_time.main([]) == 0
    rec = json.loads((tmp_path / "train_time" / "lenet.json").read_text())
    assert rec["episodes"] == 3 and rec["gradient_steps"] >= 0 and rec["env_steps"] > 0
    assert 0 < rec["train_s"] < rec["wall_s"] and rec["cpu_s"] > 0  # the command's own CPU, start-up included
    assert rec["command"].startswith("optdist train-rl instances/tiny/lenet-1x4-tau0.6.json --preset lenet")
    md = (tmp_path / "train_time.md").read_text()
    assert "| lenet" in md and rec["command"] in md
    mtime = (tmp_path / "train_time" / "lenet.json").stat().st_mtime_ns
    assert train_time.main([]) == 0  # present: skipped
    assert (tmp_path / "train_time" / "lenet.json").stat().st_mtime_ns == mtime


def test_a_failing_training_writes_no_record_and_says_why(train_time, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(train_time, "RUNS", {"lenet": ("instances/tiny/nope.json", [])})
    assert train_time.main([]) == 1
    assert "nope.json" in capsys.readouterr().err and not list((tmp_path / "train_time").glob("*.json"))
