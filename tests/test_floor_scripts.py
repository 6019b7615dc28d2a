"""benchmarks/scale/floor_bound.py and floor_compare.py on bad input (a clear error naming the file,
the field or option and the fix, exit 2, no traceback), and floor_bound's bound on an admission
instance (never above rejecting every request)."""

from __future__ import annotations

import json
import sys
import re

import pytest

from .conftest import ROOT, load_script

LENET = str(ROOT / "instances" / "coupled" / "lenet-8x4-rpi3.json")
MAKESPAN = str(ROOT / "instances" / "tiny" / "micro-2x3-makespan.json")


def load(name: str):
    return load_script(f"benchmarks/scale/{name}.py")


@pytest.fixture(scope="module")
def bound():
    return load("floor_bound")


@pytest.fixture(scope="module")
def compare():
    return load("floor_compare")


def fails(mod, capsys, *argv: str) -> str:
    """Run ``mod.main(argv)``: exit status 2 (returned or argparse's), no traceback; stderr."""
    try:
        rc = mod.main(list(argv))
    except SystemExit as e:
        rc = e.code
    assert rc == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize("option", ["--seconds", "--alone-limit"])
def test_bound_rejects_negative_seconds(bound, capsys, option):
    err = fails(bound, capsys, LENET, "--no-alone", "--target", "1", option, "-5")
    assert f"{option} -5" in err and ">= 0" in err


def test_bound_no_alone_needs_target(bound, capsys):
    assert "--no-alone needs --target" in fails(bound, capsys, LENET, "--no-alone")


def test_bound_unknown_floor(bound, capsys):
    assert "invalid choice: 'foo'" in fails(bound, capsys, LENET, "--floor", "foo")


def test_bound_names_a_bad_cache(bound, capsys, tmp_path):
    cache = tmp_path / "alone.json"
    cache.write_text("{bad")
    err = fails(bound, capsys, LENET, "--cache", str(cache), "--seconds", "1")
    assert "alone.json" in err and "invalid JSON" in err
    cache.write_text("[1, 2]")
    err = fails(bound, capsys, LENET, "--cache", str(cache), "--seconds", "1")
    assert "alone.json" in err and "by_kind" in err and "--cache" in err
    cache.write_text(json.dumps({"instance": "lenet-8x4-rpi3", "by_kind": {"7": 1.0}}))
    err = fails(bound, capsys, LENET, "--cache", str(cache), "--seconds", "1")
    assert "alone.json" in err and "by_kind" in err and "delete the file" in err


@pytest.mark.parametrize("script", ["floor_bound", "floor_compare"])
def test_scripts_refuse_a_makespan_objective(script, capsys):
    mod = load(script)
    args = ["--no-alone", "--target", "1"] if script == "floor_bound" else ["--limit", "1"]
    err = fails(mod, capsys, MAKESPAN, *args)
    assert "micro-2x3-makespan.json" in err and "objective.kind" in err and "'latency'" in err


@pytest.mark.parametrize("script", ["floor_bound", "floor_compare"])
def test_scripts_name_a_missing_or_broken_instance(script, capsys, tmp_path):
    mod = load(script)
    assert "not found" in fails(mod, capsys, str(tmp_path / "none.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("{bad")
    assert "bad.json" in (err := fails(mod, capsys, str(bad))) and "invalid JSON" in err


@pytest.mark.parametrize("argv,text", [(["--limit", "-3"], "--limit -3"), (["--limit", "nan"], "--limit nan"),
                                       (["--shares", "0", "-1"], "--shares -1")])
def test_compare_rejects_bad_numbers(compare, capsys, argv, text):
    assert text in fails(compare, capsys, LENET, *argv)


def test_bound_caps_classes_at_the_rejection_penalty(bound, capsys, tmp_path):
    """With admission, rejecting every request costs R x penalty: the floors' bound must stay
    below it (each class's term capped at the penalty, as column generation does)."""
    doc = json.loads((ROOT / "instances" / "coupled" / "lenet-8x4-rpi3.json").read_text())
    doc["objective"] = {"admission": True, "rejection_penalty": 1e-4}  # below a LeNet request's latency
    path = tmp_path / "adm.json"
    path.write_text(json.dumps(doc))
    cap = len(doc["requests"]) * 1e-4
    assert bound.main([str(path), "--no-alone", "--target", str(cap), "--seconds", "1"]) == 0
    value = float(re.search(r"bound ([0-9.e+-]+) s", capsys.readouterr().out).group(1))
    assert 0 < value <= cap * (1 + 1e-9)


@pytest.mark.parametrize("script", ["floor_bound", "floor_compare"])
def test_scripts_name_a_dag_class(script, capsys, tmp_path):
    """A residual network has no pricing floor: the request and the reason, exit 2."""
    from tests.test_dag_evaluator import dag_instance

    dag_instance(tmp_path, "res", 1, 3)
    args = ["--no-alone", "--target", "1"] if script == "floor_bound" else ["--limit", "1"]
    err = fails(load(script), capsys, str(tmp_path / "dag-res-1x3.json"), *args)
    assert "chain networks" in err and "dag-res" in err and ("r0" in err or "request 0" in err)


@pytest.mark.parametrize("script", ["patterns_alone", "pattern_master_bound"])
@pytest.mark.parametrize("argv,text", [([], "no instance given"),
                                       (["none.json"], "none.json: instance file not found"),
                                       (["bad.json"], "invalid JSON"),
                                       ([LENET, "--bogus"], "no options are taken: --bogus")])
def test_instance_list_scripts_exit_2_naming_the_problem(script, argv, text, capsys, tmp_path, monkeypatch):
    """The scripts taking a list of instances (benchmarks/scale/_scale_common.run_on_instances) exit with
    status 2 and the message, as the other scripts: no usage or bad file may exit 1, no option may
    be read as a file name."""
    (tmp_path / "bad.json").write_text("{bad")
    monkeypatch.chdir(tmp_path)
    mod = load(script)
    monkeypatch.setattr("sys.argv", [f"{script}.py", *argv])
    with pytest.raises(SystemExit) as e:
        sys.modules["_scale_common"].run_on_instances(mod.main, f"{script}.py")
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert text in err and "Traceback" not in err


def test_pattern_master_bound_refuses_a_makespan_objective(capsys, monkeypatch):
    """Its floor Lagrangian bounds the sum of latencies: on a makespan instance it must not print a
    'bound' but name the field and the fix (exit 2)."""
    mod = load("pattern_master_bound")
    monkeypatch.setattr("sys.argv", ["pattern_master_bound.py", MAKESPAN])
    with pytest.raises(SystemExit) as e:
        sys.modules["_scale_common"].run_on_instances(mod.main, "pattern_master_bound.py")
    assert e.value.code == 2
    out = capsys.readouterr()
    assert "objective.kind" in out.err and "'latency'" in out.err and "bound" not in out.out


@pytest.mark.parametrize("value", ["nan", "-1", "0", "inf"])
def test_bound_rejects_a_bad_target(bound, capsys, value):
    """A NaN target made the ascent fail deep in floor.evaluate (argmin of an empty sequence)."""
    assert f"--target {value}" in fails(bound, capsys, LENET, "--no-alone", "--target", value, "--seconds", "1")
