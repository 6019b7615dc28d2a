"""break14: benchmarks/online/decisions.py --quick (a LeNet-only smoke run) overwrote the
committed full decisions.{csv,md}; it now prints, and writes only with --out DIR."""

from __future__ import annotations

import hashlib
import importlib.util

import pytest

from .conftest import ROOT

HERE = ROOT / "benchmarks" / "online"


@pytest.fixture
def decisions():
    spec = importlib.util.spec_from_file_location("decisions_under_test", HERE / "decisions.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _digest() -> tuple[str, str]:
    return tuple(hashlib.sha256((HERE / f).read_bytes()).hexdigest() for f in ("decisions.csv", "decisions.md"))


def test_out_must_be_a_folder_and_bad_flags_exit_2(decisions, tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    for args, said in ((["--quick", "--out", str(tmp_path / "f")], "not a folder"), (["--bogus"], "unrecognized")):
        with pytest.raises(SystemExit) as e:
            decisions.main(args)
        assert e.value.code == 2 and said in capsys.readouterr().err


@pytest.mark.slow
def test_quick_leaves_the_committed_table_and_writes_only_to_out(decisions, tmp_path, capsys):
    before = _digest()
    assert decisions.main(["--quick"]) == 0
    assert _digest() == before and "| lenet-10x10-tau0.8 | masked" in capsys.readouterr().out
    assert decisions.main(["--quick", "--out", str(tmp_path / "o")]) == 0
    assert _digest() == before
    md = (tmp_path / "o" / "decisions.md").read_text()
    assert "decisions.py --quick" in md and (tmp_path / "o" / "decisions.csv").exists()


def test_decision_split_refuses_more_requests_than_the_load_has(tmp_path, capsys):
    """decision_split.py --requests N places the first N of the 250 VGG16 requests and divides
    each part's CPU time by N - 1: N > 250 placed 250 and divided by N - 1, understating every
    part (verify14). It now exits 2 before placing anything."""
    spec = importlib.util.spec_from_file_location("decision_split_under_test", HERE / "decision_split.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for n, said in ((251, "at most 250"), (1, "at least 2")):
        with pytest.raises(SystemExit) as e:
            mod.main(["--requests", str(n)])
        assert e.value.code == 2 and said in capsys.readouterr().err


def test_baselines_help_prints_usage_and_runs_nothing(tmp_path, monkeypatch, capsys):
    """benchmarks/online/baselines.py read no arguments: ``--help`` ran the whole benchmark
    (30 placements of 250 requests, minutes) and rewrote baselines.{csv,md} (verify14)."""
    spec = importlib.util.spec_from_file_location("baselines_under_test", HERE / "baselines.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    monkeypatch.setattr(mod, "HERE", tmp_path)
    monkeypatch.setattr(mod.optdist, "solve", lambda *a, **k: pytest.fail("--help placed requests"))
    with pytest.raises(SystemExit) as e:
        mod.main(["--help"])
    assert e.value.code == 0 and "usage:" in capsys.readouterr().out
    with pytest.raises(SystemExit) as e:
        mod.main(["--bogus"])
    assert e.value.code == 2
    assert not list(tmp_path.iterdir())
