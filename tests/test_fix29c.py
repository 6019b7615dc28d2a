"""fix29c: fresh users' rough edges.

1. A bench spec's misspelt method (``greedyy``) or field (``instnaces``) listed every name with no
   "did you mean": the close name first.
2. ``optdist export --format MPS`` was refused by argparse while ``--out X.MPS`` was taken: any case.
4. ``optdist solve/export --out ""`` said "--out . is a directory": "--out is empty".
"""

from __future__ import annotations

import pytest

from optdist.bench.spec import parse_spec
from optdist.cli import main

from .conftest import ROOT

MICRO = str(ROOT / "instances/tiny/micro-1x3-tau0.6.json")
BASE = {"name": "t", "out": "o", "instances": [MICRO]}


def _said(capsys) -> str:
    """The one line on stderr (nothing on stdout, no usage, no traceback)."""
    cap = capsys.readouterr()
    assert cap.out == "" and cap.err.count("\n") == 1 and "usage:" not in cap.err, cap.err
    assert "Traceback" not in cap.err, cap.err
    return cap.err


# 1. a spec's misspelt method or field

@pytest.mark.parametrize("field", ["methods", "solver_methods", "seeded_methods"])
def test_a_misspelt_spec_method_gets_did_you_mean(field):
    doc = {**BASE, "methods": ["greedy"], field: ["greedyy"]}
    with pytest.raises(ValueError, match=rf'^spec: {field}: unknown method "greedyy" \(fix: did you mean "greedy"\? choose '):
        parse_spec(doc)


def test_a_spec_method_far_from_any_gets_no_guess():
    with pytest.raises(ValueError, match=r'unknown method "zzzq" \(fix: choose from "'):
        parse_spec({**BASE, "methods": ["zzzq"]})


def test_a_misspelt_spec_field_gets_did_you_mean():
    doc = {"name": "t", "out": "o", "instnaces": [MICRO], "methods": ["greedy"]}
    with pytest.raises(ValueError, match=r'^spec: unknown field\(s\) "instnaces" \(fix: did you mean "instances" '):
        parse_spec(doc)


# 2. export --format in any case

@pytest.mark.parametrize("fmt", ["MPS", "Mps", "mps"])
def test_export_takes_format_in_any_case(tmp_path, fmt, capsys):
    out = tmp_path / "x.mps"
    assert main(["export", MICRO, "--format", fmt, "--out", str(out)]) == 0
    assert "Free MPS" in out.read_text()


def test_export_format_still_refuses_other_words(capsys):
    assert main(["export", MICRO, "--format", "XLS", "--out", "x.lp"]) == 2
    assert 'invalid choice: "xls"' in capsys.readouterr().err


# 4. an empty --out

@pytest.mark.parametrize(("command", "example"), [(["solve", MICRO, "--method", "greedy"], "result.json"),
                                                  (["export", MICRO], "model.lp")])
@pytest.mark.parametrize("out", ["", " "])
def test_an_empty_out_is_called_empty(tmp_path, monkeypatch, capsys, command, example, out):
    monkeypatch.chdir(tmp_path)
    assert main([*command, "--out", out]) == 2
    err = _said(capsys)
    assert err.endswith(f"error: --out is empty (fix: give a file, e.g. --out {example})\n"), err
    assert list(tmp_path.iterdir()) == []


# 3. a misspelt format

def _reslt(tmp_path, capsys) -> str:
    out = tmp_path / "r.json"
    assert main(["solve", MICRO, "--method", "greedy", "--out", str(out)]) == 0
    out.write_text(out.read_text().replace('"optdist-result/1"', '"optdist-reslt/1"'))
    capsys.readouterr()
    return str(out)


def test_a_misspelt_result_format_gets_did_you_mean(tmp_path, capsys):
    path = _reslt(tmp_path, capsys)
    assert main(["evaluate", MICRO, path]) == 2
    err = capsys.readouterr().err
    assert 'format: is "optdist-reslt/1", no optdist format (fix: did you mean "optdist-result/1"?' in err, err
    assert "another optdist document" not in err


def test_out_over_a_misspelt_result_format_names_the_format_meant(tmp_path, capsys):
    path = _reslt(tmp_path, capsys)
    assert main(["solve", MICRO, "--method", "greedy", "--out", path]) == 2
    assert "is an optdist-reslt/1 document (a misspelt optdist-result/1?)" in _said(capsys)


def test_another_kind_or_version_is_no_misspelling():
    from optdist.io import misspelt_format

    assert misspelt_format("optdist-reslt/1") == "optdist-result/1"
    assert misspelt_format("optdist-result/2") is None  # another version
    assert misspelt_format("optdist-profile/2") is None and misspelt_format("optdist-instance/1") is None
    assert misspelt_format("something-else/1") is None and misspelt_format(3) is None


# 5. evaluate --requests governs the stage breakdown too

@pytest.fixture
def result_file(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["solve", MICRO, "--method", "greedy", "--out", str(out)]) == 0
    capsys.readouterr()
    return str(out)


def test_evaluate_requests_0_prints_no_stage_breakdown(result_file, capsys):
    assert main(["evaluate", MICRO, result_file, "--requests", "0"]) == 0
    out = capsys.readouterr().out
    assert "stages of" not in out and "| request" not in out and "\n\n\n" not in out, out
    assert "... 1 more request\n" in out and out.startswith("objective"), out


def test_evaluate_requests_1_still_prints_the_first_stages(result_file, capsys):
    assert main(["evaluate", MICRO, result_file, "--requests", "1"]) == 0
    out = capsys.readouterr().out
    assert "stages of r1 (s; " in out and "| request" in out, out


# 6. unknown keys in a request (already refused on main: kept so by this test) and 7. non-whole memory

def _instance(tmp_path, change) -> str:
    import json

    doc = json.loads((ROOT / "instances/tiny/micro-1x3-tau0.6.json").read_text())
    change(doc)
    path = tmp_path / "i.json"
    path.write_text(json.dumps(doc))
    return str(path)


def test_an_unknown_key_in_a_request_is_refused_with_its_path(tmp_path):
    from optdist.instance import InstanceError, load_instance

    path = _instance(tmp_path, lambda d: d["requests"][0].update(sourc=d["requests"][0].pop("source")))
    with pytest.raises(InstanceError, match=r'requests\[0\]\.sourc: unknown field "sourc" .*did you mean "source"\?'):
        load_instance(path)
    path = _instance(tmp_path, lambda d: d["requests"][0].update(extra=1))
    with pytest.raises(InstanceError, match=r'requests\[0\]\.extra: unknown field "extra" \(value 1\) in a request'):
        load_instance(path)


@pytest.mark.parametrize("group", ["devices", "sources"])
def test_a_nodes_own_memory_must_be_whole_bytes(tmp_path, group):
    from optdist.instance import InstanceError, load_instance

    path = _instance(tmp_path, lambda d: d[group][0].update(memory=100.5))
    with pytest.raises(InstanceError, match=rf'{group}\[0\]\.memory: got 100.5, not a whole number of bytes '
                                            r'\(fix: give the memory in whole bytes, e.g. "memory": 100\)'):
        load_instance(path)
    assert load_instance(_instance(tmp_path, lambda d: d[group][0].update(memory=1073741824.0))).n_nodes > 0
