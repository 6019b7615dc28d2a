"""benchmarks/milp/one_request_model.py on bad input: refused before any model is built, with
the file or option and the fix named, exit status 2, no traceback; the one-request document."""

from __future__ import annotations

import json

import pytest

from .conftest import ROOT, load_script, refused

INSTANCE = ROOT / "instances" / "coupled" / "lenet-8x4-rpi3.json"


@pytest.fixture(scope="module")
def script():
    return load_script("benchmarks/milp/one_request_model.py")


def test_names_a_missing_file_a_bad_document_and_an_unknown_request(script, capsys, tmp_path):
    err = refused(script.main, capsys, str(tmp_path / "none.json"), "--request", "r1")
    assert "none.json" in err and "not found" in err
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"x": 1}))
    err = refused(script.main, capsys, str(bad), "--request", "r1")
    assert "bad.json" in err and "devices" in err and "fix:" in err
    err = refused(script.main, capsys, str(INSTANCE), "--request", "nope")
    assert "'nope'" in err and "fix: one of" in err


@pytest.mark.parametrize("limit", ["0", "-1", "nan", "inf"])
def test_refuses_a_time_limit_that_is_not_positive_and_finite(script, capsys, limit):
    err = refused(script.main, capsys, str(INSTANCE), "--request", "r1", "--time-limit", limit)
    assert "--time-limit" in err and "fix:" in err


def test_keeps_only_the_named_request(script):
    data = json.loads(INSTANCE.read_text())
    rid = data["requests"][-1]["id"]
    doc = script.one_request(INSTANCE, rid)
    assert doc["requests"] == [data["requests"][-1]] and doc["name"] == f"{data['name']}-{rid}"
    assert doc["devices"] == data["devices"] and len(data["requests"]) > 1
