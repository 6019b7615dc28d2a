"""break39: what a new user broke in the features just changed (fix39): a failed ``optdist bench``
into a folder it created left the folder with the sweep's spec.json and grid.json but no records/,
and the same command, rerun, was refused as "not a sweep's folder ... spec.json ... was not
written by optdist"."""

from __future__ import annotations

import json
import socket

import pytest

from optdist.cli import main

from .conftest import ROOT

MICRO = ROOT / "instances" / "tiny" / "micro-1x3-tau0.6.json"


def _free_port() -> int:
    """A local TCP port nothing listens at (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_bench_refused_by_its_scheduler_leaves_no_folder_and_the_same_command_reruns(tmp_path, capsys, monkeypatch):
    """Before: the second run said --out ...: not a sweep's folder (no records/), and .../spec.json exists
    and was not written by optdist; the folder, spec.json and grid.json were left behind."""
    pytest.importorskip("distributed")
    monkeypatch.chdir(ROOT)
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps({"name": "t", "instances": [str(MICRO)], "methods": ["greedy"]}))
    out = tmp_path / "new" / "o"
    address = f"tcp://127.0.0.1:{_free_port()}"
    for _ in range(2):
        assert main(["bench", str(spec), "--out", str(out), "--no-progress", "--scheduler", address]) == 2
        err = " ".join(capsys.readouterr().err.split())
        assert f"--scheduler {address}: no Dask scheduler answered" in err, err
        assert "not written by optdist" not in err
        assert not (tmp_path / "new").exists()
    assert main(["bench", str(spec), "--out", str(out), "--no-progress"]) == 0  # the local pool, same folder
    assert list((out / "records").glob("*.json")) and (out / "spec.json").is_file()


def test_a_failed_bench_into_a_folder_that_existed_keeps_it_and_reruns(tmp_path, capsys, monkeypatch):
    """A folder the user made stays as it was made (its records/ empty): a rerun is not refused."""
    pytest.importorskip("distributed")
    monkeypatch.chdir(ROOT)
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps({"name": "t", "instances": [str(MICRO)], "methods": ["greedy"]}))
    out = tmp_path / "o"
    out.mkdir()
    address = f"tcp://127.0.0.1:{_free_port()}"
    assert main(["bench", str(spec), "--out", str(out), "--no-progress", "--scheduler", address]) == 2
    capsys.readouterr()
    assert out.is_dir()
    assert main(["bench", str(spec), "--out", str(out), "--no-progress"]) == 0
