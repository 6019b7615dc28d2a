"""break14: ``optdist bench --scheduler`` with no Dask scheduler there, or without Dask, names the
flag and the fix (was 'Timed out trying to connect ...' / an ImportError); ``--workers 0`` names
the flag (was 'max_workers must be greater than 0')."""

from __future__ import annotations

import json
import sys

import pytest

from optdist.cli import main

from .conftest import ROOT


def _spec(tmp_path):
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps({"name": "t", "out": str(tmp_path / "o"), "instances": ["instances/tiny/micro-1x3-tau0.6.json"],
                                "methods": ["greedy"]}))
    return spec


@pytest.mark.parametrize("workers", ["0", "-2", "x"])
def test_workers_outside_the_range_name_the_flag(tmp_path, capsys, workers):
    assert main(["bench", str(_spec(tmp_path)), "--workers", workers]) == 2
    assert f"--workers {workers} is " in capsys.readouterr().err


def test_a_malformed_scheduler_address_is_named(tmp_path, capsys, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.chdir(ROOT)
    assert main(["bench", str(_spec(tmp_path)), "--no-progress", "--scheduler", "foo://bar"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "--scheduler foo://bar: not an address a Dask scheduler can be reached at" in err  # break39: its fix
    assert "tcp://HOST:PORT" in err and "leave --scheduler out" in err
    assert not list((tmp_path / "o" / "records").glob("*.json"))


def test_without_dask_the_scheduler_flag_says_what_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    assert main(["bench", str(_spec(tmp_path)), "--no-progress", "--scheduler", "tcp://127.0.0.1:8786"]) == 2
    assert "pip install distributed" in capsys.readouterr().err
