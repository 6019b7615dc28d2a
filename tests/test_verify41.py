"""verify41: what a fresh engineer broke in this session's changes.

1. A solver profile whose own ``[solver_options]`` glpsol cannot run together (``btf`` without
   ``cbg`` or ``cgr``), with no ``--solver-option``, was refused only once the model was built, as
   "solver_options: btf without cbg or cgr", naming neither the profile nor its file; now before
   the model is built, naming the profile and its file (the Python API names them too).
2. The same with a ``--solver-option`` that completes the refusal (``ft`` beside a profile's
   ``btf``/``cbg``) named only ``--solver-option``, and its fix said "give cbg or cgr with btf, and
   remove ft, e.g. --solver-option cbg=", cbg given; now the profile too, and the fix "remove ft".
3. ``ini`` naming a folder or ``/dev/null`` said "no such file", which is there; now "not a file".
4. A bench spec whose solvers axis names such a profile, the spec giving no raw options, was
   accepted (``--dry-run``: "2 of 2 runs to do") and every run of it failed; now refused naming the
   spec and the profile's file.
5. A bench spec at ``threads = 4`` over a GLPK profile and ``glpk`` noted "solver glpk runs on one
   thread" twice, once per name; now once.
6. ``optdist validate TABLE A.json B.json`` with two profile files of the table's network whose
   layers differ checked the table against the first given alone: the same files in another order
   said "ok" where this order said INVALID. Now the second profile file is INVALID, naming the first.
7. ``optdist calibrate --module ... --name ""`` ran every attack (72 s here) and then failed with
   pydantic's "1 validation error for PrivacyTable ... string_too_short", naming neither the flag
   nor the fix; ``--name " "`` wrote "CNN- .json". Now refused before the attacks.
"""

from __future__ import annotations

import json
import re

import pytest

from optdist.bench.spec import load_spec
from optdist.cli import main
from optdist.solve import solve

from .conftest import ROOT, requires_solver
from .test_break40 import refused_in_an_empty_folder
from .test_break41 import BYON, own_lenet
from .test_fix39 import MICRO
from .test_fix40 import micro_spec
from .test_left41 import BTF, ONE_THREAD


def _profile(tmp_path, options: str, name: str = "glpk-btf"):
    """A GLPK solver profile ``tmp_path/NAME.toml`` with the TOML lines ``options`` as its ``[solver_options]``."""
    path = tmp_path / f"{name}.toml"
    path.write_text(f'name = "{name}"\nsolver = "glpk"\n\n[solver_options]\n{options}\n')
    return path


@requires_solver("glpk")
def test_a_profiles_own_btf_without_its_update_names_the_profile_before_the_build(tmp_path, monkeypatch, capsys):
    profile = _profile(tmp_path, 'btf = ""')
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    mine = f"the [solver_options] of solver profile glpk-btf ({profile})"
    assert main(["solve", str(MICRO), "--solver", str(profile), "--formulation", "tight", "--out", "r.json"]) == 2
    assert capsys.readouterr().err == (f"optdist solve: error: {mine}: btf without cbg or cgr: {BTF}, "
                                       'e.g. cbg = "")\n')  # all it says: before the instance is read
    assert list(work.iterdir()) == []
    with pytest.raises(ValueError, match=f"^{re.escape(mine)}: btf without"):
        solve(MICRO, formulation="tight", solver=str(profile))
    assert main(["-q", "solve", str(MICRO), "--solver", str(profile), "--formulation", "tight",
                 "--solver-option", "cgr="]) == 0  # the call completes it


@requires_solver("glpk")
def test_the_apis_solver_options_refused_with_a_profiles_options_name_both(tmp_path):
    """``optdist.solve(solver=PROFILE, solver_options=...)`` merges the call's options into the
    profile's: a refusal names both, not the profile's alone."""
    profile = _profile(tmp_path, 'cuts = ""', "glpk-cuts")
    mine = f"solver_options with the [solver_options] of solver profile glpk-cuts ({profile})"
    with pytest.raises(ValueError, match=f"^{re.escape(mine)}: btf without cbg or cgr: "):
        solve(MICRO, formulation="tight", solver=str(profile), solver_options={"btf": ""})


