"""Defects a fresh user found in the commands (cmd29): pareto's --out folder, its interrupted
sweep and objective column, import-solution's silent disagreement, bench's spec checks, export's
extension case and names with spaces, dp-tables' outputs."""

from __future__ import annotations

import csv
import os
import re
import signal
from pathlib import Path

from optdist.cli import main
from tests.conftest import ROOT, linux_only, requires_solver, solver_popen
from tests.test_export import run_highs

TINY = ROOT / "instances" / "tiny"
MAKESPAN = TINY / "micro-2x3-makespan.json"
ONE = TINY / "lenet-1x4-tau0.6.json"


def rows(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f))


# --- 1. pareto --out naming a folder --------------------------------------------------------------

def test_pareto_out_ending_in_a_slash_writes_inside_the_folder(tmp_path, capsys, monkeypatch):
    """`--out dir/` wrote dir.csv, dir.md, dir.png beside the folder."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d").mkdir()
    assert main(["pareto", str(MAKESPAN), "--points", "2", "--out", "d/"]) == 0
    assert "wrote d/pareto-micro-2x3-makespan.csv" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == [
        "pareto-micro-2x3-makespan.csv", "pareto-micro-2x3-makespan.md", "pareto-micro-2x3-makespan.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]
    # an existing folder without the slash: the same
    assert main(["pareto", str(MAKESPAN), "--points", "1", "--out", "d"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]
    # a missing folder with the slash: made, as bench and train-rl make theirs (left43: it was refused)
    assert main(["pareto", str(MAKESPAN), "--points", "1", "--out", "new/"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d", "new"] and len(list((tmp_path / "new").iterdir())) == 3


# --- 2. pareto stopped early; its objective column ------------------------------------------------

def test_pareto_objective_is_what_solve_reports_and_makespan_is_the_axis(tmp_path, capsys):
    """micro-2x3-makespan (shared_weight > 0): pareto's objective_s was 4.95299e-05 (the makespan
    alone) where `optdist solve` reports 5.08739169e-05."""
    import json

    out = tmp_path / "res.json"
    assert main(["solve", str(MAKESPAN), "--gap", "0", "--out", str(out)]) == 0
    solved = json.loads(out.read_text())
    assert main(["pareto", str(MAKESPAN), "--points", "2", "--out", str(tmp_path / "f")]) == 0
    table = rows(tmp_path / "f.csv")
    last = table[-1]  # the latency-optimal level: the placement solve finds
    assert abs(float(last["objective_s"]) - solved["objective"]) <= 1e-9 * solved["objective"]
    assert abs(float(last["makespan_s"]) - 4.95299e-05) <= 1e-10
    weight = json.loads(MAKESPAN.read_text())["objective"]["shared_weight"]
    for r in table:
        assert abs(float(r["objective_s"]) - float(r["makespan_s"]) - weight * float(r["shared_bytes"])) <= 1e-15


def test_pareto_help_names_the_columns_and_the_folder(capsys):
    try:
        main(["pareto", "--help"])
    except SystemExit:
        pass
    text = " ".join(capsys.readouterr().out.split())
    assert "FOLDER/pareto-<instance>.csv" in text and "latency_s (the swept axis" in text
    assert "as `optdist solve` reports it" in text


@linux_only
@requires_solver("cbc")
def test_pareto_stopped_by_sigterm_writes_only_the_levels_that_ran(tmp_path, capsys, monkeypatch, caplog):
    """`--points 1000` stopped by SIGTERM wrote 1000 rows, 970 of them `interrupted` and empty: the
    levels not started are no rows, and a warning counts them. SIGTERM comes as the 4th CBC (the
    2nd level) starts."""
    import subprocess as real

    started: list[int] = []

    def popen(args, *rest, **kwargs):
        argv = [str(a) for a in args] if isinstance(args, (list, tuple)) else [str(args)]
        if Path(argv[0]).name == "cbc" and "-stop" not in argv:
            started.append(1)
            if len(started) == 4:
                os.kill(os.getpid(), signal.SIGTERM)
        return real.Popen(args, *rest, **kwargs)

    solver_popen(monkeypatch, popen)
    prefix = tmp_path / "front"
    assert main(["pareto", str(ONE), "--points", "40", "--solver", "cbc", "--out", str(prefix)]) == 143
    table = rows(tmp_path / "front.csv")
    assert 1 <= len(table) <= 2, table  # the 1st level, and the 2nd (stopped or finished)
    assert all(r["eps_bytes"] for r in table)
    assert [r["termination"] for r in table].count("interrupted") <= 1
    err = " ".join(capsys.readouterr().err.split()) + caplog.text
    assert f"SIGTERM: {40 - len(table)} of the 40 shared-data levels were not run" in err, err


# --- 5. import-solution of another instance's solution --------------------------------------------

def test_import_solution_warns_and_fails_when_the_evaluator_disagrees(tmp_path, caplog):
    """A solution of micro-2x3-tight read for micro-2x3-serial (the same variable names): the model
    objective 7.9e-05 s against the evaluator's 1.1e-04 s, exit 0 without a word before."""
    import logging

    import highspy

    lp, sol = tmp_path / "m.lp", tmp_path / "m.sol"
    assert main(["export", str(TINY / "micro-2x3-tight.json"), "--out", str(lp)]) == 0
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.readModel(str(lp))
    h.run()
    h.writeSolution(str(sol), 0)
    serial = ["import-solution", str(TINY / "micro-2x3-serial.json"), "--model-file", str(lp), "--solution", str(sol)]
    assert main(serial) == 2  # fix29d: the header's instance fingerprint is not micro-2x3-serial's
    lp.write_text(re.sub(r"~[0-9a-f]{12}", "", lp.read_text(), count=1))  # a file exported before fingerprints
    with caplog.at_level(logging.WARNING, logger="optdist"):
        rc = main(serial)
    assert rc == 1
    assert "disagree" in caplog.text and "trust the evaluator's" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="optdist"):
        assert main(["import-solution", str(TINY / "micro-2x3-tight.json"), "--model-file", str(lp),
                     "--solution", str(sol)]) == 0
    assert "disagree" not in caplog.text


