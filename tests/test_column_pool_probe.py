"""benchmarks/scale/column_pool_probe.py on bad input: checked before the run, a clear error
naming the file, the field and the fix, exit status 2, no traceback."""

from __future__ import annotations

import json

import pytest

from .conftest import ROOT, load_script, refused

INSTANCE = str(ROOT / "instances" / "coupled" / "cifar-6x5-nexus-rpi3.json")
REFERENCE = str(ROOT / "benchmarks" / "scale" / "coupled" / "best" / "cifar-6x5-nexus-rpi3.json")


@pytest.fixture(scope="module")
def probe():
    return load_script("benchmarks/scale/column_pool_probe.py")


def run(probe, capsys, *argv: str) -> str:
    return refused(probe.main, capsys, *argv)


def test_no_arguments_is_a_usage_error(probe, capsys):
    with pytest.raises(SystemExit) as e:
        probe.main([])
    assert e.value.code == 2 and "instance, reference" in capsys.readouterr().err


def test_names_a_missing_instance_or_reference(probe, capsys, tmp_path):
    err = run(probe, capsys, str(tmp_path / "none.json"), REFERENCE)
    assert "none.json" in err and "not found" in err
    err = run(probe, capsys, INSTANCE, str(tmp_path / "noref.json"), "--time-limit", "1")
    assert "noref.json" in err and "not found" in err


def test_names_broken_json_and_wrong_documents(probe, capsys, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"a":')
    assert "invalid JSON" in run(probe, capsys, str(bad), REFERENCE)
    bad.write_text(json.dumps({"x": 1}))
    err = run(probe, capsys, str(bad), REFERENCE)
    assert "bad.json" in err and "devices" in err and "fix:" in err
    # an instance given as the reference: the reference is checked before the run
    err = run(probe, capsys, INSTANCE, str(ROOT / "instances" / "coupled" / "mixed-8x6-nexus-rpi3.json"))
    assert "mixed-8x6-nexus-rpi3.json" in err and "fix:" in err


@pytest.mark.parametrize("opt,value", [("--time-limit", "-1"), ("--time-limit", "nan"), ("--integer-s", "-3"),
                                       ("--integer-s", "inf")])
def test_rejects_times_out_of_range(probe, capsys, opt, value):
    err = run(probe, capsys, INSTANCE, REFERENCE, opt, value)
    said = "is not a number" if value == "nan" else "out of range"  # nan: not a number (scip28)
    assert opt in err and said in err and "fix:" in err
