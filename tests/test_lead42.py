"""File names in upper case (``P.JSON``) are files wherever optdist takes a file or a name
(:func:`optdist.jsonfile.is_json_name`): before, ``optdist profile P.JSON`` looked up a zoo CNN
called "P.JSON" and ``optdist.solve(warm_start="r.JSON")`` said it was neither a method nor a file."""

from __future__ import annotations

import shutil

import pytest

import optdist
from optdist.cli import main
from optdist.instance import load_instance
from optdist.paths import INSTANCES_DIR, MODELS_DIR
from tests.conftest import load_script, requires_solver
from tests.test_fix40 import micro_spec


def test_a_profile_file_named_in_upper_case_is_read_as_a_file(tmp_path, capsys, monkeypatch):
    shutil.copy(MODELS_DIR / "profiles" / "lenet.json", tmp_path / "P.JSON")
    monkeypatch.chdir(tmp_path)
    assert main(["profile", "P.JSON"]) == 0
    assert "# lenet: 9 layers" in capsys.readouterr().out


def test_a_missing_warm_start_file_in_upper_case_is_said_missing(tmp_path):
    inst = load_instance(INSTANCES_DIR / "paper" / "lenet-1x10-tau0.6.json")
    with pytest.raises(FileNotFoundError, match="not found"):
        optdist.solve(inst, warm_start=str(tmp_path / "r.JSON"), time_limit=5)


@pytest.mark.parametrize("value, said", [("x", "is not a whole number"), ("2.5", "is not a whole number"),
                                         ("0", "is out of range")])
def test_decision_split_requests_that_are_no_count_say_the_fix(value, said, capsys):
    """``decision_split.py --requests x`` was argparse's "invalid int value" with no fix (left42 noticed it)."""
    mod = load_script("benchmarks/online/decision_split.py")
    with pytest.raises(SystemExit) as e:
        mod.main(["--requests", value])
    err = capsys.readouterr().err
    assert e.value.code == 2 and said in err and "(fix: give a whole number of requests, at least 2" in err


def test_a_bench_spec_over_seeds_says_once_that_glpk_takes_none(tmp_path, capsys):
    """GLPK has no :attr:`Feature.SEED` (left42): a sweep over ``seeds`` with GLPK repeats one run, so
    it is said once where the sweep starts (as for threads), for GLPK and not HiGHS; before, only in
    each run's log."""
    spec = micro_spec(tmp_path, ["glpk", "highs"], 'formulations = ["tight"]\nseeds = [0, 1, 2]\nseeded_methods = ["milp"]\n')
    assert main(["bench", str(spec), "--dry-run"]) == 0
    err = capsys.readouterr().err
    assert err.count(f"optdist: {spec}: solver glpk takes no seed (seed 0 given") == 1 and "highs" not in err


def test_an_unknown_model_format_lists_the_formats_as_text_not_a_python_tuple(tmp_path, capsys):
    """``optdist export --out z.txt`` said "use one of ('lp', 'mps')" (break42 noticed it)."""
    assert main(["export", str(INSTANCES_DIR / "paper" / "lenet-1x10-tau0.6.json"), "--out", str(tmp_path / "z.txt")]) == 2
    err = capsys.readouterr().err
    assert 'use one of "lp", "mps"' in err and "('lp'" not in err


def test_decisions_out_empty_is_refused_before_training(tmp_path, monkeypatch, capsys):
    """``decisions.py --out ''`` was ``Path('.')``: it trained, then wrote decisions.csv/.md into the working
    folder (verify42 noticed it); optdist's own --out refuses an empty value, and so does this now."""
    mod = load_script("benchmarks/online/decisions.py")
    monkeypatch.setattr(mod, "train", lambda *a, **k: pytest.fail("trained before refusing"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as e:
        mod.main(["--quick", "--out", ""])
    assert e.value.code == 2 and "--out is empty (fix: give a folder" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


@requires_solver("glpk")  # glpsol's option names come from `glpsol --help`
def test_a_raw_seed_for_glpk_does_not_point_to_the_seed_flag_it_ignores(capsys):
    """GLPK takes no seed (left42): ``--solver-option SEED=5`` suggested "optdist's flag for it: --seed 5",
    a flag that is noted and not passed to glpsol (verify42 noticed it)."""
    assert main(["solve", str(INSTANCES_DIR / "paper" / "lenet-1x10-tau0.6.json"), "--solver", "glpk",
                 "--solver-option", "SEED=5"]) == 2
    err = capsys.readouterr().err
    assert "optdist's --seed is not passed to this solver" in err and "--seed 5" not in err


def test_a_close_name_that_starts_with_the_word_wins_a_tie(capsys):
    """``optdist dp-effect vgg16 ReLU2`` suggested ReLU52 (difflib breaks a tie by the larger string;
    break42 noticed it): of names equally close, one that starts with the word is offered."""
    from optdist.names import closest

    assert closest("ReLU2", ["ReLU11", "ReLU12", "ReLU21", "ReLU22", "ReLU52"]) in ("ReLU21", "ReLU22")
    assert closest("rpi5", ["rpi3", "rpi4"]) == "rpi4"  # no prefix: as before
    assert main(["dp-effect", "vgg16", "ReLU2", "--eps", "1"]) == 2
    assert "did you mean ReLU2" in capsys.readouterr().err
