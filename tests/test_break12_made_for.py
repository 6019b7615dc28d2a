"""Files made for one instance and read with another say so (found trying `optdist evaluate` and
`optdist import-solution` with the files of a sibling instance whose ids are the same)."""

from __future__ import annotations

import json
import logging

import pytest

from optdist.assignment import Assignment, AssignmentError
from optdist.cli import main
from optdist.milp import build
from optdist.milp.export import write_model
from tests.conftest import ROOT

TIGHT = ROOT / "instances" / "tiny" / "micro-2x3-tight.json"
SERIAL = ROOT / "instances" / "tiny" / "micro-2x3-serial.json"  # same ids, serial uplink
OTHER = ROOT / "instances" / "tiny" / "micro-2x2-tau0.6.json"  # two devices


@pytest.fixture
def placement(tmp_path):
    out = tmp_path / "res.json"
    assert main(["solve", str(TIGHT), "--out", str(out), "-q"]) == 0
    return out


def test_evaluate_warns_when_the_placement_was_made_for_another_instance(placement, capsys, caplog):
    with caplog.at_level(logging.WARNING, logger="optdist"):
        assert main(["evaluate", str(SERIAL), str(placement)]) == 0
    assert "made for instance \"micro-2x3-tight\", not \"micro-2x3-serial\"" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="optdist"):
        assert main(["evaluate", str(TIGHT), str(placement)]) == 0
    assert "made for instance" not in caplog.text


def test_an_unreadable_placement_names_the_instance_it_was_made_for(placement):
    from optdist.instance import load_instance

    doc = json.loads(placement.read_text())["assignment"]
    with pytest.raises(AssignmentError, match="made for instance \"micro-2x3-tight\", not \"micro-2x2-tau0.6\""):
        Assignment.from_json(load_instance(OTHER), doc)


def test_import_solution_refuses_a_model_exported_from_another_instance(tmp_path, caplog, capsys):
    import highspy

    from optdist.instance import load_instance

    lp, sol = tmp_path / "m.lp", tmp_path / "m.sol"
    write_model(build(load_instance(TIGHT), "tight"), lp)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.readModel(str(lp))
    h.run()
    h.writeSolution(str(sol), 0)
    with caplog.at_level(logging.WARNING, logger="optdist"):
        assert main(["import-solution", str(SERIAL), "--model-file", str(lp), "--solution", str(sol),
                     "--format", "highs"]) == 2
    assert "exported from instance \"micro-2x3-tight\", not \"micro-2x3-serial\"" in capsys.readouterr().err
    assert "exported from instance" not in caplog.text  # one refusal, no warning before it
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="optdist"):
        assert main(["import-solution", str(TIGHT), "--model-file", str(lp), "--solution", str(sol),
                     "--format", "highs"]) == 0
    assert "exported from instance" not in caplog.text
