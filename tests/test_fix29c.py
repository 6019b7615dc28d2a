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
