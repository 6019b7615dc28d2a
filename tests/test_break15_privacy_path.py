"""An instance's privacy-table file is found next to the instance, never in the working directory.

Found by the break15 tester: `resolve_table` also tried the path relative to the working
directory, so `cd work; optdist solve sub/inst.json` with `"privacy": {"micro": "t.json"}`, no
`sub/t.json` and a `work/t.json` solved under the working directory's table (the same file was
invalid when run from `sub/`), and `--out t.json` then overwrote that table, the input the solve
had read (the output check only knows the instance-relative path). Profiles and device catalogs
were already instance-relative only.
"""

from __future__ import annotations

import json
import shutil

import pytest

from optdist.cli import main
from optdist.instance import InstanceError, load_instance
from tests.conftest import ROOT

TABLE = ROOT / "models" / "privacy" / "micro-synthetic.json"


def _instance(folder, table: str = "t.json") -> dict:
    doc = json.loads((ROOT / "instances" / "tiny" / "micro-1x3-tau0.6.json").read_text())
    doc["privacy"] = {"micro": table}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "inst.json").write_text(json.dumps(doc))
    return doc


def test_a_table_of_the_working_directory_is_not_the_instances(tmp_path, monkeypatch):
    _instance(tmp_path / "sub")
    shutil.copy(TABLE, tmp_path / "t.json")  # the same CNN's table, but not next to the instance
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InstanceError) as e:
        load_instance("sub/inst.json")
    msg = str(e.value)
    assert "privacy.micro" in msg and "sub/t.json" in msg and "relative to this instance file" in msg


def test_the_table_next_to_the_instance_is_read_from_anywhere(tmp_path, monkeypatch):
    _instance(tmp_path / "sub")
    shutil.copy(TABLE, tmp_path / "sub" / "t.json")
    monkeypatch.chdir(tmp_path)
    assert load_instance("sub/inst.json").spec.privacy == {"micro": "t.json"}
    monkeypatch.chdir(tmp_path / "sub")
    assert load_instance("inst.json").spec.privacy == {"micro": "t.json"}


def test_solve_out_leaves_the_working_directorys_table_alone(tmp_path, monkeypatch, capsys):
    _instance(tmp_path / "sub")
    shutil.copy(TABLE, tmp_path / "t.json")
    before = (tmp_path / "t.json").read_bytes()
    monkeypatch.chdir(tmp_path)
    assert main(["solve", "sub/inst.json", "--threads", "1", "--out", "t.json"]) == 2
    # out29b: --out is checked first: a privacy table is no result to replace (was: privacy.micro's error)
    assert "--out t.json: exists and is an optdist-privacy-table/1 document" in capsys.readouterr().err
    assert (tmp_path / "t.json").read_bytes() == before
