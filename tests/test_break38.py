"""break38: a new user's bad input (hand-written instances, several files, typed flags).

1. An instance named with a path separator ("a/b") or ".." was accepted, and the files made from
   it took the name: ``optdist pareto --out DIR/`` failed after the sweep with "the folder
   DIR/pareto-a does not exist (fix: mkdir -p DIR/pareto-a)", and ``train-rl``'s default --out
   ``runs/rl/..`` is ``runs``. Such a name is now a problem of the instance (field ``name``, fix).
2. ``optdist diagnose A B --json DIR`` with two instances of one name wrote both diagnoses to
   ``DIR/<name>.diagnosis.json``, the second replacing the first (each said "wrote"); a --json
   that is a file failed only after the first diagnosis ("File exists"). Both are refused before
   any diagnosis, naming the files and the fix; every instance file is read before the first one
   is diagnosed.
3. ``optdist generate --source-type rpi-4`` (or ``--devices raspberry=3``, ``--requests Lenet=2``)
   said "unknown device type ...; catalog: ..." (and "your networks: " with none) without the flag
   or a fix; now the flag, the close match and the fix.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from optdist.cli import main
from optdist.instance import InstanceError, load_instance
from tests.conftest import ROOT

MICRO = ROOT / "instances" / "tiny" / "micro-1x3-tau0.6.json"
LENET = ROOT / "instances" / "tiny" / "lenet-1x4-tau0.6.json"


def _renamed(tmp_path: Path, name: str, file: str = "inst.json") -> Path:
    doc = json.loads(MICRO.read_text())
    doc["name"] = name
    path = tmp_path / file
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("name, example", [("a/b", '"a-b"'), ("..", '"lenet-1x10"'), ("a\\b", '"a-b"')])
def test_instance_name_that_is_no_file_name_is_refused(tmp_path, name, example):
    with pytest.raises(InstanceError) as e:
        load_instance(_renamed(tmp_path, name))
    said = str(e.value)
    assert "name: name " in said and "is no file name" in said, said
    assert f'(fix: write the name without / or \\, e.g. "name": {example})' in said, said


def test_pareto_of_slashed_name_refused_before_sweep(tmp_path, capsys):
    inst = _renamed(tmp_path, "a/b")
    out = tmp_path / "front"
    out.mkdir()
    assert main(["pareto", str(inst), "--points", "2", "--out", f"{out}/"]) == 2
    assert "is no file name" in capsys.readouterr().err
    assert list(out.iterdir()) == []


def test_diagnose_two_instances_of_one_name_refused(tmp_path, capsys):
    other = _renamed(tmp_path, "micro-1x3-tau0.6", "copy.json")
    folder = tmp_path / "diag"
    assert main(["diagnose", str(MICRO), str(other), "--json", str(folder)]) == 2
    cap = capsys.readouterr()
    assert "diagnosis of" not in cap.out, cap.out
    assert f'{MICRO} and {other} are both instance "micro-1x3-tau0.6"' in cap.err, cap.err
    assert "(fix: give each instance its own \"name\", or diagnose them one at a time" in cap.err, cap.err
    assert not folder.exists()


def test_diagnose_json_file_for_several_refused_before_work(tmp_path, capsys):
    target = tmp_path / "afile"
    target.write_text("keep")
    assert main(["diagnose", str(MICRO), str(LENET), "--json", str(target)]) == 2
    cap = capsys.readouterr()
    assert "diagnosis of" not in cap.out, cap.out
    assert f"--json {target}: exists and is not a folder" in cap.err, cap.err
    assert target.read_text() == "keep"


def test_diagnose_bad_second_file_refused_before_first_diagnosis(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert main(["diagnose", str(MICRO), str(bad)]) == 2
    cap = capsys.readouterr()
    assert "diagnosis of" not in cap.out, cap.out
    assert str(bad) in cap.err


def test_diagnose_families_typo_has_fix(capsys):
    assert main(["diagnose", str(MICRO), "--families", "privacy,memry", "--no-solve"]) == 2
    assert ('--families: unknown "memry" (fix: choose from "placement", "privacy", "memory", "compute", "bandwidth", '
            "e.g. --families privacy,memory)") in capsys.readouterr().err


@pytest.mark.parametrize("args, said", [
    (["--devices", "rpi3=2", "--source-type", "rpi-4"],
     '--source-type: unknown device type "rpi-4" (fix: did you mean "rpi4"? use one of "beaglebone-ai", '),
    (["--devices", "raspberry=2"], '--devices: unknown device type "raspberry" (fix: use one of '),
    (["--devices", "rpi3=2", "--requests", "Lenet=1"],
     '--requests: unknown CNN "Lenet" (fix: did you mean "lenet"? use one of the zoo\'s CNNs: "cifar", "lenet", "micro", '
     '"vgg16", "vgg19", or name your network\'s profile file with --networks Lenet=FILE.json)'),
])
def test_generate_unknown_names_say_flag_and_fix(tmp_path, capsys, args, said):
    argv = ["generate", "--name", "g", "--tau", "0.6", "--requests", "lenet=1", *args, "--out", str(tmp_path / "g.json")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert said in err, err
    assert "your networks: \n" not in err and not (tmp_path / "g.json").exists()


ODD_NETS = '''
from torch import nn

def tiny():
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(144, 10))

def number():
    return 42

def flat_only():
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
'''


@pytest.mark.parametrize("builder, said", [
    ("tny", 'has no attribute "tny" (fix: did you mean "tiny"? it defines "flat_only", "number", "tiny")'),
    ("number", "returned int, not a torch.nn.Module (fix: return the network, e.g. def build(): return MyNet())"),
    ("flat_only", "a network needs at least two (the first and the last run on the source) (fix: profile a network"),
])
def test_profile_module_errors_give_fix(tmp_path, capsys, builder, said):
    """4. ``optdist profile --module`` of a builder name with a typo, a builder returning no module
    or a network of one layer said what was wrong but no fix (no close match for the typo)."""
    pytest.importorskip("torch")
    folder = tmp_path / "my nets é"
    folder.mkdir()
    (folder / "odd.py").write_text(ODD_NETS)
    assert main(["profile", "--module", f"{folder}/odd.py:{builder}", "--input", "1,8,8",
                 "--out", str(tmp_path / "p.json")]) == 2
    err = capsys.readouterr().err
    assert said in err, err
    assert not (tmp_path / "p.json").exists()


def test_profile_module_import_failure_gives_fix(tmp_path, capsys):
    assert main(["profile", "--module", "no_such_module_b38:net", "--input", "1,8,8", "--out", str(tmp_path / "p.json")]) == 2
    assert "(fix: run in the folder that holds it, or give its file" in capsys.readouterr().err


def test_unknown_attack_target_close_match(capsys):
    """5. ``optdist train-target lent`` (and ``calibrate lent``) said "unknown target "lent"; targets:
    ..." without the fix or the close match."""
    assert main(["train-target", "lent"]) == 2
    assert 'unknown target "lent" (fix: did you mean "lenet"? choose from "cifar", "lenet", "orlvgg"' in capsys.readouterr().err


