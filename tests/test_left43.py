"""left43: small defects the last sessions left, each with a test that fails on the old code.

1. ``optdist pareto --out new/`` (a folder not there yet) was refused ("the folder new does not exist"),
   while bench, train-rl and calibrate make the folder their --out names: a name ending in / is made,
   with its parents, once a point is solved; a prefix in a missing folder is still refused with the fix.
2. ``optdist export --out DIR`` (an existing folder) suggested ``DIR/result.json`` for an LP/MPS model
   (:func:`optdist.io.check_replaceable`): each command's fix names what it writes (``DIR/model.lp``,
   ``DIR/model.mps``, import-solution's ``DIR/assignment.json``).
3. ``optdist calibrate --maps 999`` (more maps than any attacked layer has) only warned and measured m = P:
   exit 2 naming --maps, the layers' map counts and the fix, before the target is trained.
4. ``optdist export`` of a large model built (and wrote) for minutes without a word: it says the model's
   size and a time hint first, then each step built, on the ``optdist.progress`` logger (``-q``: not).
5. ``optdist bench --scheduler ADDRESS`` with nothing listening drew the sweep's bar (1/1, 100 %, for a
   sweep whose runs were all recorded) before its error: the bar is drawn once the executor is there.
6. ``import-solution --format sol`` refused a SCIP ``.sol`` file with a UTF-8 byte-order mark (a Windows
   editor's); .solu reference files too: both are read as ``utf-8-sig``.
7. A ``seed`` in a GLPK solver profile's ``[options]`` was said only in each run's log, not once where a
   bench sweep starts, as a ``seed`` among the spec's options is (verify42).

(8. ``optdist solve`` stopped by SIGTERM already does what SIGINT does, exit 143 for 130: the solver
stopped, its incumbent written whole to --out; a second signal, or one before the run, writes nothing
and says "optdist solve: terminated (SIGTERM)"; test_cli23 and test_solve_safety hold it. No change.)
"""

from __future__ import annotations

import pytest

from optdist.cli import main
from tests.conftest import ROOT
from tests.helpers import scip_solved

from .test_fix39 import MICRO
from .test_fix40 import micro_spec

LENET = ROOT / "instances" / "paper" / "lenet-1x10-tau0.6.json"


# --- 1. pareto's --out FOLDER/ -----------------------------------------------------------------------------------


def test_pareto_makes_the_folder_an_out_ending_in_a_slash_names(tmp_path, capsys, monkeypatch):
    """Before: "--out new/deeper/pareto-micro-1x3-tau0.6.csv: the folder new/deeper does not exist", exit 2."""
    monkeypatch.chdir(tmp_path)
    assert main(["pareto", str(MICRO), "--points", "2", "--out", "new/deeper/"]) == 0
    assert sorted(p.name for p in (tmp_path / "new" / "deeper").iterdir()) == [
        f"pareto-micro-1x3-tau0.6{ext}" for ext in (".csv", ".md", ".png")]
    (tmp_path / "afile").write_text("x")
    capsys.readouterr()
    assert main(["pareto", str(MICRO), "--points", "2", "--out", "afile/sub/"]) == 2  # a file in the way: before
    assert "--out afile/sub: exists and is not a folder, or a folder above it is a file (fix:" in capsys.readouterr().err
    assert main(["pareto", str(MICRO), "--points", "2", "--out", "missing/front"]) == 2  # a prefix: no folder made
    assert ("the folder missing does not exist (fix: create it first, mkdir -p missing" in capsys.readouterr().err
            and not (tmp_path / "missing").exists())


# --- 2. the fix of an --out that is a folder names what the command writes --------------------------------------


