"""`optdist solve --mip-gap G` is `--gap G` (the Python API's name, `mip_gap=`; a new user typing
it got `unrecognized arguments: --mip-gap 0.1`)."""

from __future__ import annotations

import json

from optdist.cli import main
from tests.conftest import ROOT

MICRO = str(ROOT / "instances" / "tiny" / "micro-2x3-tight.json")


def test_mip_gap_is_the_gap(tmp_path):
    out = tmp_path / "r.json"
    assert main(["solve", MICRO, "--mip-gap", "0.25", "--out", str(out), "-q"]) == 0
    assert json.loads(out.read_text())["options"]["mip_gap"] == 0.25


def test_mip_gap_is_range_checked_as_the_gap(capsys):
    assert main(["solve", MICRO, "--mip-gap", "2"]) == 2
    assert "--mip-gap 2 is out of range" in capsys.readouterr().err  # the flag as written (msgs26)