# --- 6. bench: --out for a spec without out; tables_dir and instances checked first ---------------

def spec_file(tmp_path: Path, **fields: str) -> Path:
    lines = ['name = "c29"', f'instances = ["{TINY / "micro-2x3-tight.json"}"]', 'methods = ["greedy"]']
    lines += [f"{k} = {v}" for k, v in fields.items()]
    path = tmp_path / "spec.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_bench_out_flag_stands_in_for_the_spec_out(tmp_path, capsys):
    spec = spec_file(tmp_path)
    assert main(["bench", str(spec), "--out", str(tmp_path / "o"), "--dry-run"]) == 0
    assert "1 of 1 runs to do" in capsys.readouterr().out
    assert main(["bench", str(spec), "--dry-run"]) == 2
    assert "missing \"out\"" in capsys.readouterr().err.replace("'", '"')


def test_bench_checks_tables_dir_before_the_first_run(tmp_path, capsys):
    spec = spec_file(tmp_path, out=f'"{tmp_path / "o"}"', tables_dir='"/proc/c29-tables"')
    assert main(["bench", str(spec), "--no-progress"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "tables_dir = /proc/c29-tables" in err and "cannot create the folder" in err
    assert not (tmp_path / "o" / "records").exists() or not any((tmp_path / "o" / "records").iterdir())


def test_bench_refuses_an_instance_file_that_is_not_an_instance(tmp_path, capsys):
    spec = spec_file(tmp_path, out=f'"{tmp_path / "o"}"')
    spec.write_text(spec.read_text().replace(str(TINY / "micro-2x3-tight.json"), str(ROOT / "instances" / "schema.json")))
    assert main(["bench", str(spec), "--no-progress"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "instances: " in err and "schema.json is not a valid instance file" in err
    assert "name: required field missing" in err
    assert not (tmp_path / "o" / "records").exists() or not any((tmp_path / "o" / "records").iterdir())


# --- 4. export: the extension's case, MPS for GLPK, names with spaces -----------------------------

def test_export_takes_upper_case_extensions(tmp_path, capsys):
    """`--out e5.LP` printed Pyomo's "Could not infer file format from file name
    '/tmp/.e5.LP.x6l6frn7.tmp.LP'"."""
    for name in ("e5.LP", "e5.MPS", "e5.Lp"):
        assert main(["export", str(TINY / "micro-2x3-tight.json"), "--out", str(tmp_path / name)]) == 0, name
        captured = capsys.readouterr()
        assert ".tmp" not in captured.out + captured.err and f"wrote {tmp_path / name}" in captured.out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e5.LP", "e5.Lp", "e5.MPS"]
    assert (tmp_path / "e5.LP").read_text().startswith("\\* Source Pyomo model name=micro-2x3-tight-tight")
    assert "ROWS" in (tmp_path / "e5.MPS").read_text()
    assert main(["export", str(TINY / "micro-2x3-tight.json"), "--out", str(tmp_path / "e5.txt")]) == 2
    assert "name a .lp or .mps file" in capsys.readouterr().err


def test_export_help_says_how_glpk_reads_the_files(capsys):
    try:
        main(["export", "--help"])
    except SystemExit:
        pass
    text = " ".join(capsys.readouterr().out.split())
    assert "glpsol --freemps model.mps" in text and "without the OBJSENSE section" in text


@requires_solver("glpk")
def test_glpk_reads_the_exported_free_mps(tmp_path, capsys):
    """`glpsol --freemps m.mps` failed on the OBJSENSE section."""
    import subprocess

    model, sol = tmp_path / "m.mps", tmp_path / "m.sol"
    assert main(["export", str(TINY / "micro-2x3-tight.json"), "--out", str(model)]) == 0
    assert "OBJSENSE" not in model.read_text()
    done = subprocess.run(["glpsol", "--freemps", str(model), "-o", str(sol)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    capsys.readouterr()
    assert main(["import-solution", str(TINY / "micro-2x3-tight.json"), "--model-file", str(model),
                 "--solution", str(sol), "--format", "glpk"]) == 0
    assert "feasible True" in capsys.readouterr().out


def test_a_name_with_a_space_round_trips_through_the_header(tmp_path, capsys):
    """An instance named "weird ids" wrote `name=weird ids-tight`, which import-solution could not
    read ("cannot tell the formulation from its header")."""
    import json

    from optdist.milp.export import formulation_of, instance_of

    doc = json.loads((TINY / "micro-2x3-tight.json").read_text())
    doc["name"] = "weird ids 0.6 50%"
    inst = tmp_path / "weird.json"
    inst.write_text(json.dumps(doc))
    for ext in ("lp", "mps"):
        model, sol = tmp_path / f"m.{ext}", tmp_path / f"m-{ext}.sol"
        assert main(["export", str(inst), "--out", str(model), "--formulation", "compact"]) == 0
        assert (instance_of(model), formulation_of(model)) == ("weird ids 0.6 50%", "compact")
        run_highs(model, sol)
        capsys.readouterr()
        assert main(["import-solution", str(inst), "--model-file", str(model), "--solution", str(sol)]) == 0
        captured = capsys.readouterr()
        assert "feasible True" in captured.out and "exported from instance" not in captured.err


# --- 3. dp-tables' --out ----------------------------------------------------------------------------

def test_dp_tables_refuses_an_empty_out(tmp_path, capsys, monkeypatch):
    """`--out ""` wrote the tables into the current folder."""
    monkeypatch.chdir(tmp_path)
    assert main(["dp-tables", "--out", ""]) == 2
    assert "--out is empty" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_dp_tables_checks_every_output_before_writing(tmp_path, capsys):
    """OUT/README.md a folder: the CSVs and the PNG were written before the failure, whose fix said
    "e.g. dpt/README.md/result.json"."""
    (tmp_path / "dpt" / "README.md").mkdir(parents=True)
    assert main(["dp-tables", "--out", str(tmp_path / "dpt")]) == 2
    err = capsys.readouterr().err
    assert "README.md is a directory" in err and "nothing was written" in err and "result.json" not in err
    assert sorted(p.name for p in (tmp_path / "dpt").iterdir()) == ["README.md"]
    assert main(["dp-tables", "--out", str(tmp_path / "ok")]) == 0
    assert sorted(p.name for p in (tmp_path / "ok").iterdir()) == sorted(
        ["dp_noise.csv", "dp_feasible.csv", "defq_paper_latency.csv", "defq_break_even.csv", "dp_paper.png", "README.md"])