@pytest.mark.parametrize("args, example", [
    (["export", str(MICRO)], "model.lp"),
    (["export", str(MICRO), "--format", "mps"], "model.mps"),
    (["import-solution", str(MICRO), "--model-file", "m.lp", "--solution", "m.sol"], "assignment.json"),
])
def test_an_out_folder_is_refused_with_a_file_name_of_what_the_command_writes(tmp_path, capsys, args, example):
    """Before: "(fix: give a file name in it, e.g. DIR/result.json)" for a model or an assignment."""
    assert main([*args, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"--out {tmp_path} is a directory (fix: give a file name in it, e.g. {tmp_path / example})" in err, err


# --- 3. calibrate --maps above every layer's map count ----------------------------------------------------------


def test_calibrate_refuses_maps_no_attacked_layer_has_before_any_training(tmp_path, capsys):
    """LeNet's conv1 has 8 maps. Before: a warning, then the attack of m = 8 alone (the old code runs
    this short one to its end: 1 epoch, few images; the new one trains nothing)."""
    rc = main(["calibrate", "lenet", "--layers", "conv1", "--maps", "999,4", "--epochs", "1", "--samples", "64",
               "--test-samples", "16", "--subsets", "1", "--no-progress", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert ("--maps 999,4: 999 is more maps than any attacked layer has (conv1: 8), so no layer could be attacked "
            "with it (fix: give m values of at most 8, e.g. --maps 8,4, or leave --maps out for P, P/2, ..., 1)") in err
    assert not (tmp_path / "out").exists()


# --- 4. export says a long build's size, time and steps ---------------------------------------------------------


def test_export_says_a_long_builds_size_and_steps_unless_quiet(tmp_path, capsys, monkeypatch):
    """Every build counts as long with the threshold at 0 (a per-map model of a 250-request instance,
    billions of variables, is long at the real 3 s; MICRO's model builds in a moment)."""
    from optdist.milp import run

    assert main(["export", str(MICRO), "--out", str(tmp_path / "a.lp")]) == 0
    assert capsys.readouterr().err == ""  # a short build says nothing
    monkeypatch.setattr(run, "PROGRESS_AFTER_S", 0.0)
    assert main(["export", str(MICRO), "--formulation", "per-map", "--out", str(tmp_path / "b.lp")]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("optdist: building the per-map model of micro-1x3-tau0.6: ~"), lines
    assert " variables, ~0 s to 0 s (at ~200,000 to 20,000 variables/s)" in lines[0], lines
    assert any(x.endswith("s  variables built") for x in lines) and any(x.endswith("s  stage_time built") for x in lines)
    assert lines[-1].endswith(f"s  model built; writing {tmp_path / 'b.lp'}"), lines
    assert main(["export", str(MICRO), "--out", str(tmp_path / "c.lp"), "-q"]) == 0
    assert capsys.readouterr().err == ""


# --- 5. no progress bar before a scheduler's error --------------------------------------------------------------


def test_a_scheduler_that_does_not_answer_draws_no_bar(tmp_path, capsys, monkeypatch):
    """Before: "s:   0%|          | 0/1 [00:00<?, ?run/s]" before the error, and again after it."""
    pytest.importorskip("distributed")
    from optdist.bench import runner

    monkeypatch.setattr(runner, "SCHEDULER_CONNECT_S", 1.0)  # nothing listens on port 1: the wait is the timeout
    spec = tmp_path / "s.toml"
    spec.write_text(f'name = "s"\nout = "{tmp_path / "out"}"\ninstances = ["{MICRO}"]\nmethods = ["greedy"]\n')
    assert main(["bench", str(spec), "--scheduler", "tcp://127.0.0.1:1"]) == 2
    err = capsys.readouterr().err
    assert "--scheduler tcp://127.0.0.1:1: no Dask scheduler answered" in err and "run/s" not in err, err


# --- 6. a UTF-8 byte-order mark -----------------------------------------------------------------------------------


def test_a_scip_sol_file_with_a_byte_order_mark_is_read(tmp_path, capsys):
    """Before: 'line 1: value "status:" is not a finite number' (the mark hid "solution status:")."""
    model, sol = scip_solved(tmp_path, MICRO)
    sol.write_bytes(b"\xef\xbb\xbf" + sol.read_bytes())
    capsys.readouterr()
    rc = main(["import-solution", str(MICRO), "--model-file", str(model), "--solution", str(sol), "--format", "sol"])
    assert rc == 0, capsys.readouterr().err


def test_a_solu_file_with_a_byte_order_mark_is_read_and_merged(tmp_path):
    """Before: 'solu:1: "\\ufeff=opt= a 1.5" is not a .solu line'."""
    from optdist.bench.solu import Reference, read_solu, write_solu

    solu = tmp_path / "ref.solu"
    solu.write_bytes("\ufeff=opt= a 1.5\n".encode())
    assert read_solu(solu)["a"].opt == 1.5
    write_solu(solu, {"a": read_solu(solu)["a"], "b": Reference(best=2.0)})
    lines = solu.read_text(encoding="utf-8").splitlines()  # the line kept in place, as written, without the mark
    assert lines[0] == "=opt= a 1.5" and lines[1].split() == ["=best=", "b", "2"], lines


# --- 7. a solver profile's seed, said once where the sweep starts -----------------------------------------------


def test_a_glpk_profiles_seed_is_said_once_where_the_sweep_starts(tmp_path, capsys):
    """As a ``seed`` among the spec's options is (test_verify42): before, nothing was said there."""
    profile = tmp_path / "glpk-seed.toml"
    profile.write_text('name = "glpk-seed"\nsolver = "glpk"\ndescription = "GLPK, seeded"\n\n[options]\nseed = 4\n')
    spec = micro_spec(tmp_path, [str(profile), "highs"], 'formulations = ["tight", "compact"]\n')
    assert main(["bench", str(spec), "--dry-run"]) == 0
    err = capsys.readouterr().err
    assert err.count(f"optdist: {spec}: solver profile {profile}: solver glpk takes no seed (seed 4 given") == 1, err
    assert "highs" not in err, err
