"""fixa34: a user adapter that raises under the decomposition ends ``error`` naming it (as under
``tight``); the makespan's greedy placements stay the incumbent when the later steps find none;
profile key did-you-mean; ``pareto --out p.csv``; a full disk under a bench spec's folders;
the instance read once per digest."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import optdist
from optdist.evaluate import evaluate
from optdist.result import Termination
from optdist.solvers.base import SolverOutcome

from .test_solv33 import BadRet, Raiser, _Base

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "instances" / "tiny"


class GiveUp(_Base):
    """A well-behaved adapter that finds nothing: a step without a solution, not a failure."""

    name = "giveup"

    def _solve(self, model, opts, warm_start, tee, raw):
        return SolverOutcome(Termination.NO_SOLUTION, "gave up")


@pytest.mark.parametrize("name", ["micro-2x3-tight.json", "micro-2x3-makespan.json"])
@pytest.mark.parametrize("cls, said", [(Raiser, "raised RuntimeError: boom"),
                                       (BadRet, "returned dict, not SolverOutcome")])
def test_a_failing_user_adapter_under_the_decomposition_ends_error_naming_it(name, cls, said):
    inst = optdist.load_instance(TINY / name)
    res = optdist.solve(inst, solver=cls)  # formulation auto: the decomposition
    assert res.formulation == "decomposed"
    assert res.termination is Termination.ERROR, res.extra
    assert f"adapter {cls.name} ({__name__.rsplit('.', 1)[0]}.test_solv33.{cls.__qualname__}) {said}" \
        in res.extra["solver_error"]
    assert "(fix: " in res.extra["solver_error"] and "solver_errors" not in res.extra
    assert res.bound is None
    # the placement its steps found before (the greedy's) is kept, scored by the evaluator
    assert res.objective == pytest.approx(evaluate(inst, res.assignment).objective, rel=1e-12)


def test_the_makespans_greedy_placements_stay_the_incumbent_when_no_later_step_finds_one():
    inst = optdist.load_instance(TINY / "micro-2x3-makespan.json")  # makespan with a shared-data weight
    res = optdist.solve(inst, solver=GiveUp)
    assert res.termination is Termination.FEASIBLE, res.extra
    assert res.extra["combination_feasible"] is True
    assert res.objective == pytest.approx(evaluate(inst, res.assignment).objective, rel=1e-12)
    assert res.bound is None and "solver_error" not in res.extra
    best = optdist.solve(inst, solver="highs")  # the same run with a solver that works: still optimal
    assert best.termination is Termination.OPTIMAL and best.objective <= res.objective * (1 + 1e-9)


def test_the_cli_reports_a_raising_user_adapter_under_the_decomposition(capsys):
    from optdist.cli import main
    from optdist.solvers import register, unregister

    register("raiser", Raiser)
    try:
        main(["solve", str(TINY / "micro-2x3-tight.json"), "--solver", "raiser"])
    finally:
        unregister("raiser")
    out, err = capsys.readouterr()
    assert "termination  error" in out and "bug in optdist" not in err
    assert "adapter raiser" in err and "raised RuntimeError: boom" in err
    assert "solver calls of this run failed" not in err and "solver call of this run failed" not in err


@pytest.mark.parametrize("text, said", [
    ('solvr = "highs"\n', 'unknown key "solvr" (fix: did you mean solver? use name, solver, description, [options], '),
    ('solver = "highs"\n[option]\nthreads = 1\n', 'unknown key "option" (fix: did you mean [options]? '),
    ('solver = "highs"\nmip_gap = 0.1\n', 'unknown key "mip_gap" (fix: did you mean [options] mip_gap? '),
    ('solvr = "highs"\n[option]\nthreads = 1\n',
     'unknown keys "option", "solvr" (fix: did you mean [options] for "option", solver for "solvr"? '),
    ('solver = "highs"\nzzzz = 1\n', 'unknown key "zzzz" (fix: use name, solver, description, [options], '
                                     '[solver_options])'),
])
def test_a_profiles_mistyped_top_level_key_gets_a_did_you_mean(tmp_path, text, said):
    from optdist.solvers import get_solver

    prof = tmp_path / "mine.toml"
    prof.write_text('name = "mine"\n' + text)
    with pytest.raises(ValueError) as e:
        get_solver(str(prof))
    assert str(e.value).startswith(f"{prof}: ") and said in str(e.value), str(e.value)


def test_pareto_out_ending_in_an_extension_it_writes_is_the_prefix(tmp_path, capsys, monkeypatch):
    from optdist.cli import main

    monkeypatch.chdir(tmp_path)
    micro = str(TINY / "micro-2x3-makespan.json")
    for given in ("p.csv", "p.md", "p.png"):  # wrote p.csv.csv, p.csv.md, p.csv.png
        assert main(["pareto", micro, "--points", "1", "--out", given]) == 0
        assert "wrote p.csv, p.md, p.png" in capsys.readouterr().out
        assert sorted(p.name for p in tmp_path.iterdir()) == ["p.csv", "p.md", "p.png"]
    (tmp_path / "f.csv").mkdir()  # a folder whose name ends in .csv: the folder, as before
    assert main(["pareto", micro, "--points", "1", "--out", "f.csv"]) == 0
    assert sorted(p.name for p in (tmp_path / "f.csv").iterdir()) == [
        "pareto-micro-2x3-makespan.csv", "pareto-micro-2x3-makespan.md", "pareto-micro-2x3-makespan.png"]
    assert main(["pareto", micro, "--points", "1", "--out", "p.txt"]) == 0
    assert (tmp_path / "p.txt.csv").is_file()  # another extension is part of the prefix, as documented
    assert main(["pareto", micro, "--points", "1", "--out", "new/p.csv"]) == 2
    assert "mkdir -p new" in capsys.readouterr().err  # a missing folder: refused as before


_FULL_DISK = textwrap.dedent("""
    import contextlib, io, os, sys
    from pathlib import Path
    from optdist.cli import main
    tmp, disk, micro = map(Path, sys.argv[1:])

    def spec(name, tables):
        path = tmp / f"{name}.toml"
        path.write_text(f'name = "{name}"\\ninstances = ["{micro}"]\\nmethods = ["greedy"]\\n'
                        f'out = "{tmp / name}"\\ntables_dir = "{tables}"\\n')
        return str(path)

    def run(*argv):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            rc = main(list(argv))
        print(rc, " ".join(err.getvalue().split()))

    run("bench", spec("fits", disk / "t1"), "--no-progress")  # the tables fit on the disk
    fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT)  # now fill it up (unbuffered)
    with contextlib.suppress(OSError):
        while True:
            os.write(fd, b"x" * 4096)
    os.close(fd)
    run("bench", spec("full", disk / "t2"), "--no-progress")  # refused before the runs
    run("bench-table", str(tmp / "fits"))  # its tables_dir is on the full disk