def _victim(tmp_path: Path, source: Path = MICRO) -> tuple[Path, bytes]:
    """A copy of ``source`` (an instance file) a command is wrongly pointed at, and its bytes."""
    path = tmp_path / "mine.json"
    path.write_bytes(source.read_bytes())
    return path, path.read_bytes()


@pytest.mark.parametrize("argv", [
    ["diagnose", str(LENET), "--no-solve", "--json", "{victim}"],
    ["profile", "--module", f"{ROOT}/examples/byon/mynets.py:lenet_32_64", "--input", "1,28,28", "--out", "{victim}"],
])
def test_outputs_do_not_replace_an_instance(tmp_path, capsys, argv):
    """6. ``optdist profile --module ... --out mine.json`` and ``optdist diagnose ... --json mine.json``
    replaced the user's instance file mine.json (``solve --out`` refuses it); now refused before
    any work, naming the file, what it is and the fix."""
    if argv[0] == "profile":
        pytest.importorskip("torch")
    victim, before = _victim(tmp_path)
    assert main([a.replace("{victim}", str(victim)) for a in argv]) == 2
    err = capsys.readouterr().err
    assert f"{victim}: exists and is an optdist-instance/1 document, not " in err, err
    assert victim.read_bytes() == before


def test_generate_does_not_replace_a_profile(tmp_path, capsys):
    profile = tmp_path / "mynet.profile.json"
    profile.write_bytes((ROOT / "models" / "profiles" / "micro.json").read_bytes())
    before = profile.read_bytes()
    argv = ["generate", "--name", "g", "--requests", "lenet=1", "--devices", "rpi3=2", "--tau", "0.6", "--out"]
    assert main([*argv, str(profile)]) == 2
    assert "exists and is an optdist-profile/2 document, not optdist-instance/1" in capsys.readouterr().err
    assert profile.read_bytes() == before
    victim, _ = _victim(tmp_path)  # an instance is replaced: generating again
    assert main([*argv, str(victim)]) == 0
    assert json.loads(victim.read_text())["name"] == "g"


