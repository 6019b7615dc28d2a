"""out29b: the CLI's --out of a placement, a refused bench's folders, --warm-start's spelling.

1. ``optdist solve INST --out other.json`` (another instance, or someone's ``{"a": 1}``) and
   ``optdist import-solution ... --out inst-copy.json`` replaced the file with a result and exited
   0, while ``SolveResult.save`` refuses it (``optdist.io.check_overwritable``): now refused
   before the run, exit 2, naming the file and what it is. A result or assignment file, an empty
   file or no file is still written.
2. ``optdist bench SPEC`` refused (tables_dir a file or not creatable, an instances entry that is
   no instance) left an empty spec ``out`` folder behind; ``--out ""`` wrote into the current folder.
3. ``--warm-start R.JSON`` was "neither a method nor a .json file"; ``--warm-start gredy`` named
   no "did you mean greedy?".
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from optdist.cli import main
from tests.conftest import ROOT
from tests.helpers import exported_and_solved

TINY = ROOT / "instances" / "tiny"
MICRO = TINY / "micro-1x3-tau0.6.json"


def _flat(text: str) -> str:
    return " ".join(text.split())


# --- 1. --out never replaces a file that is no optdist result or assignment ------------------------

@pytest.mark.parametrize("kind", ["instance", "other-json"])
def test_solve_out_refuses_a_file_that_is_no_result(tmp_path, capsys, kind):
    out = tmp_path / "other.json"
    if kind == "instance":
        shutil.copy(TINY / "micro-2x3-tight.json", out)
    else:
        out.write_text('{"a": 1}\n')
    before = out.read_bytes()
    assert main(["solve", str(MICRO), "--method", "greedy", "--out", str(out)]) == 2  # was 0, the file replaced
    assert out.read_bytes() == before
    err = _flat(capsys.readouterr().err)
    what = "an optdist-instance/1 document" if kind == "instance" else "not an optdist document"
    assert f"--out {out}: exists and is {what}" in err, err
    assert "fix: give another --out, or remove the file first" in err


@pytest.mark.parametrize("kind", ["result", "empty", "missing"])
def test_solve_out_still_writes_a_result_an_empty_or_no_file(tmp_path, kind):
    out = tmp_path / "r.json"
    if kind == "result":
        assert main(["solve", str(MICRO), "--method", "greedy", "--out", str(out)]) == 0
    elif kind == "empty":
        out.write_text("")
    assert main(["solve", str(MICRO), "--method", "greedy", "--out", str(out)]) == 0
    assert json.loads(out.read_text())["format"] == "optdist-result/1"


def test_solve_out_refused_before_the_run(tmp_path, capsys):
    """The check comes before the run: no instance load, no solve (an instance copy is kept whole)."""
    out = tmp_path / "inst-copy.json"
    shutil.copy(MICRO, out)
    assert main(["solve", str(MICRO), "--method", "milp", "--time-limit", "30", "--out", str(out)]) == 2
    assert out.read_bytes() == MICRO.read_bytes()
    assert "optdist-instance/1" in capsys.readouterr().err


def test_import_solution_out_refuses_an_instance_copy(tmp_path, capsys):
    lp, sol = exported_and_solved(tmp_path, MICRO)
    out = tmp_path / "inst-copy.json"
    shutil.copy(MICRO, out)
    args = ["import-solution", str(MICRO), "--model-file", str(lp), "--solution", str(sol), "--format", "highs"]
    assert main([*args, "--out", str(out)]) == 2  # was 0, the instance copy replaced by an assignment
    assert out.read_bytes() == MICRO.read_bytes()
    err = _flat(capsys.readouterr().err)
    assert f"--out {out}: exists and is an optdist-instance/1 document" in err, err
    fine = tmp_path / "a.json"
    assert main([*args, "--out", str(fine)]) == 0
    assert main([*args, "--out", str(fine)]) == 0  # its own assignment: replaced
    assert json.loads(fine.read_text())["format"] == "optdist-assignment/1"


# --- 2. a refused bench leaves no folder; --out "" -------------------------------------------------

def _spec(tmp_path: Path, instance: Path = MICRO, name: str = "o29b", **fields: str) -> Path:
    """A greedy sweep spec of ``instance`` in ``tmp_path/spec.toml``, out ``tmp_path/runs/NAME``, plus ``fields``."""
    lines = [f'name = "{name}"', f'instances = ["{instance}"]', 'methods = ["greedy"]',
             f'out = "{tmp_path / "runs" / name}"']
    lines += [f"{k} = {v}" for k, v in fields.items()]
    path = tmp_path / "spec.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("problem", ["tables_dir-a-file", "tables_dir-not-creatable", "not-an-instance"])
def test_a_refused_bench_leaves_no_out_folder(tmp_path, capsys, problem):
    if problem == "tables_dir-a-file":
        (tmp_path / "t.txt").write_text("")
        spec = _spec(tmp_path, tables_dir=f'"{tmp_path / "t.txt"}"')
    elif problem == "tables_dir-not-creatable":
        spec = _spec(tmp_path, tables_dir='"/proc/o29b-tables"')
    else:
        spec = _spec(tmp_path, instance=ROOT / "instances" / "schema.json", tables_dir=f'"{tmp_path / "tabs"}"')
    assert main(["bench", str(spec), "--no-progress"]) == 2
    assert "tables_dir" in capsys.readouterr().err or problem == "not-an-instance"
    assert not (tmp_path / "runs").exists()  # was: an empty runs/o29b
    assert not (tmp_path / "tabs").exists()


def test_a_refused_bench_keeps_an_existing_out_folder(tmp_path):
    spec = _spec(tmp_path, tables_dir='"/proc/o29b-tables"')
    (tmp_path / "runs" / "o29b").mkdir(parents=True)
    assert main(["bench", str(spec), "--no-progress"]) == 2
    assert (tmp_path / "runs" / "o29b").is_dir()


def test_bench_refuses_an_empty_out(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = _spec(tmp_path)
    assert main(["bench", str(spec), "--no-progress", "--out", ""]) == 2  # was: records/, tables/ in the current folder
    assert "--out is empty (fix: give a folder" in _flat(capsys.readouterr().err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spec.toml"]


# --- 3. --warm-start: .JSON, and "did you mean" -----------------------------------------------------

def test_warm_start_takes_an_upper_case_json_extension(tmp_path, capsys):
    start = tmp_path / "R.JSON"
    assert main(["solve", str(MICRO), "--method", "greedy", "--out", str(start)]) == 0
    capsys.readouterr()
    assert main(["solve", str(MICRO), "--method", "milp", "--warm-start", str(start), "--time-limit", "60"]) == 0
    assert "neither a method" not in capsys.readouterr().err


def test_warm_start_out_of_itself_is_refused_with_an_upper_case_extension(tmp_path, capsys):
    start = tmp_path / "R.JSON"
    assert main(["solve", str(MICRO), "--method", "greedy", "--out", str(start)]) == 0
    assert main(["solve", str(MICRO), "--method", "milp", "--warm-start", str(start), "--out", str(start)]) == 2
    assert "is the input file" in capsys.readouterr().err


@pytest.mark.parametrize("typed", ["gredy", "Greedy"])
def test_warm_start_names_the_close_method(capsys, typed):
    assert main(["solve", str(MICRO), "--method", "milp", "--warm-start", typed]) == 2
    err = _flat(capsys.readouterr().err)
    assert f"--warm-start {typed}: neither a method" in err and "did you mean --warm-start greedy?" in err, err
