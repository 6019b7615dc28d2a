"""bench33: a .solu optimum above a feasible placement's objective is refused like one below a
proven bound (bench-table, --write-solu, merge_solu_file)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from optdist.bench.solu import Reference, merge_solu_file, read_solu
from optdist.cli import main
from tests.conftest import ROOT
from tests.test_bench_tables import record, write
from tests.test_out32 import cli


def _records(tmp_path):
    """Instance a: HiGHS proves 1.0 optimal, the greedy's placement scores 1.05 (both feasible)."""
    out = tmp_path / "sweep"
    write(out, [record("a", "highs", "optimal", 1.0, 1.0), record("a", None, "feasible", 1.05, method="greedy", limit=None)])
    return out


def test_an_optimum_above_a_feasible_objective_is_refused_for_the_tables(tmp_path, capsys):
    """Before: "optimum 1.2 (kept) disagrees with 1", and the proven-optimal run had gap_to_ref 0.167."""
    out = _records(tmp_path)
    solu = tmp_path / "my.solu"
    solu.write_text("# mine\n=opt= a 1.2\n")
    assert main(["bench-table", str(out), "--solu", str(solu)]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert f"{solu}: =opt= a 1.2 is above the objective 1 of a placement the evaluator scores feasible (" in err, err
    assert "a--milp--highs.json" in err and "(rel. diff 0.167 > 1e-06)" in err and "so this line is false" in err
    assert f"(fix: correct or delete the =opt= line of a in {solu} (line 2)" in err
    assert "(kept) disagrees" not in err
    rows = pd.read_csv(out / "tables" / "gaps-by-instance.csv").set_index("config")
    assert rows.loc["milp/highs/compact", "reference"] == 1.0 and rows.loc["milp/highs/compact", "gap_to_ref"] == 0.0
    assert "=opt= a 1.2 is above the objective 1" in (out / "tables" / "gaps.md").read_text()
    solu.write_text("=opt= a 1.0000005\n")  # within the below-bound rule's tolerance (1e-6 relative): kept
    assert main(["bench-table", str(out), "--solu", str(solu)]) == 0
    assert "is above the objective" not in capsys.readouterr().err
    rows = pd.read_csv(out / "tables" / "gaps-by-instance.csv").set_index("config")
    assert rows.loc["milp/highs/compact", "reference"] == 1.0000005


def test_write_solu_does_not_keep_an_optimum_above_a_feasible_objective(tmp_path, capsys):
    """Before: the false line was written back (the .solu optimum is kept on conflict)."""
    out = _records(tmp_path)
    other = tmp_path / "other.solu"
    other.write_text("=opt= a 1.2\n")
    assert main(["bench-table", str(out), "--write-solu", str(other)]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert f"{other}: =opt= a 1.2 is above the objective 1 of a placement" in err
    assert "not kept there: a is now =opt= 1 in it" in err and "(fix: none needed; if the placement is the false" in err
    assert read_solu(other)["a"].opt == 1.0


def test_merge_solu_file_does_not_keep_a_refuted_optimum(tmp_path):
    """Before: the old optimum 1.2 was kept, with only "optimum 1.2 (kept) disagrees with 1"."""
    path = tmp_path / "x.solu"
    path.write_text("=opt= a 1.2\n=opt= b 0.5\n")
    warns = merge_solu_file(path, {"a": Reference(opt=1.0, best=1.0, bestdual=1.0), "b": Reference(best=2.0, bestdual=0.9)})
    assert read_solu(path)["a"].opt == 1.0 and read_solu(path)["b"].opt is None
    assert any(w.startswith(f"{path}: =opt= a 1.2 is above the objective 1 ") and "not kept" in w for w in warns), warns
    assert not any("disagrees" in w for w in warns), warns


# --- 2. `optdist bench` under a file-size limit -------------------------------------------------------------------


def _bench_spec(tmp_path) -> Path:
    """A one-run greedy spec of a tiny instance, its out folder tmp_path/runs (not made)."""
    path = tmp_path / "spec.toml"
    path.write_text(f'name = "b33"\ninstances = ["{ROOT / "instances/tiny/micro-1x3-tau0.6.json"}"]\n'
                    f'methods = ["greedy"]\nout = "{tmp_path / "runs"}"\n')
    return path


def test_bench_under_ulimit_f_0_is_refused_before_any_folder_is_made(tmp_path):
    """Before: "optdist bench: error: [Errno 27] File too large" (no file, no fix), and OUT/.sweep.lock left."""
    spec = _bench_spec(tmp_path)
    out = tmp_path / "ulbench"
    r = cli("bench", spec, "--out", out, "--no-progress", limit=0)
    assert r.returncode == 2, r.stderr
    assert f"optdist bench: error: --out {out}: the file-size limit is 0 (`ulimit -f 0`)" in r.stderr, r.stderr
    assert "(fix: raise it, `ulimit -f unlimited`)" in r.stderr and "Errno" not in r.stderr
    assert not out.exists()
    r = cli("bench", spec, "--no-progress", limit=0)  # the spec's out: the limit's fix, not "give another out"
    assert r.returncode == 2 and f"{spec}: out = {tmp_path / 'runs'}: the file-size limit is 0" in r.stderr, r.stderr
    assert "(fix: raise it, `ulimit -f unlimited`)" in r.stderr and not (tmp_path / "runs").exists()


def test_bench_whose_first_file_cannot_be_written_names_it_and_leaves_no_folder(tmp_path):
    """A limit of 3 bytes: OUT/spec.json does not fit. Before: the error named it, but OUT (and
    tmp_path/new above it, both made by the sweep) stayed, with an empty records/ and .sweep.lock."""
    out = tmp_path / "new" / "ulbench"
    r = cli("bench", _bench_spec(tmp_path), "--out", out, "--no-progress", limit=3)
    assert r.returncode == 2, r.stderr
    assert f"cannot write {out / 'spec.json'}: the file is larger than the file-size limit" in r.stderr, r.stderr
    assert "Errno" not in r.stderr and not (tmp_path / "new").exists()


# --- 3. import-solution's model objective with GLPK -----------------------------------------------------------------


def test_import_solution_prints_glpsols_own_objective_or_says_it_is_recomputed(tmp_path, capsys):
    """Before: "model objective X s", recomputed from glpsol's rounded column values (0.00372807217 s
    on the user's instance where glpsol wrote obj = 3728.071837, i.e. 0.00372807184 s), said as such."""
    if shutil.which("glpsol") is None:
        pytest.skip("glpsol not installed (apt-get install glpk-utils)")
    inst = ROOT / "instances" / "tiny" / "lenet-1x4-tau0.6.json"
    model, sol = tmp_path / "m.lp", tmp_path / "m.sol"
    assert main(["export", str(inst), "--format", "lp", "--out", str(model)]) == 0
    subprocess.run(["glpsol", "--lp", str(model), "-o", str(sol)], check=True, capture_output=True)
    lines = sol.read_text().splitlines()
    n, line = next((i, ln) for i, ln in enumerate(lines, 1) if ln.startswith("Objective:"))
    obj = float(line.split("=")[1].split()[0])
    capsys.readouterr()
    main(["import-solution", str(inst), "--model-file", str(model), "--solution", str(sol), "--format", "glpk"])
    said = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("read "))
    assert f"model objective {obj * 1e-6:.9g} s (glpsol's own, line {n} of the file: {obj:.12g} in model units of " \
           "1e-06 s)" in said, said
    sol.write_text("\n".join(ln for ln in lines if not ln.startswith("Objective:")) + "\n")
    main(["import-solution", str(inst), "--model-file", str(model), "--solution", str(sol), "--format", "glpk"])
    said = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("read "))
    assert said.endswith(" s (recomputed from the values as the file prints them, which glpsol rounds)"), said
