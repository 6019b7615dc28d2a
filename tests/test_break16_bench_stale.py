"""A record made from another version of its instance file is done again (break16: an instance
edited between two runs of one spec kept its old record, "1 already recorded", and the tables
showed the old file's result)."""

from __future__ import annotations

import json
import shutil

from optdist.bench.records import record_path, stale
from optdist.bench.runner import run_sweep
from optdist.bench.spec import parse_spec

from .conftest import ROOT


def test_an_edited_instance_is_run_again(tmp_path, caplog):
    inst = tmp_path / "i.json"
    shutil.copy(ROOT / "instances/tiny/micro-1x3-tau0.6.json", inst)
    spec = parse_spec({"name": "t", "out": str(tmp_path / "o"), "instances": [str(inst)], "methods": ["greedy"]})
    assert run_sweep(spec, progress=False).ran == 1
    path = record_path(tmp_path / "o", spec.runs()[0].key)
    first = json.loads(path.read_text())["instance_sha256"]
    assert run_sweep(spec, progress=False).ran == 0  # unchanged: resumed, not redone
    inst.write_text(inst.read_text().replace('"tau": 0.6', '"tau": 0.9'))
    assert run_sweep(spec, progress=False).ran == 1
    assert "changed since this record was made; the run is done again" in caplog.text
    assert json.loads(path.read_text())["instance_sha256"] != first
    assert run_sweep(spec, progress=False).ran == 0


def test_records_without_a_digest_are_not_stale():
    assert not stale({"status": "ok"}, "abc") and not stale({"instance_sha256": "abc"}, None)
    assert stale({"instance_sha256": "abc"}, "abd")
