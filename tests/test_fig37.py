"""fig37: the committed ``models/policies/mix-70`` (the RL series of Figs. 13-16) is trained at the
``vgg`` preset's defaults by the command the specs' comments give, and the figure CSVs come from it."""

from __future__ import annotations

import csv
import json
import shlex
import tomllib
from pathlib import Path

import pytest

from optdist.cli import build_parser
from optdist.rl.presets import PRESETS

ROOT = Path(__file__).resolve().parents[1]
MIX = ROOT / "models" / "policies" / "mix-70"
SPECS = [ROOT / "benchmarks" / "specs" / f"{name}.toml" for name in ("paper-250-rl-vgg", "fig15-devices", "fig16-mix")]


def _policy() -> dict:
    return json.loads((MIX / "policy.json").read_text())


def _train_command(spec: Path) -> list[str]:
    """The words of the ``optdist train-rl`` command in the spec's comments (continuation lines joined)."""
    lines = [line.removeprefix("#").strip() for line in spec.read_text().splitlines() if line.startswith("#")]
    start = next((i for i, line in enumerate(lines) if line.startswith("optdist train-rl ")), None)
    assert start is not None, f"{spec}: no `optdist train-rl` command in its comments"
    words = []
    for line in lines[start:]:
        words += shlex.split(line.removesuffix("\\"))
        if not line.endswith("\\"):
            return words[1:]  # without "optdist"
    raise AssertionError(f"{spec}: the train-rl command's last line ends with a backslash")


def test_mix70_is_trained_at_the_vgg_presets_defaults():
    pol, vgg = _policy(), PRESETS["vgg"]
    assert pol["preset"]["name"] == "vgg"
    assert (pol["episodes"], pol["train_freq"]) == (vgg.episodes, vgg.train_freq), pol
    assert "interrupted" not in pol and pol["gradient_steps"] > 0, pol


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_each_spec_gives_the_command_that_trained_its_policy(spec):
    """Each spec placing with mix-70 comments the command policy.json records: its settings, and the
    preset's defaults where it leaves --episodes / --train-freq out."""
    args, pol = build_parser().parse_args(_train_command(spec)), _policy()
    assert tomllib.loads(spec.read_text())["method_options"]["rl"]["policy"] == str(args.out) == "models/policies/mix-70"
    preset = PRESETS[args.preset]
    assert (args.instance.stem, preset.name, args.reward, args.masked, args.double, args.seed) == (
        pol["instance"], pol["preset"]["name"], pol["reward"], pol["masked"], pol["double"], pol["seed"])
    assert (args.episodes or preset.episodes, args.train_freq or preset.train_freq) == (pol["episodes"], pol["train_freq"])


@pytest.mark.slow
def test_fig15s_70_device_rl_point_is_the_committed_policys():
    """The RL point of Fig. 15 on 70 devices (250 heterogeneous requests, about 10 s) is what the
    committed mix-70 places: its rejected count (fails when the policy is retrained and the figure
    is not rerun: 109 with the 1000-episode policy, 125 with the 3000-episode one)."""
    import optdist

    name = "hetero-250x70-nexus30rpi3-tau0.4"
    rows = [r for r in csv.DictReader((ROOT / "benchmarks/figures/fig15-accuracy-vs-devices.csv").open())
            if r["instance"] == name and r["config"] == "rl"]
    assert len(rows) == 1, rows
    res = optdist.solve(ROOT / "benchmarks/specs/instances" / f"{name}.json", method="rl", policy=MIX)
    assert int(rows[0]["rejected"]) == res.evaluation.n_rejected, (rows[0], res.evaluation.n_rejected)