""")


@pytest.mark.skipif(not (sys.platform.startswith("linux") and shutil.which("unshare") and shutil.which("mount")
                         and hasattr(os, "geteuid") and os.geteuid() == 0), reason="needs root to mount a tiny tmpfs")
def test_a_full_disk_under_a_specs_tables_dir_is_named_with_the_disks_fix(tmp_path):
    script = tmp_path / "full.py"
    script.write_text(_FULL_DISK)
    disk, micro = tmp_path / "disk", TINY / "micro-2x3-tight.json"
    disk.mkdir()
    run = subprocess.run(["unshare", "-m", "sh", "-c", f'mount -t tmpfs -o size=256k tmpfs "{disk}" && '
                          f'"{sys.executable}" "{script}" "{tmp_path}" "{disk}" "{micro}"'],
                         capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    if "mount" in run.stderr and run.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {run.stderr.strip()}")
    assert run.returncode == 0, run.stderr
    fits, full, table = run.stdout.splitlines()
    assert fits.startswith("0"), fits
    assert full.startswith("2 ") and f"tables_dir = {disk / 't2'}: the disk of {disk} is full" in full, full
    assert (f"(fix: free space on that disk, or give tables_dir in {tmp_path / 'full.toml'} on a disk with space, "
            "or leave it out: OUT/tables)") in full
    assert not (tmp_path / "full").exists() and "writable folder" not in full  # was: "give a writable folder"
    assert table.startswith("2 ") and f"the disk of {disk / 't1'} is full" in table, table
    assert (f"(fix: free space on that disk, or write them elsewhere: `optdist bench-table {tmp_path / 'fits'} "
            "--dest DIR` on a disk with space)") in table


def test_instance_digest_reads_the_instance_file_once(tmp_path, monkeypatch):
    from optdist.bench.records import file_digest, instance_digest
    from optdist.privacy import table_path

    from .helpers import lenet_with_table

    table, inst = lenet_with_table(tmp_path, "t34", json.loads(table_path("lenet", "paper").read_text()), 0.8)
    doc = json.loads(inst.read_text())
    doc["privacy"]["micro"] = "synthetic"  # a bundled table by name, beside the table file by path
    inst.write_text(json.dumps(doc))
    opened: list[str] = []
    real = io.open

    def counted(file, *args, **kwargs):  # the real open, counted for the instance file
        if isinstance(file, (str, os.PathLike)) and Path(file).resolve() == inst.resolve():
            opened.append(str(file))
        return real(file, *args, **kwargs)

    monkeypatch.setattr(io, "open", counted)  # pathlib opens through io.open
    digest = instance_digest(inst)
    monkeypatch.undo()
    assert len(opened) == 1, opened  # was 3: its digest, the files it names, the tables it names by name
    h = hashlib.sha256(file_digest(inst).encode())
    for f in (table, table_path("micro", "synthetic")):  # the files it reads, in the order written
        h.update(b"\0" + file_digest(f).encode())
    assert digest == h.hexdigest()