def test_write_profile_file_checks_its_path(tmp_path):
    from optdist.io import OutputPathError
    from optdist.profiles import load_profile, write_profile_file

    prof = load_profile("micro")
    victim, before = _victim(tmp_path)
    with pytest.raises(OutputPathError, match="exists and is an optdist-instance/1 document.*pass force=True"):
        write_profile_file(prof, victim)
    assert victim.read_bytes() == before
    with pytest.raises(OutputPathError, match="does not exist"):
        write_profile_file(prof, tmp_path / "no-such" / "p.json")
    assert not (tmp_path / "no-such").exists()
    write_profile_file(prof, victim, force=True)
    assert json.loads(victim.read_text())["cnn"] == "micro"


def _optdist(tmp_path: Path, env: dict[str, str], *argv: str):
    import os
    import subprocess
    import sys

    full = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    return subprocess.run([sys.executable, "-m", "optdist", *argv], cwd=tmp_path, env=full, capture_output=True,
                          text=True, timeout=60)


def test_an_empty_zoo_is_said(tmp_path):
    """7. With ``OPTDIST_MODELS`` naming a folder without ``profiles/`` every instance was refused with
    'unknown CNN "micro" (fix: use one of , or ...)'; now the fix says the zoo is empty and why."""
    run = _optdist(tmp_path, {"OPTDIST_MODELS": str(tmp_path / "nowhere")}, "solve", str(MICRO))
    assert run.returncode == 2
    assert 'unknown CNN "micro" (fix: use one of none (the zoo is empty: ' in run.stdout + run.stderr, run.stdout
    assert "use one of ," not in run.stdout + run.stderr


def test_an_empty_variable_is_unset(tmp_path):
    """8. ``OPTDIST_MODELS=`` (set empty, e.g. from an unset shell variable) made the working folder the
    zoo (no CNN found), ``OPTDIST_SOLVERS=`` made it the profile folder; empty is now unset."""
    run = _optdist(tmp_path, {"OPTDIST_MODELS": "", "OPTDIST_SOLVERS": ""}, "solve", str(MICRO), "-q", "--solver",
                   "highs-1thread")
    assert run.returncode == 0, run.stderr
    assert "solver highs-1thread" in run.stdout


