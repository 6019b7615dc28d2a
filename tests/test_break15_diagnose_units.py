"""The per-request bandwidth check of `optdist diagnose` says "384 B sent", not "384 B bytes sent"
(found by the break15 tester on a residual network whose devices together could send 191 B)."""

from __future__ import annotations

import json

from optdist.diagnose import check
from optdist.instance import parse
from tests.conftest import ROOT


def test_request_bandwidth_finding_names_bytes_once():
    doc = json.loads((ROOT / "instances" / "tiny" / "micro-1x3-tau0.6.json").read_text())
    doc["period_s"] = 1e-6  # 9 B per period on each 802.11n radio: far below what the devices must send
    doc["privacy"] = {"micro": None}
    found = [f for f in check(parse(doc, "tight-period")) if f.family == "bandwidth" and f.where == "request r1"]
    assert found, "the per-request bandwidth check should fire"
    msg = found[0].message
    assert "bytes sent" not in msg and " B sent but all 3 devices together have" in msg
