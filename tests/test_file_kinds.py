"""Another kind of optdist file where a privacy table is expected is one clear problem (fixes16).

A network profile named as an instance's privacy table gave six schema problems (unknown format,
'name' and 'rows' missing, three unexpected fields) instead of saying what the file is.
"""

from __future__ import annotations

import json
import shutil

import pytest

from optdist.cli import main
from optdist.instance import InstanceError, load_instance
from optdist.privacy import PrivacyTable, PrivacyTableError
from tests.conftest import ROOT

PROFILE = ROOT / "benchmarks" / "own_networks" / "resnet18.profile.json"
PAPER = ROOT / "instances" / "paper" / "lenet-10x10-tau0.8.json"


@pytest.fixture
def instance_naming_a_profile(tmp_path):
    shutil.copy(PROFILE, tmp_path / "resnet18.profile.json")
    doc = json.loads(PAPER.read_text())
    doc["privacy"] = {"lenet": "resnet18.profile.json"}
    path = tmp_path / "inst.json"
    path.write_text(json.dumps(doc))
    return path


def test_a_profile_read_as_a_privacy_table_is_one_problem():
    with pytest.raises(PrivacyTableError) as e:
        PrivacyTable.load(PROFILE)
    assert e.value.source == str(PROFILE)
    [p] = e.value.problems
    assert p.path == "format" and "network profile" in p.message and '"optdist-profile/2"' in p.message
    assert "not a privacy table" in p.message and "optdist-privacy-table/1" in p.fix and '"networks"' in p.fix


def test_an_instance_naming_a_profile_as_its_privacy_table_says_so_once(instance_naming_a_profile, capsys):
    with pytest.raises(InstanceError) as e:
        load_instance(instance_naming_a_profile)
    [p] = e.value.problems
    assert p.path == "privacy.lenet" and "resnet18.profile.json" in p.message and "network profile" in p.message
    assert main(["validate", str(instance_naming_a_profile)]) == 1
    out = capsys.readouterr().out
    assert "1 problem(s)" in out and "not a privacy table" in out


def test_a_privacy_table_still_loads_and_its_own_problems_are_listed(tmp_path):
    table = json.loads((ROOT / "models" / "privacy" / "lenet-paper.json").read_text())
    assert PrivacyTable.load(ROOT / "models" / "privacy" / "lenet-paper.json").cnn == "lenet"
    table["format"] = "optdist-privacy-table/9"  # not another kind: the table's own check says what is wrong
    (tmp_path / "t.json").write_text(json.dumps(table))
    with pytest.raises(PrivacyTableError, match="unknown format"):
        PrivacyTable.load(tmp_path / "t.json")


@pytest.mark.parametrize("given, kind", [
    (ROOT / "optdist" / "data" / "devices.json", "a device catalog"),
    (PROFILE, "a network profile"),
    (ROOT / "models" / "privacy" / "lenet-paper.json", "a privacy table"),
])
def test_another_kind_of_file_given_as_an_instance_is_one_problem(given, kind):
    """A device catalog given as an instance listed five schema problems; a result file 27."""
    with pytest.raises(InstanceError) as e:
        load_instance(given)
    [p] = e.value.problems
    assert p.path == "format" and f"this file is {kind}" in p.message and "not an instance" in p.message
    assert "optdist-instance/1" in p.fix


def test_a_result_file_given_as_the_instance_of_evaluate_says_so(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["solve", str(ROOT / "instances" / "tiny" / "micro-1x3-tau0.6.json"), "-q", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(out), str(out)]) == 2
    assert "this file is a solve result" in capsys.readouterr().err


def test_an_instance_given_as_a_device_catalog_is_one_problem(capsys):
    assert main(["devices", "--devices-catalog", str(PAPER)]) == 2
    err = capsys.readouterr().err
    assert "this file is an instance" in err and "not a device catalog" in err