def test_import_a_solution_of_another_formulation(tmp_path, capsys):
    """9. ``import-solution --model-file tight.lp --solution compact.sol`` (the solution of another
    formulation's export of the same instance) asked "was the model exported from this instance?",
    which it was, and gave no fix; now it says the solution is of another model and the fix."""
    from tests.helpers import exported_and_solved

    compact = tmp_path / "compact"
    compact.mkdir()
    _, sol = exported_and_solved(compact, MICRO, "--formulation", "compact")
    tight = tmp_path / "tight.lp"
    assert main(["export", str(MICRO), "--formulation", "tight", "--out", str(tight)]) == 0
    capsys.readouterr()
    assert main(["import-solution", str(MICRO), "--model-file", str(tight), "--solution", str(sol),
                 "--format", "highs"]) == 2
    err = capsys.readouterr().err
    assert f"names are not in the tight model of micro-1x3-tau0.6 that {tight} holds (e.g. " in err, err
    assert f"the solution is of another model, e.g. another --formulation's export or another instance's (fix: give " \
           f"the solution the solver wrote for {tight}, or the --model-file it solved)" in err, err


def test_a_solver_solution_given_as_a_placement_is_named(tmp_path, capsys):
    """10. ``optdist evaluate INSTANCE model.sol`` (a solver's solution of an exported model, which
    import-solution reads) said "line 1 column 1: invalid JSON: Expecting value"; now what the
    file is and the command that reads it, as for an LP model given there."""
    _, sol = exported_and_solved_here(tmp_path)
    renamed = tmp_path / "placement.txt"  # by its first line, whatever its name
    renamed.write_bytes(sol.read_bytes())
    for given in (sol, renamed):
        assert main(["evaluate", str(MICRO), str(given)]) == 2
        err = capsys.readouterr().err
        assert "(file): it is a MILP solver's solution file (CBC's, glpsol's or HiGHS's), not an assignment or " \
               f"result JSON file (fix: read it back with `optdist import-solution INSTANCE --model-file MODEL.lp " \
               f"--solution {given} --format cbc|glpk|highs`" in err, err


def exported_and_solved_here(tmp_path: Path) -> tuple[Path, Path]:
    from tests.helpers import exported_and_solved

    return exported_and_solved(tmp_path, MICRO)


def test_profile_privacy_name_that_is_no_table(capsys):
    """11. ``optdist profile lenet --privacy nope`` (a table name, not a path) ended "(fix: check the
    path, e.g. `ls` shows what is there)"; now the fix names bundled names and table files."""
    assert main(["profile", "lenet", "--privacy", "nope"]) == 2
    err = capsys.readouterr().err
    assert '--privacy "nope": no privacy table "nope" for lenet: looked at ' in err, err
    assert err.rstrip().endswith("(fix: give a bundled table's name, e.g. --privacy paper, or a table file, a path "
                                 "ending in .json)"), err


