"""verify40: today's changes checked as a user runs them; each test failed before its fix."""

from __future__ import annotations

import pytest

from .conftest import ROOT, load_script, refused


@pytest.mark.slow
def test_slow_requests_default_count_is_the_instances_own(capsys):
    """``slow_requests.py --instance lenet-10x10-tau0.8`` alone (a choice its --help offers): the
    default --requests was a fixed 40, refused there ("--requests 40: give 2 to 10") though never
    given; now the count decisions.py places on that instance (10)."""
    mod = load_script("benchmarks/online/slow_requests.py")
    assert mod.main(["--instance", "lenet-10x10-tau0.8"]) == 0
    out = capsys.readouterr().out
    assert "lenet-10x10-tau0.8, paper agent (300 episodes, seed 0), first 10 requests" in out


@pytest.mark.parametrize(("argv", "said"), [
    (("--time-limit", "-1"), "--time-limit -1 is out of range (fix: give a finite number of seconds > 0, e.g. "
                             "--time-limit 60)"),
    (("--gap", "2"), "--gap 2 is out of range (fix: give a relative gap in [0, 1], e.g. --gap 1e-5)"),
    (("--time-limit", "abc"), "--time-limit abc is not a number (fix: give a finite number of seconds > 0, e.g. "
                              "--time-limit 60)"),
])
def test_pricing_probe_echoes_a_bad_number_as_typed(capsys, argv, said):
    """``pricing_probe.py time ... --time-limit -1`` said "--time-limit -1.0: not a number of seconds
    > 0", ``--gap 2`` "--gap 2.0", ``--time-limit abc`` argparse's usage: now, as number_flag
    says it for trajectory_bound.py and from_scratch.py, the text as typed, what is wrong and the
    fix, exit 2 before anything runs."""
    probe = load_script("benchmarks/scale/pricing_probe.py")
    prices = ROOT / "benchmarks" / "scale" / "pricing_prices" / "cifar-6x5-nexus-rpi3.json"
    assert refused(probe.main, capsys, "time", str(prices), "--only", "0", *argv) == f"pricing_probe.py time: error: {said}\n"
