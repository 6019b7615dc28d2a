"""left42: GLPK takes no seed (glpsol's ``--seed`` seeds MathProg models only) and says so where one
is given; glpsol's input-format switches (``mps``, ``math``, ``cpxlp``, ...) and ``seed`` are refused
as raw options (Pyomo's ``--cpxlp FILE`` overrode them unsaid); a privacy-table file named ``T.JSON``
is a file, not a bundled table's name; a network profile given as a privacy table says how a table
is made; ``decisions.py --out`` is checked before its training and ``slow_requests.py --requests``
errors give the fix."""

from __future__ import annotations

import json
import shutil

import pytest

from optdist.cli import main
from optdist.instance import InstanceError, files_named, load_instance
from optdist.solvers import ADAPTERS, Feature, base, get_solver
from optdist.solvers.glpk import NOT_SETTINGS

from .conftest import ROOT, load_script, refused, requires_solver

MICRO = ROOT / "instances" / "tiny" / "micro-1x3-tau0.6.json"  # privacy: micro's bundled "synthetic"
SEED_UNUSED = "solver glpk takes no seed (seed 3 given: its search makes no random choice to seed)"


@pytest.fixture
def noted_afresh():
    """A note is said once a process: said again in each test."""
    base._note_once.cache_clear()
    yield
    base._note_once.cache_clear()


def test_glpk_claims_no_seed_and_every_adapter_with_one_names_its_seed():
    assert Feature.SEED not in ADAPTERS["glpk"].features and "seed" not in ADAPTERS["glpk"].option_names
    assert all("seed" in a.option_names for a in ADAPTERS.values() if Feature.SEED in a.features)


@requires_solver("glpk")
@pytest.mark.parametrize("formulation", ["tight", "decomposed"])
def test_a_seeded_glpk_solve_says_the_seed_is_unused(tmp_path, capsys, noted_afresh, formulation):
    """``--seed 3``: a note on stderr, once, and ``extra["seed_unused"]``, the run's options keeping
    the seed asked (before: passed on as glpsol's --seed, which seeds nothing of the MIP search)."""
    out = tmp_path / "r.json"
    solve = ["solve", str(MICRO), "--formulation", formulation, "--seed", "3"]
    assert main([*solve, "--solver", "glpk", "--out", str(out)]) == 0
    assert capsys.readouterr().err.count(f"optdist: {SEED_UNUSED}\n") == 1
    doc = json.loads(out.read_text())
    assert doc["options"]["seed"] == 3 and doc["extra"]["seed_unused"] == SEED_UNUSED
    assert main([*solve, "--solver", "highs", "--out", str(tmp_path / "highs.json")]) == 0
    assert "takes no seed" not in capsys.readouterr().err
    assert "seed_unused" not in json.loads((tmp_path / "highs.json").read_text())["extra"]


@requires_solver("glpk")
@pytest.mark.parametrize("key", ["mps", "freemps", "lp", "cpxlp", "glp", "math", "mincost", "maxflow", "cnf"])
def test_glpsol_input_formats_are_refused(key):
    """Before: ``mps=`` ran (Pyomo's --cpxlp FILE came after it and won), ``cpxlp`` was "no option"."""
    with pytest.raises(ValueError) as got:
        get_solver("glpk").check_raw_options({key: ""}, "--solver-option")
    assert str(got.value) == (f'--solver-option: {key} = "": glpsol\'s --{key} {NOT_SETTINGS[key]}; optdist\'s run '
                              "of glpsol gives it the model and reads back its solution itself, and a raw option only "
                              "sets how it solves (fix: remove it)")
    assert "the input file" in NOT_SETTINGS[key]


@requires_solver("glpk")
def test_glpsol_seed_is_refused_as_raw_option(capsys):
    err = refused(main, capsys, "solve", str(MICRO), "--solver", "glpk", "--solver-option", "seed=3")
    assert "glpsol's --seed applies to a MathProg model (--math) only, not to optdist's model" in err
    assert "(fix: remove it)" in err