def test_readme_instance_example_is_feasible(tmp_path):
    """12. README's "Instance files" example (comments taken out) was infeasible: LeNet at tau 0.6 has
    Nf = 4 of 16 maps, so it needs 4 devices, and the example had 2 (`optdist solve` said
    "infeasible"). It now has 4 and solves to a feasible placement."""
    import re

    import optdist

    text = (ROOT / "README.md").read_text()
    block = text.split("```jsonc\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "example.json"
    path.write_text(re.sub(r"//[^\n]*", "", block))
    res = optdist.solve(optdist.load_instance(path), time_limit=30)
    assert res.evaluation.feasible, res.termination


@pytest.mark.parametrize("ext, content", [(".csv", b"my,data\n1,2\n"), (".md", b"# my notes\n"),
                                          (".png", b"\x89PNG\r\n\x1a\nnot matplotlib's")])
def test_pareto_does_not_replace_a_users_file(tmp_path, capsys, ext, content):
    """13. ``optdist pareto INSTANCE --out data.csv`` replaced the user's data.csv (and data.md,
    data.png) with the front; a file there that pareto did not write is now refused before the
    sweep. Its own files are replaced."""
    mine = tmp_path / f"data{ext}"
    mine.write_bytes(content)
    assert main(["pareto", str(MICRO), "--points", "2", "--out", str(tmp_path / "data.csv")]) == 2
    assert f"--out {mine}: exists and was not written by optdist pareto" in capsys.readouterr().err
    assert mine.read_bytes() == content
    mine.unlink()
    for _ in range(2):  # its own files: written, then replaced
        assert main(["pareto", str(MICRO), "--points", "2", "--out", str(tmp_path / "data.csv")]) == 0


def test_schema_out_does_not_replace_an_instance(tmp_path, capsys):
    """14. ``optdist schema --out mine.json`` replaced the instance mine.json with the schema; a file
    with a "format" (an optdist document) is now refused; an earlier schema is replaced."""
    victim, before = _victim(tmp_path)
    assert main(["schema", "--out", str(victim)]) == 2
    assert (f'--out {victim}: exists and is a document of format "optdist-instance/1", not a JSON Schema: writing '
            "would replace it (fix: give another --out, e.g. --out instance.schema.json)") in capsys.readouterr().err
    assert victim.read_bytes() == before
    out = tmp_path / "s.json"
    assert main(["schema", "--out", str(out)]) == 0 and main(["schema", "--kind", "profile", "--out", str(out)]) == 0


def test_write_model_creates_no_folder(tmp_path):
    """15. ``write_model(b, "/nodir/m.lp")`` (README's export from Python) created the folders
    (res.save and `optdist export --out` refuse a missing folder); now refused the same way."""
    from optdist.io import OutputPathError
    from optdist.milp import build
    from optdist.milp.export import write_model

    b = build(load_instance(MICRO), "tight")
    with pytest.raises(OutputPathError, match=r"write_model path .*m\.lp: the folder .*no-such does not exist \(fix: "):
        write_model(b, tmp_path / "no-such" / "m.lp")
    assert not (tmp_path / "no-such").exists()
    assert write_model(b, tmp_path / "m.lp").is_file()


def test_calibrate_images_that_is_a_file(tmp_path, capsys):
    """16. ``optdist calibrate --module ... --images photo.png`` (a file) said "no such folder"; now
    "a file, not a folder" and the fix."""
    pytest.importorskip("torch")
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n")
    rc = main(["calibrate", "--module", f"{ROOT}/examples/byon/mynets.py:lenet_32_64", "--input", "1,28,28",
               "--images", str(photo), "--out", str(tmp_path / "o"), "--no-progress"])
    assert rc == 2
    assert (f"--images {photo}: a file, not a folder (fix: give the folder that holds your PNG or JPEG images, e.g. "
            f"--images {tmp_path})") in capsys.readouterr().err


def test_bench_workers_with_a_scheduler_refused(tmp_path, capsys):
    """17. ``optdist bench SPEC --workers 8 --scheduler ADDRESS``: --workers was silently unread (the
    Dask cluster's workers run the sweep); the two are now refused together, before any run."""
    spec = tmp_path / "s.toml"
    spec.write_text(f'name = "s"\nout = "{tmp_path / "out"}"\ninstances = ["{MICRO}"]\nmethods = ["greedy"]\n')
    assert main(["bench", str(spec), "--workers", "8", "--scheduler", "tcp://127.0.0.1:1", "--no-progress"]) == 2
    assert ("--workers 8 sets the local pool, --scheduler tcp://127.0.0.1:1 runs the sweep on that Dask cluster's "
            "workers instead: not both (fix: leave --workers out") in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("ref, said", [("papr", 'no privacy table "papr" for lenet'),
                                       ("nope.json", 'no privacy table "nope.json" for lenet')])
def test_privacy_table_of_an_unused_cnn_is_read(tmp_path, ref, said):
    """18. A privacy entry for a zoo CNN no request uses yet ("lenet": "papr" in a micro instance)
    was never read: `optdist validate` said "ok" until a lenet request was added. Its table is now
    read and a problem named (a good one is still accepted, as before)."""
    doc = json.loads(MICRO.read_text())
    doc["privacy"] = {"micro": "synthetic", "lenet": ref}
    path = tmp_path / "inst.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InstanceError, match=said):
        load_instance(path)
    doc["privacy"]["lenet"] = "paper"
    path.write_text(json.dumps(doc))
    assert load_instance(path).content_digest() != ""


def test_bench_figures_fix_quotes_a_folder_with_a_space(tmp_path, capsys):
    """19. ``optdist bench-figures 'my runs/out'`` without --figure suggested `optdist bench-figures
    my runs/out --figure tau`, which the shell splits; the folder is now quoted, in a "(fix: ...)"."""
    out = tmp_path / "my runs é"
    (out / "records").mkdir(parents=True)
    assert main(["bench-figures", str(out)]) == 2
    assert "(fix: pass --figure NAME or list 'figures' in the spec; names: " in (err := capsys.readouterr().err), err
    assert f"e.g. `optdist bench-figures '{out}' --figure tau`" in err, err
    assert main(["bench-figures", str(out), "--figure", "nope"]) == 2
    assert 'unknown figure(s) "nope" (fix: choose from "convergence", ' in capsys.readouterr().err


def test_suggested_commands_quote_paths_with_spaces(tmp_path, capsys):
    """20. Commands suggested in a fix (`optdist evaluate A B` for swapped arguments, `--solution
    FILE` for a solution given as a placement) wrote a path with a space unquoted, which the shell
    splits on copy-paste; now quoted."""
    folder = tmp_path / "my runs"
    folder.mkdir()
    res, _ = result_and_assignment_here(folder)
    inst = folder / "inst ü.json"
    inst.write_bytes(MICRO.read_bytes())
    assert main(["evaluate", str(res), str(inst)]) == 2
    assert f"`optdist evaluate '{inst}' '{res}'`" in capsys.readouterr().err
    sol = folder / "m ü.sol"
    sol.write_text("Optimal - objective value 39.5\n")
    assert main(["evaluate", str(MICRO), str(sol)]) == 2
    assert f"--solution '{sol}' --format cbc|glpk|highs`" in capsys.readouterr().err


def result_and_assignment_here(folder: Path) -> tuple[Path, Path]:
    from tests.conftest import result_and_assignment

    return result_and_assignment(folder, MICRO)


def test_import_formulation_other_than_the_models(tmp_path, capsys):
    """21. ``import-solution --formulation compact`` of a model whose header says tight read the
    tight model's solution into the compact model (names that matched), silently; now refused."""
    from tests.helpers import exported_and_solved

    lp, sol = exported_and_solved(tmp_path, MICRO, "--formulation", "tight")
    argv = ["import-solution", str(MICRO), "--model-file", str(lp), "--solution", str(sol), "--format", "highs"]
    assert main([*argv, "--formulation", "compact"]) == 2
    assert (f"--formulation compact: {lp} holds the tight model (its header) (fix: leave --formulation out, or give "
            "--formulation tight)") in capsys.readouterr().err
    assert main([*argv, "--formulation", "tight"]) == 0


def test_calibrate_images_and_data_fix(tmp_path, capsys):
    """22. ``calibrate --images DIR --data mnist`` said "not both" without the fix."""
    pytest.importorskip("torch")
    imgs = tmp_path / "imgs"
    imgs.mkdir()
    rc = main(["calibrate", "--module", f"{ROOT}/examples/byon/mynets.py:lenet_32_64", "--input", "1,28,28",
               "--images", str(imgs), "--data", "mnist", "--out", str(tmp_path / "o"), "--no-progress"])
    assert rc == 2
    assert ("give the attacker's images one way, not both (fix: leave --data out to attack with your images, or "
            "--images out to use the bundled set)") in capsys.readouterr().err
