"""A fresh user's defects in `optdist generate`, the device catalog, `optdist profile --module` and
`optdist schema` (gen29): each test failed before its fix."""

from __future__ import annotations

import json
import shlex

import pytest

from optdist.cli import main
from optdist.devices import DeviceCatalogError, device_catalog
from optdist.instance import load_instance
from tests.conftest import ROOT

GEN = ["generate", "--name", "g", "--requests", "lenet=2", "--devices", "rpi3=2", "--tau", "0.8"]


def _generated(tmp_path, capsys, *extra: str) -> tuple[dict, str]:
    out = tmp_path / "g.json"
    assert main([*GEN, *extra, "--out", str(out)]) == 0
    return json.loads(out.read_text()), capsys.readouterr().err


# 2. optdist generate


def test_the_instance_records_the_seed_and_the_command(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    doc, _ = _generated(tmp_path, capsys, "--seed", "7", "--sources", "2")
    assert "seed 7" in doc["description"]
    command = doc["description"].split("`")[1]
    args = shlex.split(command)
    assert args[:2] == ["optdist", "generate"] and args[args.index("--seed") + 1] == "7"
    again = tmp_path / "again.json"
    assert main([*args[1:], "--out", str(again)]) == 0  # the recorded command makes the same instance
    assert json.loads(again.read_text())["requests"] == doc["requests"]
    load_instance(again)  # the field the loader takes


def test_more_sources_than_requests_is_warned_about(tmp_path, capsys):
    doc, err = _generated(tmp_path, capsys, "--sources", "5000")
    assert len(doc["sources"]) == 2
    assert "--sources 5000: the instance has 2 sources, as there are only 2 requests" in err
    assert "fix: give --sources 2, or more requests" in err
    _, err = _generated(tmp_path, capsys)  # the default 10 is no promise: no warning
    assert "--sources" not in err


def test_fewer_sources_than_cnns_is_warned_about(tmp_path, capsys):
    out = tmp_path / "g.json"
    assert main(["generate", "--name", "g", "--requests", "lenet=2,cifar=2", "--devices", "rpi3=2", "--tau", "0.8",
                 "--sources", "1", "--out", str(out)]) == 0
    assert "--sources 1: the instance has 2 sources, as each of the 2 CNNs needs a camera of its own" \
        in capsys.readouterr().err


def test_a_network_no_request_uses_is_warned_about(tmp_path, capsys):
    prof = tmp_path / "mynet.profile.json"
    prof.write_text((ROOT / "models" / "profiles" / "lenet.json").read_text().replace('"lenet"', '"mynet"'))
    doc, err = _generated(tmp_path, capsys, "--networks", f"mynet={prof}")
    assert "networks" not in doc
    assert "--networks mynet: no request uses it, so the instance leaves it out" in err


@pytest.mark.parametrize("name", ["", "  "])
def test_an_empty_name_is_refused_with_a_fix(tmp_path, capsys, name):
    out = tmp_path / "g.json"
    assert main(["generate", "--name", name, "--requests", "lenet=2", "--devices", "rpi3=2", "--tau", "0.8",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "the instance needs a name" in err and "fix: give one, e.g. --name lenet-10" in err
    assert not out.exists()


def test_privacy_takes_a_table_per_cnn(tmp_path, capsys):
    out = tmp_path / "g.json"
    base = ["generate", "--name", "g", "--requests", "lenet=2,cifar=2", "--devices", "rpi3=2", "--tau", "0.8"]
    assert main([*base, "--privacy", "lenet=none,cifar=paper", "--out", str(out)]) == 0
    assert json.loads(out.read_text())["privacy"] == {"lenet": None, "cifar": "paper"}
    assert main([*base, "--privacy", "none,cifar=paper", "--out", str(out)]) == 0  # a bare table: the others'
    assert json.loads(out.read_text())["privacy"] == {"lenet": None, "cifar": "paper"}
    assert main([*base, "--privacy", "cifar=none", "--out", str(out)]) == 0  # the others: paper
    assert json.loads(out.read_text())["privacy"] == {"lenet": "paper", "cifar": None}
    capsys.readouterr()
    assert main([*base, "--privacy", "vgg16=none", "--out", str(out)]) == 2
    assert '--privacy names "vgg16", which --requests does not' in capsys.readouterr().err


# 3. device catalogs


def _catalog(tmp_path, devices: dict):
    path = tmp_path / "cat.json"
    path.write_text(json.dumps({"format": "optdist-device-catalog/1", "devices": devices}))
    return path


def test_an_overridden_row_cites_the_users_file(tmp_path, capsys):
    mine = ROOT / "examples" / "byon" / "mydevices.json"
    row = device_catalog(mine)["rpi4"]
    assert row["mults_per_s"] == 600e6
    assert row["source"].startswith(f"mults_per_s: {mine.resolve()}; the rest: ")
    assert device_catalog()["rpi4"]["source"] in row["source"]
    assert main(["devices", "--devices-catalog", str(mine)]) == 0
    assert f"mults_per_s: {mine.resolve()}" in capsys.readouterr().out


def test_an_override_with_its_own_source_keeps_it(tmp_path):
    path = _catalog(tmp_path, {"rpi4": {"mults_per_s": 6e8, "source": "our bench"}})
    assert device_catalog(path)["rpi4"]["source"] == "our bench"


@pytest.mark.parametrize("name", ["y=2,z", "a,b", "k=v", " cam"])
def test_a_type_generate_cannot_name_is_refused(tmp_path, name):
    path = _catalog(tmp_path, {name: {"memory": 1024, "mults_per_s": 1e6, "rate": 1e6}})
    with pytest.raises(DeviceCatalogError) as e:
        device_catalog(path)
    [p] = e.value.problems
    assert "cannot name it" in p.message and "rename it" in p.fix


def test_memory_is_a_whole_number_of_bytes(tmp_path):
    path = _catalog(tmp_path, {"cam": {"memory": 100.5, "mults_per_s": 1e6, "rate": 1e6}})
    with pytest.raises(DeviceCatalogError) as e:
        device_catalog(path)
    [p] = e.value.problems
    assert p.path == "devices.cam.memory" and "not a whole number of bytes" in p.message
    assert device_catalog(_catalog(tmp_path, {"cam": {"memory": 4e9, "mults_per_s": 1e6, "rate": 1e6}}))["cam"]["memory"] == 4e9


# 1. optdist profile --module

NETS = '''
from torch import nn
from helper import body


def net():
    return body()


def broken():
    raise RuntimeError("weights file missing")


def needs(n):
    return body()


conv = nn.Conv2d(3, 4, 3)
'''
HELPER = '''
from torch import nn


def body():
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 10))
'''


@pytest.fixture
def nets(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    folder = tmp_path / "nets" / "sub"
    folder.mkdir(parents=True)
    (folder / "a.py").write_text(NETS)
    (folder / "helper.py").write_text(HELPER)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(__import__("sys").modules, "helper", raising=False)
    yield "nets/sub/a.py"
    __import__("sys").modules.pop("helper", None)


def _profile(capsys, spec: str, shape: str, *extra: str) -> tuple[int, str]:
    rc = main(["profile", "--module", spec, "--input", shape, "--out", "o.json", *extra])
    return rc, capsys.readouterr().err


def test_a_module_imports_its_sibling_files_and_sys_path_is_restored(nets, capsys, tmp_path):
    import sys

    before = list(sys.path)
    assert _profile(capsys, f"{nets}:net", "3,8,8")[0] == 0
    assert json.loads((tmp_path / "o.json").read_text())["cnn"] == "net"
    assert sys.path == before


def test_an_input_of_the_wrong_rank_says_what_the_first_layer_takes(nets, capsys):
    rc, err = _profile(capsys, f"{nets}:net", "3,32")
    assert rc == 2
    assert "input shape [3, 32] has 2 dimension(s), but its first layer 0 (Conv2d) takes C,H,W with C = 3" in err
    rc, err = _profile(capsys, f"{nets}:net", "1,8,8")  # the right rank, the wrong channels
    assert rc == 2 and "to have 3 channels" in err and "takes C,H,W with C = 3, e.g. --input 3,32,32" in err


def test_a_builder_that_raises_is_reported_in_its_own_words(nets, capsys):
    rc, err = _profile(capsys, f"{nets}:broken", "3,8,8")
    assert rc == 2 and "broken() raised RuntimeError: weights file missing" in err and "no arguments" not in err
    rc, err = _profile(capsys, f"{nets}:needs", "3,8,8")
    assert rc == 2 and "needs cannot be called without arguments" in err


def test_an_empty_name_is_refused(nets, capsys, tmp_path):
    rc, err = _profile(capsys, f"{nets}:net", "3,8,8", "--name", "")
    assert rc == 2 and '--name "": the network needs a name' in err
    assert not (tmp_path / "o.json").exists()


def test_a_bare_layer_is_no_network(nets, capsys):
    rc, err = _profile(capsys, f"{nets}:conv", "3,8,8")
    assert rc == 2 and "the network is a single torch.nn.Conv2d" in err and "nn.Sequential(nn.Conv2d(...))" in err
    assert "directly" not in err


def test_tau_without_privacy_is_refused(capsys):
    assert main(["profile", "lenet", "--tau", "0.5"]) == 2
    assert "--tau 0.5 goes with --privacy TABLE" in capsys.readouterr().err
    assert main(["profile", "lenet", "--tau", "0.5", "--privacy", "paper"]) == 0
    assert "at tau 0.5" in capsys.readouterr().out


# 4. optdist schema


def test_schema_has_a_privacy_table_kind_that_is_published_and_current(tmp_path, capsys):
    jsonschema = pytest.importorskip("jsonschema")
    from optdist.instance import json_schema

    out = tmp_path / "t.schema.json"
    assert main(["schema", "--kind", "privacy-table", "--out", str(out)]) == 0
    schema = json.loads(out.read_text())
    assert schema == json.loads((ROOT / "instances" / "privacy-table.schema.json").read_text())
    assert schema == json.loads(json.dumps(json_schema("privacy-table")))
    for table in sorted((ROOT / "models" / "privacy").glob("*.json")):
        jsonschema.validate(json.loads(table.read_text()), schema)
    bad = json.loads((ROOT / "models" / "privacy" / "lenet-paper.json").read_text())
    bad["format"] = "optdist-privacy-table/9"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_schema_help_says_why_assignments_and_results_have_none(capsys):
    with pytest.raises(SystemExit):
        main(["schema", "--help"])
    assert "Assignment and result files have none" in " ".join(capsys.readouterr().out.split())