@pytest.mark.parametrize("name", ["T.JSON", "t.Json"])
def test_a_table_file_in_any_case_is_a_file(tmp_path, capsys, name):
    """Before: looked up as the bundled table ``models/privacy/micro-T.JSON.json``."""
    shutil.copy(ROOT / "models" / "privacy" / "micro-synthetic.json", tmp_path / name)
    doc = json.loads(MICRO.read_text())
    doc["privacy"] = {"micro": name}
    path = tmp_path / "inst.json"
    path.write_text(json.dumps(doc))
    inst = load_instance(path)
    assert inst.limits["micro"] == load_instance(MICRO).limits["micro"]
    assert tmp_path / name in files_named(doc, tmp_path)
    digest = inst.content_digest()
    (tmp_path / name).write_text((tmp_path / name).read_text().replace('"synthetic"', '"edited"'))
    assert load_instance(path).content_digest() != digest  # the file's bytes, not its name, are digested
    assert main(["validate", str(path)]) == 0
    assert main(["generate", "--name", "g", "--requests", "micro=1", "--devices", "rpi3=2", "--tau", "0.6",
                 "--privacy", str(tmp_path / name), "--out", str(tmp_path / "g.json")]) == 0
    assert json.loads((tmp_path / "g.json").read_text())["privacy"] == {"micro": name}


@pytest.fixture
def formatless_profile(tmp_path):
    """micro's profile without its (optional) "format", as a file."""
    doc = json.loads((ROOT / "models" / "profiles" / "micro.json").read_text())
    del doc["format"]
    path = tmp_path / "micro.profile.json"
    path.write_text(json.dumps(doc))
    return path


def test_a_profile_named_as_a_privacy_table_says_how_a_table_is_made(tmp_path, formatless_profile):
    """Before: six schema problems of a privacy table (a profile without "format"), or the fix
    'a bundled table name such as "paper"' (micro has none)."""
    doc = json.loads(MICRO.read_text())
    doc["privacy"] = {"micro": formatless_profile.name}
    path = tmp_path / "inst.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InstanceError) as got:
        load_instance(path)
    [p] = got.value.problems
    assert ('format: this file is a network profile (no "format", a profile\'s fields "input_shape", "layers"), '
            "not a privacy table") in p.message
    assert "make the network's table with `optdist calibrate`" in p.fix and '"paper"' not in p.fix
    assert f"optdist calibrate --module MOD:BUILDER --profile {tmp_path / formatless_profile.name}" in p.fix


@pytest.mark.parametrize("cnn", ["micro", "mynet"])
def test_generate_given_a_profile_for_a_table_says_it_is_one(tmp_path, capsys, cnn):
    """A zoo CNN's (micro) and a user's network's (mynet; before: named as a problem of the --out
    file) table given as a profile: the fix is how to make a table, not "correct the path"."""
    doc = json.loads((ROOT / "models" / "profiles" / "micro.json").read_text())
    doc["cnn"] = cnn
    prof = tmp_path / f"{cnn}.profile.json"
    prof.write_text(json.dumps(doc))
    mine = ["--networks", f"mynet={prof}"] if cnn == "mynet" else []
    err = refused(main, capsys, "generate", "--name", "g", "--requests", f"{cnn}=1", "--devices", "rpi3=2", "--tau",
                  "0.6", "--privacy", f"{cnn}={prof}", *mine, "--out", str(tmp_path / "g.json"))
    assert f'the table file for {cnn}: {prof}: 1 problem(s) in the privacy table: - format: this file is a network ' \
           'profile (format "optdist-profile/2"), not a privacy table' in err
    assert f"optdist calibrate --module MOD:BUILDER --profile {prof} --images DIR" in err
    assert "correct the path" not in err and f"or --privacy {cnn}=none)" in err


def test_decisions_out_is_checked_before_the_training(tmp_path, capsys):
    """Before: a file above --out was found after the training (NotADirectoryError, a traceback)."""
    (tmp_path / "f").write_text("x")
    decisions = load_script("benchmarks/online/decisions.py")
    with pytest.raises(SystemExit) as e:
        decisions.main(["--quick", "--out", str(tmp_path / "f" / "sub")])
    assert e.value.code == 2
    assert (f"error: --out {tmp_path / 'f' / 'sub'}: exists and is not a folder, or a folder above it "
            "is a file (fix: move that file away, or give another --out)") in capsys.readouterr().err


REQUESTS_FIX = "(fix: give a whole number of requests >= 2 (the first has no previous request to compare with), e.g. --requests 10)"


@pytest.mark.parametrize("argv, said", [
    (["--requests", "0"], f"--requests 0 is out of range {REQUESTS_FIX}"),
    (["--requests", "x"], f"--requests x is not a whole number {REQUESTS_FIX}"),
    (["--instance", "lenet-10x10-tau0.8", "--requests", "11"],
     "--requests 11: lenet-10x10-tau0.8 has 10 requests (fix: give 2 to 10, e.g. --requests 10)"),
])
def test_slow_requests_flags_give_the_fix(capsys, argv, said):
    slow = load_script("benchmarks/online/slow_requests.py")
    with pytest.raises(SystemExit) as e:
        slow.main(argv)
    assert e.value.code == 2 and f"error: {said}\n" in capsys.readouterr().err
