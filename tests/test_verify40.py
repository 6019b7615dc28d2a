"""verify40: today's changes checked as a user runs them; each test failed before its fix."""

from __future__ import annotations

import pytest

from .conftest import load_script


@pytest.mark.slow
def test_slow_requests_default_count_is_the_instances_own(capsys):
    """``slow_requests.py --instance lenet-10x10-tau0.8`` alone (a choice its --help offers): the
    default --requests was a fixed 40, refused there ("--requests 40: give 2 to 10") though never
    given; now the count decisions.py places on that instance (10)."""
    mod = load_script("benchmarks/online/slow_requests.py")
    assert mod.main(["--instance", "lenet-10x10-tau0.8"]) == 0
    out = capsys.readouterr().out
    assert "lenet-10x10-tau0.8, paper agent (300 episodes, seed 0), first 10 requests" in out
