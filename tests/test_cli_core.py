"""The core sub-commands, run in-process through ``optdist.cli.main``."""

import json

import pytest

from optdist.cli import main
from tests.conftest import TINY, hand_doc


def test_profile_prints_table(capsys):
    assert main(["profile", "lenet", "--privacy", "paper", "--tau", "0.6"]) == 0
    out = capsys.readouterr().out
    assert "115200" in out and "split point none" in out and "conv2" in out


def test_validate_reports_paths_and_fixes(tmp_path, capsys):
    doc = hand_doc()
    doc["devices"][0]["memory"] = -5
    doc["requests"][0]["source"] = "nowhere"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    assert main(["validate", str(bad), str(TINY[0])]) == 1
    out = capsys.readouterr().out
    assert "devices[0].memory" in out and "fix:" in out and f"{TINY[0]}: ok" in out


def test_generate_then_validate(tmp_path, capsys):
    out = tmp_path / "g.json"
    assert main(["generate", "--name", "g", "--requests", "lenet=3", "--devices", "rpi3=4", "--tau", "0.6", "--out", str(out)]) == 0
    assert main(["validate", str(out)]) == 0


def test_evaluate_command(tmp_path, capsys, hand_instance):
    from tests.test_evaluator import hand_assignment

    inst_file = tmp_path / "hand.json"
    inst_file.write_text(json.dumps(hand_doc()))
    asg_file = hand_assignment().save(hand_instance, tmp_path / "a.json")
    assert main(["evaluate", str(inst_file), str(asg_file)]) == 0
    assert "19.3406" in capsys.readouterr().out


def test_user_error_exit_status(capsys):
    assert main(["profile", "resnet"]) == 2
    assert "known CNNs" in capsys.readouterr().err


@pytest.mark.parametrize("requests,words", [("lenet=0", "has no positive count"), ("lenet=1.5", "whole number"),
                                            ("lenet=", "whole number"), ("lenet=1,lenet=2", "given twice"),
                                            ("lenet=-1", "out of range (fix: give a whole number in [0, 1,000,000]"), ("=3", "not NAME=COUNT")])
def test_generate_counts_are_checked(capsys, requests, words):
    assert main(["generate", "--name", "x", "--requests", requests, "--devices", "rpi3=3", "--tau", "0.6"]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def _own_network(folder, profile_name: str, table_name: str):
    """LeNet as a user's profile file named ``profile_name``, its table naming ``table_name``, and an
    instance that calls the network ``table_name`` in its "networks"."""
    from optdist.profiles import profile_path
    from tests.conftest import ROOT
    from tests.test_own_networks import lenet_doc_5

    prof = folder / "net.profile.json"
    prof.write_text(json.dumps({**json.loads(profile_path("lenet").read_text()), "cnn": profile_name}))
    table = folder / "net-privacy.json"
    table.write_text(json.dumps({**json.loads((ROOT / "models/privacy/lenet-paper.json").read_text()), "cnn": table_name}))
    doc = lenet_doc_5()
    doc["networks"] = {table_name: prof.name}
    doc["requests"][0]["cnn"] = table_name
    doc["privacy"] = {table_name: table.name}
    inst = folder / "inst.json"
    inst.write_text(json.dumps(doc))
    return prof, table, inst


def test_profile_file_takes_a_table_naming_the_network_as_the_instance_does(tmp_path, capsys):
    """The README's case: the table's "cnn" is the network's name in the instance, not the profile file's
    own name; the instance took it, `optdist profile FILE --privacy TABLE` once refused it."""
    from optdist.instance import load_instance

    prof, table, inst = _own_network(tmp_path, "Net", "mynet")
    lim = load_instance(inst).limits["mynet"]
    assert main(["profile", str(prof), "--privacy", str(table), "--tau", "0.8"]) == 0
    out = capsys.readouterr().out
    assert 'the table names the network "mynet", this profile file "Net"' in out
    assert f"split point {load_instance(inst).profiles['mynet'].layers[lim.split_point].name}" in out


def test_profile_file_refuses_a_zoo_cnns_table_with_the_fix(tmp_path, capsys):
    from tests.conftest import ROOT

    prof, _, _ = _own_network(tmp_path, "Net", "mynet")
    zoo = ROOT / "models/privacy/lenet-paper.json"
    assert main(["profile", str(prof), "--privacy", str(zoo)]) == 2
    captured = capsys.readouterr()
    assert not captured.out  # the table is resolved before anything is printed
    assert 'privacy table is for the zoo CNN "lenet", not the profile file\'s "Net" (fix: set its "cnn" to "Net"' \
        in captured.err