@requires_solver("glpk")
def test_a_solver_option_refused_with_a_profiles_options_names_both(tmp_path, capsys):
    profile = _profile(tmp_path, 'btf = ""\ncbg = ""')
    assert main(["solve", str(MICRO), "--solver", str(profile), "--formulation", "tight",
                 "--solver-option", "ft="]) == 2
    assert capsys.readouterr().err == (
        f"optdist solve: error: --solver-option with the [solver_options] of solver profile glpk-btf ({profile}): "
        f"btf with ft: {BTF.rsplit(' (fix: ', 1)[0]} (fix: remove ft)\n")  # cbg is given: not "give cbg"


@requires_solver("glpk")
@pytest.mark.parametrize("where", [".", "/dev/null"])  # the folder it runs in
def test_a_glpsol_basis_file_that_is_no_file_says_so(where, tmp_path, monkeypatch, capsys):
    _key, _value, err = refused_in_an_empty_folder("glpk", f"ini={where}", tmp_path, monkeypatch, capsys)
    assert err.startswith(f'optdist solve: error: --solver-option: ini = "{where}": not a file (glpsol\'s --ini ')


@requires_solver("glpk")
def test_a_bench_spec_over_a_profile_whose_own_options_glpsol_cannot_run_is_refused(tmp_path):
    profile = _profile(tmp_path, 'btf = ""')
    spec = micro_spec(tmp_path, ["glpk", str(profile)], 'formulations = ["tight"]\n')
    with pytest.raises(ValueError) as got:
        load_spec(spec)
    assert str(got.value) == (f"{spec}: the [solver_options] of solver profile glpk-btf ({profile}): btf without cbg "
                              f'or cgr: {BTF}, e.g. cbg = "")')


def test_a_bench_spec_notes_one_thread_once_for_a_glpk_profile_and_glpk(tmp_path, capsys):
    profile = _profile(tmp_path, 'cuts = ""', "glpk-cuts")
    spec = micro_spec(tmp_path, ["glpk", str(profile)], 'formulations = ["tight"]\nthreads = 4\n')
    assert main(["bench", str(spec), "--dry-run"]) == 0
    assert capsys.readouterr().err.count(ONE_THREAD) == 1


def test_validate_refuses_a_second_profile_of_the_tables_network_with_other_layers(tmp_path, capsys):
    prof, table, _ = own_lenet(tmp_path)  # its one row, fc1, fits the LeNet layers of "mynet"
    other = json.loads((ROOT / "models" / "profiles" / "cifar.json").read_text())
    other["cnn"] = "mynet"
    prof2 = tmp_path / "mynet-v2.profile.json"
    prof2.write_text(json.dumps(other))
    assert main(["validate", str(table), str(prof), str(prof2)]) == 1
    out = capsys.readouterr().out
    assert (f'{prof2}: INVALID, 1 problem(s)\n  cnn: "mynet" is the network of {prof} too, given here before with '
            'other layers: a privacy table of "mynet" is checked against that one\n      fix: give one profile file of '
            '"mynet", or name this network otherwise ("cnn"; `optdist profile --name`)\n') in out, out
    assert main(["validate", str(prof), str(prof2)]) == 0  # no table of it: two versions of a network are fine
    capsys.readouterr()


@pytest.mark.parametrize("name", ["", " "])
def test_calibrate_with_an_empty_table_name_is_refused_before_the_attacks(name, tmp_path, capsys):
    pytest.importorskip("torch")
    out = tmp_path / "out"
    out.mkdir()
    assert main(["calibrate", "--module", f"{BYON / 'mynets.py'}:lenet_32_64", "--input", "1,28,28", "--data",
                 "natural", "--layers", "0", "--maps", "1", "--name", name, "--out", str(out)]) == 2
    assert capsys.readouterr().err.endswith(
        f'optdist calibrate: error: --name "{name}" is empty: the table and the files calibrate writes take it '
        "(fix: give a name, e.g. --name calibrated)\n")
    assert list(out.iterdir()) == []


def test_validate_names_a_table_whose_cnn_is_no_text(tmp_path, capsys):
    """A table whose ``"cnn"`` is a list (the privacy fuzz test's case): validate's scan for the
    networks of the tables given raised "unhashable type: 'list'", an internal error (exit 3); now
    the table's own check names the field (exit 1)."""
    doc = {"format": "optdist-privacy-table/1", "cnn": [], "name": "fuzz", "ssim_decimals": None,
           "rows": [{"tensor": "conv1", "maps": 8, "cells": {}, "full_map_ssim": 0.0}]}
    table = tmp_path / "t.json"
    table.write_text(json.dumps(doc))
    assert main(["validate", str(table)]) == 1
    err = capsys.readouterr()
    assert "internal error" not in err.err and f"{table}" in err.out + err.err and "cnn" in err.out + err.err
