"""The ``instance`` field of an assignment (or of a result's assignment) is the name of the
instance it was made for: a string, or null or absent (unknown, accepted without a word). Any
other value is refused naming the file, the field and the fix (tidy22b; before, 3, a list or true
were read with no word, as made_for_other looked at strings only). The warning for a file made
for another instance gives the JSON value to set in JSON quotes (before: ``set its "instance" to
'x'``)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

import optdist
from optdist.assignment import Assignment, AssignmentError
from optdist.cli import main
from tests.conftest import ROOT

INSTANCE = ROOT / "instances" / "tiny" / "cifar-1x4-tau0.8.json"
NAME = "cifar-1x4-tau0.8"
#: the same request and node ids (a serial uplink): a file made for one is read for the other, with a warning
TIGHT = ROOT / "instances" / "tiny" / "micro-2x3-tight.json"
SERIAL = ROOT / "instances" / "tiny" / "micro-2x3-serial.json"


@pytest.fixture(scope="module")
def doc() -> dict:
    """The greedy's placement of :data:`INSTANCE` as an ``optdist-assignment/1`` document."""
    inst = optdist.load_instance(INSTANCE)
    return optdist.solve(inst, method="greedy").assignment.to_json(inst)


def _write(tmp_path: Path, doc: dict, **fields) -> Path:
    path = tmp_path / "placement.json"
    path.write_text(json.dumps({**doc, **fields}))
    return path


NOT_NAMES = [3, 2.5, True, ["x"], {"name": NAME}]


@pytest.mark.parametrize("value", NOT_NAMES, ids=lambda v: type(v).__name__)
def test_an_instance_field_that_is_not_a_string_is_refused(doc, value):
    with pytest.raises(AssignmentError) as e:
        Assignment.from_json(optdist.load_instance(INSTANCE), {**doc, "instance": value}, "placement.json")
    text = str(e.value)
    assert text.startswith("placement.json: 1 problem(s) in the assignment"), text
    assert (f"- instance: is {json.dumps(value)}, not a string (the name of the instance the assignment was made "
            f"for) (fix: set \"instance\": \"{NAME}\", or leave it out)") in text, text


@pytest.mark.parametrize("command", ["evaluate", "solve"])
def test_the_cli_refuses_such_a_file_naming_it_the_field_and_the_fix(command, doc, tmp_path, capsys):
    path = _write(tmp_path, doc, instance=3)
    argv = [command, str(INSTANCE), str(path)] if command == "evaluate" else \
        ["solve", str(INSTANCE), "--warm-start", str(path)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{path}: 1 problem(s) in the assignment" in err and "- instance: is 3, not a string" in err, err
    assert f"set \"instance\": \"{NAME}\", or leave it out" in err, err


def test_a_result_file_whose_assignment_has_such_a_field_is_refused(doc, tmp_path, capsys):
    result = tmp_path / "res.json"
    assert main(["solve", str(INSTANCE), "--method", "greedy", "--out", str(result), "-q"]) == 0
    full = json.loads(result.read_text())
    full["assignment"]["instance"] = ["x"]
    result.write_text(json.dumps(full))
    assert main(["evaluate", str(INSTANCE), str(result)]) == 2
    err = capsys.readouterr().err
    assert f"{result}: assignment: 1 problem(s)" in err and '- instance: is ["x"], not a string' in err, err


@pytest.mark.parametrize("fields", [{"instance": None}, {}], ids=["null", "absent"])
def test_a_null_or_absent_instance_field_is_accepted_without_a_word(doc, fields, tmp_path, capsys, caplog):
    data = {k: v for k, v in doc.items() if k != "instance"}
    path = _write(tmp_path, data, **fields)
    with caplog.at_level(logging.WARNING, logger="optdist"):
        assert main(["evaluate", str(INSTANCE), str(path)]) == 0
    assert "instance" not in caplog.text and "instance" not in capsys.readouterr().err


def test_the_fix_for_a_file_made_for_another_instance_uses_json_quotes(tmp_path, caplog):
    inst = optdist.load_instance(TIGHT)
    path = _write(tmp_path, optdist.solve(inst, method="greedy").assignment.to_json(inst))
    with caplog.at_level(logging.WARNING, logger="optdist"):
        main(["evaluate", str(SERIAL), str(path)])
    assert "made for instance \"micro-2x3-tight\", not \"micro-2x3-serial\"" in caplog.text, caplog.text
    ours = optdist.load_instance(SERIAL).content_digest()  # another content too: its digest is set as well (break37)
    assert f'set its "instance" to "micro-2x3-serial" and its "instance_digest" to "{ours}")' in caplog.text, caplog.text
