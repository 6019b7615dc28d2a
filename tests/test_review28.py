"""Fixes from the code review of 2026-12-04 (review28) that no other test file covers."""

from __future__ import annotations

import json

import pytest

from optdist.cli import main
from tests.conftest import ROOT

LENET = ROOT / "instances" / "paper" / "lenet-1x10-tau0.6.json"


@pytest.mark.parametrize("group, i, bad, said", [
    ("devices", 0, "x\u202ey", 'devices[0].id: id "x\\u202ey" holds control or invisible characters'),
    ("sources", 0, "cam\u00001", 'sources[0].id: id "cam\\u00001" holds control or invisible characters'),
    ("requests", 0, "r\n1", 'requests[0].id: id "r\\n1" holds control or invisible characters'),
])
def test_an_id_with_control_or_invisible_characters_is_refused_as_the_name_is(tmp_path, capsys, group, i, bad, said):
    """Ids are printed in every report, table and violation line: a bidi override, NUL or line
    break garbles them, as it did the instance's name (refused since inst28)."""
    doc = json.loads(LENET.read_text())
    old = doc[group][i]["id"]
    doc[group][i]["id"] = bad
    if group == "sources":  # the requests name their source
        for rq in doc["requests"]:
            rq["source"] = bad if rq["source"] == old else rq["source"]
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(doc))
    assert main(["validate", str(f)]) != 0
    out = capsys.readouterr()
    assert said in out.out + out.err


def test_visible_non_ascii_ids_are_taken(tmp_path, capsys):
    doc = json.loads(LENET.read_text())
    doc["devices"][0]["id"] = "τ-摄像头"
    f = tmp_path / "ok.json"
    f.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    assert main(["validate", str(f)]) == 0, capsys.readouterr()


def test_validate_of_a_missing_file_gives_a_fix(capsys):
    assert main(["validate", "/nonexist/x.json"]) == 1
    out = capsys.readouterr().out
    assert out == "/nonexist/x.json: INVALID, no such file\n      fix: check the path, e.g. `ls instances/` shows what is there\n"


def test_a_number_written_for_a_requests_source_is_told_to_be_quoted(tmp_path, capsys):
    doc = json.loads(LENET.read_text())
    doc["requests"][0]["source"] = 7
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(doc))
    assert main(["validate", str(f)]) == 1
    assert 'requests[0].source: got 7 (a number)' in (out := capsys.readouterr().out) and 'fix: write it in quotes: "source": "7"' in out


def test_an_integer_too_large_for_a_float_in_a_text_field_or_a_table_cell_is_a_problem_not_a_crash(tmp_path, capsys):
    """10**400 where a string is expected (math.isfinite overflowed) or in a privacy table's cell
    (float() overflowed): both were "internal error: OverflowError", exit 3."""
    doc = json.loads(LENET.read_text())
    doc["name"] = 10**400
    inst = tmp_path / "inst.json"
    inst.write_text(json.dumps(doc))
    table = json.loads((ROOT / "models" / "privacy" / "lenet-paper.json").read_text())
    cells = table["rows"][0]["cells"]
    cells[next(iter(cells))] = 10**400
    tab = tmp_path / "lenet-paper.json"
    tab.write_text(json.dumps(table))
    assert main(["validate", str(inst), str(tab)]) == 1
    out = capsys.readouterr().out
    assert out.count("INVALID, 1 problem(s)") == 2 and "name: got 1000" in out and "(401 characters), out of range" in out
