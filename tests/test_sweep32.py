"""sweep32: a sweep's records against the instance files they were made from, the spec a partial sweep
saves, failed runs in the tables, runs the executor lost, runs finished at an interruption, and the
messages. Real HiGHS, tiny instances (copied into ``tmp_path`` where a test edits one); no mocks.

1. An instance file edited during a sweep: records carried the hash taken as the sweep started,
   though their worker solved the edited file; reverting it reused them. Now each record holds the
   hash of the bytes its worker loaded, marked ``instance_changed`` (and warned) where it differs.
2. ``bench-table`` / ``bench-figures`` counted records made from an older version of the instance
   file (after ``bench SPEC --method greedy`` redid greedy only). Now they are left out, with a warning.
3. ``bench SPEC --method X`` saved OUT/spec.json filtered to X. Now the whole spec.
5. Failed runs vanished from gaps.md ("6 runs, 100 % feasible"). Now counted: runs, failed.
8. Runs finished but not yet written at SIGINT were lost. Now written on every way out.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from pathlib import Path

import pandas as pd
import pytest

from optdist.bench.runner import run_sweep
from optdist.bench.spec import load_spec
from optdist.cli import main

from .conftest import ROOT

MICRO = ROOT / "instances/tiny/micro-1x3-tau0.6.json"


def _instance(tmp_path: Path) -> Path:
    path = tmp_path / "inst" / "micro-1x3-tau0.6.json"
    path.parent.mkdir(exist_ok=True)
    shutil.copy(MICRO, path)
    return path


def _edit(path: Path, tau: str = "0.8") -> None:
    path.write_text(path.read_text().replace('"tau": 0.6', f'"tau": {tau}'))


def _spec(tmp_path: Path, instance: Path, methods=("greedy", "milp"), name="s32", **fields) -> Path:
    doc = {"name": name, "out": str(tmp_path / "out"), "instances": [str(instance)], "methods": list(methods),
           "solvers": ["highs"], "time_limit": 30, **fields}
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(doc))
    return path


def _records(out: Path) -> dict[str, dict]:
    return {(r := json.loads(p.read_text()))["run"]["method"] + (f"-{r['run']['seed']}" if r["run"]["seed"] is not None
                                                              else ""): r
            for p in sorted((out / "records").glob("*.json"))}


# --- 1. each record holds the hash of the file its worker loaded ----------------------------------------------


def test_an_instance_edited_during_a_sweep_is_hashed_as_loaded_and_said(tmp_path, caplog):
    """Before: both records carried the start hash, and after the revert "2 already recorded"."""
    from optdist.bench.records import instance_digest  # the file's bytes and the tables it reads (lead33)

    inst = _instance(tmp_path)
    original, original_digest = inst.read_bytes(), instance_digest(inst)
    spec = load_spec(_spec(tmp_path, inst))
    edited: list[str] = []

    def edit_after_first(rec: dict) -> None:
        if not edited:
            _edit(inst)
            edited.append(rec["run"]["method"])

    rep = run_sweep(spec, workers=1, progress=False, on_record=edit_after_first)
    assert rep.ran == 2 and rep.failed == 0
    recs = _records(tmp_path / "out")
    first, second = recs[edited[0]], recs[next(m for m in recs if m != edited[0])]
    assert first["instance_sha256"] == original_digest and "instance_changed" not in first
    assert second["instance_sha256"] == instance_digest(inst) != original_digest
    assert "changed during the sweep" in second["instance_changed"]
    assert any("changed during the sweep" in r.getMessage() and str(inst) in r.getMessage() for r in caplog.records)
    inst.write_bytes(original)  # reverted: the run made from the edited file is redone, the other is not
    rep = run_sweep(spec, workers=1, progress=False)
    assert (rep.skipped, rep.ran) == (1, 1)
    assert all(r["instance_sha256"] == original_digest for r in _records(tmp_path / "out").values())


# --- 2. tables and figures leave out records of another version of the instance file ---------------------------


def test_tables_and_figures_leave_out_records_of_an_edited_instance(tmp_path, capsys):
    """Before: gaps.csv mixed the old milp record with the new greedy one, and said nothing."""
    inst = _instance(tmp_path)
    spec = _spec(tmp_path, inst, figures=["tau"])
    assert main(["bench", str(spec), "--no-progress"]) == 0
    _edit(inst)
    assert main(["bench", str(spec), "--no-progress", "--method", "greedy"]) == 0
    capsys.readouterr()
    out = tmp_path / "out"
    milp = next(p for p in (out / "records").glob("*.json") if json.loads(p.read_text())["run"]["method"] == "milp")
    assert main(["bench-table", str(out)]) == 0
    err = capsys.readouterr().err
    said = [line for line in err.splitlines() if "changed since" in line]
    assert len(said) == 1 and str(milp) in said[0] and f"optdist bench {out / 'spec.json'}" in said[0], err
    gaps = pd.read_csv(out / "tables" / "gaps-by-instance.csv")
    assert list(gaps["config"]) == ["greedy"]
    assert main(["bench-figures", str(out), "--dest", str(tmp_path / "fig")]) == 0
    err = capsys.readouterr().err
    assert str(milp) in err and "left out of the tables and figures" in err
    drawn = pd.read_csv(tmp_path / "fig" / "fig11-latency-vs-tau.csv")
    assert "milp" not in drawn.to_csv()
    # the rerun the warning names redoes milp: nothing is left out any more
    assert main(["bench", str(out / "spec.json"), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["bench-table", str(out)]) == 0
    assert "changed since" not in capsys.readouterr().err
    assert sorted(pd.read_csv(out / "tables" / "gaps-by-instance.csv")["config"]) == ["greedy", "milp/highs"]


def test_tables_keep_records_whose_instance_file_is_gone_and_say_so(tmp_path, capsys):
    inst = _instance(tmp_path)
    spec = _spec(tmp_path, inst, methods=("greedy",))
    assert main(["bench", str(spec), "--no-progress"]) == 0
    inst.unlink()
    capsys.readouterr()
    assert main(["bench-table", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert err.count("instance file(s) not found") == 1 and str(inst) in err
    assert len(pd.read_csv(tmp_path / "out" / "tables" / "gaps-by-instance.csv")) == 1


# --- 3. --method saves the whole spec -----------------------------------------------------------------------------


def test_bench_method_saves_the_whole_spec(tmp_path, capsys):
    """Before: OUT/spec.json held methods ["greedy"], and its rerun dropped milp from the tables."""
    inst = _instance(tmp_path)
    spec = _spec(tmp_path, inst)
    assert main(["bench", str(spec), "--no-progress", "--method", "greedy"]) == 0
    saved = tmp_path / "out" / "spec.json"
    assert json.loads(saved.read_text())["methods"] == ["greedy", "milp"]
    capsys.readouterr()
    assert main(["bench", str(saved), "--no-progress"]) == 0
    out = capsys.readouterr()
    assert "1 already recorded, 1 run now" in out.out and "edited since" not in out.err


def test_bench_method_typo_names_the_close_match(tmp_path, capsys):
    inst = _instance(tmp_path)
    spec = _spec(tmp_path, inst)
    assert main(["bench", str(spec), "--no-progress", "--method", "grredy"]) == 2
    assert "grredy: did you mean greedy?" in capsys.readouterr().err


# --- 8. runs finished at an interruption are written --------------------------------------------------------------


def test_runs_finished_when_sigint_arrives_keep_their_records(tmp_path):
    """A real SIGINT while the sweep handles its first record; the second run finishes meanwhile.
    Before: only the first record was written (finished_now was written only when a record could not be)."""
    inst = _instance(tmp_path)
    spec = load_spec(_spec(tmp_path, inst, methods=("greedy", "milp")))

    def interrupt(rec: dict) -> None:
        deadline = time.monotonic() + 60
        while len(list((tmp_path / "out").glob("records/*.json"))) < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(8)  # the other run (a worker process each, started together) finishes meanwhile
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)  # the KeyboardInterrupt arrives here

    old = signal.signal(signal.SIGINT, signal.default_int_handler)  # Python's own, whatever a test before left
    try:
        with pytest.raises(KeyboardInterrupt):
            run_sweep(spec, workers=2, progress=False, on_record=interrupt)
    finally:
        signal.signal(signal.SIGINT, old)
    recs = _records(tmp_path / "out")
    assert sorted(recs) == ["greedy", "milp"] and all(r["status"] == "ok" for r in recs.values())


# --- 5. failed runs are counted in gaps.md and said by the figures -----------------------------------------------

HERE = "tests.test_sweep32"


def greedy_but_not_above_tau_07(inst, **options):
    """The greedy heuristic, failing (raising) on an instance whose tau is above 0.7: a stand-in method
    for the sweep's worker (``HERE:NAME`` in a spec) that fails on one instance of two."""
    from optdist.solve import method_function

    if inst.spec.tau > 0.7:
        raise RuntimeError(f"tau {inst.spec.tau} is above 0.7")
    return method_function("greedy")(inst, **options)


def test_failed_runs_are_counted_in_gaps_and_said_by_the_figures(tmp_path, capsys, monkeypatch):
    """Before: gaps.md said "1 runs, 100 % feasible" for the method that failed on one instance of two,
    and the figures dropped the failed run without a word."""
    monkeypatch.chdir(ROOT)  # the stand-in method is imported from the repository root
    inst = _instance(tmp_path)
    other = inst.with_name("micro-1x3-tau0.8.json")
    shutil.copy(inst, other)
    _edit(other)
    method = f"{HERE}:greedy_but_not_above_tau_07"
    spec = _spec(tmp_path, inst.parent / "*.json", methods=(method,), figures=["tau"])
    assert main(["bench", str(spec), "--no-progress", "--allow-external-methods"]) == 1
    err = capsys.readouterr().err
    assert "1 failed run(s)" in err and "not drawn in the figures" in err, err
    gaps = pd.read_csv(tmp_path / "out" / "tables" / "gaps.csv").set_index("config")
    assert (gaps.at[method, "runs"], gaps.at[method, "failed"], gaps.at[method, "feasible_pct"]) == (2, 1, 50.0)
    assert "failed: runs recorded as error or timeout" in (tmp_path / "out" / "tables" / "gaps.md").read_text()


# --- 4. a folder that is not a sweep's: a user's own files are not replaced ----------------------------------------


def test_bench_out_refuses_to_replace_a_users_files(tmp_path, capsys):
    """Before: --out DIR replaced the user's spec.json and tables/gaps.md without a word."""
    inst = _instance(tmp_path)
    spec = _spec(tmp_path, inst, methods=("greedy",))
    mine = tmp_path / "mine"
    (mine / "tables").mkdir(parents=True)
    (mine / "spec.json").write_text('{"my": "notes"}\n')
    (mine / "tables" / "gaps.md").write_text("# my gaps\n")
    assert main(["bench", str(spec), "--no-progress", "--out", str(mine)]) == 2
    err = capsys.readouterr().err
    assert f"{mine / 'spec.json'} (and {mine / 'tables' / 'gaps.md'}) exists and was not written by optdist" in err
    assert "(fix: give another folder" in err
    assert (mine / "spec.json").read_text() == '{"my": "notes"}\n' and not (mine / "records").exists()
    # a sweep's own folder is rewritten as before: once, then again
    assert main(["bench", str(spec), "--no-progress", "--out", str(tmp_path / "ok")]) == 0
    assert main(["bench", str(spec), "--no-progress", "--out", str(tmp_path / "ok")]) == 0
    capsys.readouterr()
    # bench-table --dest and bench-figures --dest: a user's own table / figure file is not replaced
    (mine / "tables" / "solvers.csv").write_text("a,b\n1,2\n")
    assert main(["bench-table", str(tmp_path / "ok"), "--dest", str(mine / "tables")]) == 2
    err = capsys.readouterr().err
    assert str(mine / "tables" / "gaps.md") in err and "--dest" in err and "not written by optdist" in err
    assert (mine / "tables" / "gaps.md").read_text() == "# my gaps\n"
    assert main(["bench-table", str(tmp_path / "ok"), "--dest", str(tmp_path / "t2")]) == 0
    assert main(["bench-table", str(tmp_path / "ok"), "--dest", str(tmp_path / "t2")]) == 0  # its own: replaced
    (mine / "fig").mkdir()
    (mine / "fig" / "fig11-latency-vs-tau.png").write_bytes(b"my picture")
    capsys.readouterr()
    assert main(["bench-figures", str(tmp_path / "ok"), "--figure", "tau", "--dest", str(mine / "fig")]) == 2
    assert "not drawn by optdist" in capsys.readouterr().err
    assert (mine / "fig" / "fig11-latency-vs-tau.png").read_bytes() == b"my picture"
    for _ in range(2):
        assert main(["bench-figures", str(tmp_path / "ok"), "--figure", "tau", "--dest", str(tmp_path / "f2")]) == 0


# --- 6. a run the executor lost is no run result ---------------------------------------------------------------------


def hang_marked(inst, marker: str, **options):
    """Stand-in method: leaves the file ``marker`` once running, then hangs."""
    Path(marker).write_text("running")
    time.sleep(3600)


def test_runs_lost_with_the_dask_scheduler_are_left_unrecorded_and_redone(tmp_path, caplog, monkeypatch):
    """Before: the run was recorded as a failure ("executor: CancelledError"), charged at the time limit,
    and the resume skipped it."""
    distributed = pytest.importorskip("distributed")
    import threading

    monkeypatch.chdir(ROOT)
    inst = _instance(tmp_path)
    marker = tmp_path / "running"
    spec = load_spec(_spec(tmp_path, inst, methods=(f"{HERE}:hang_marked",),
                           method_options={f"{HERE}:hang_marked": {"marker": str(marker)}}))
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None)

    def lose_the_scheduler() -> None:
        deadline = time.monotonic() + 120
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        cluster.close()

    threading.Thread(target=lose_the_scheduler, daemon=True).start()
    rep = run_sweep(spec, scheduler=cluster.scheduler_address, allow_external=True, progress=False)
    assert marker.exists() and (rep.ran, rep.lost) == (0, 1)
    assert not list((tmp_path / "out" / "records").glob("*.json"))
    said = [r.getMessage() for r in caplog.records if "lost by the executor" in r.getMessage()]
    assert said and "run the same command again: it redoes them" in said[0], caplog.text
    from optdist.bench.runner import pending
    assert len(pending(tmp_path / "out", spec.runs())[0]) == 1  # a resume redoes it


# --- 7. a renamed spec into the folder of another -----------------------------------------------------------------


def test_a_renamed_spec_with_other_options_is_refused_into_the_same_folder(tmp_path, capsys):
    """Before: the second spec ran, and the tables counted each instance twice under greedy/milp's label."""
    inst = _instance(tmp_path)
    first = _spec(tmp_path, inst, name="a")
    assert main(["bench", str(first), "--no-progress"]) == 0
    second = _spec(tmp_path, inst, name="b", time_limit=20)
    capsys.readouterr()
    assert main(["bench", str(second), "--no-progress"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert 'spec "a" has recorded the run of' in err and "time_limit 30 there, 20 here" in err
    assert "count each instance twice" in err and "(fix: give this spec another out" in err
    assert len(list((tmp_path / "out" / "records").glob("*.json"))) == 2
    # a spec whose grid joins (another instance) is welcome
    other = inst.with_name("micro-1x3-tau0.8.json")
    shutil.copy(inst, other)
    _edit(other)
    assert main(["bench", str(_spec(tmp_path, other, name="c", time_limit=20)), "--no-progress"]) == 0


# --- 9. records carry the optdist commit and the solver's version ------------------------------------------------------


def test_records_carry_the_optdist_commit_and_the_solver_version(tmp_path):
    import subprocess

    import optdist

    inst = ROOT / "instances/tiny/lenet-1x4-tau0.8.json"
    run_sweep(load_spec(_spec(tmp_path, inst, formulations=["tight"])), progress=False)  # a model HiGHS solves
    recs = _records(tmp_path / "out")
    root = Path(optdist.__file__).resolve().parents[1]
    head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True)
    expected = head.stdout.strip() if head.returncode == 0 else None
    assert all(r["versions"]["optdist_commit"] == expected for r in recs.values())
    assert recs["milp"]["solver_version"] == recs["milp"]["extra"]["solver_version"] is not None
    assert recs["milp"]["solver_version"].split(".")[0].isdigit()
    assert recs["greedy"]["solver_version"] is None


# --- 10. messages -----------------------------------------------------------------------------------------------------


def test_a_literal_instance_path_with_a_bracket_is_said_to_be_a_glob(tmp_path, capsys):
    """Before: "matches no file" of a file that is there."""
    inst = tmp_path / "inst" / "micro[1].json"
    inst.parent.mkdir()
    shutil.copy(MICRO, inst)
    assert main(["bench", str(_spec(tmp_path, inst, methods=("greedy",))), "--no-progress"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "is read as a glob" in err and str(tmp_path / "inst" / "micro[[]1].json") in err, err
    assert main(["bench", str(_spec(tmp_path, Path(str(inst).replace("[1]", "[[]1]")), methods=("greedy",))),
                 "--no-progress"]) == 0  # the escaped form the fix gives runs


def test_solvers_with_only_methods_that_take_none_are_warned(tmp_path, capsys):
    inst = _instance(tmp_path)
    assert main(["bench", str(_spec(tmp_path, inst, methods=("greedy",))), "--no-progress", "--dry-run"]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert 'solvers "highs" are ignored: none of its methods "greedy" takes a solver' in err, err
    assert main(["bench", str(_spec(tmp_path, inst)), "--no-progress", "--dry-run"]) == 0
    assert "are ignored" not in capsys.readouterr().err


def test_a_glpk_pricing_solver_fix_names_the_spec_field(tmp_path, capsys):
    inst = _instance(tmp_path)
    spec = _spec(tmp_path, inst, options={"pricing_solver": "glpk"})
    assert main(["bench", str(spec), "--no-progress"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    fix = err.split("(fix: ")[-1]
    assert "GLPK is not trusted as a pricing solver" in err and 'options.pricing_solver = "highs"' in fix, err
    assert "--pricing-solver" not in fix


def test_bench_table_on_a_folder_it_cannot_write_names_dest(tmp_path, capsys):
    """/proc takes no folder, even for root (a read-only sweep folder as a user sees it)."""
    inst = _instance(tmp_path)
    assert main(["bench", str(_spec(tmp_path, inst, methods=("greedy",))), "--no-progress"]) == 0
    saved = tmp_path / "out" / "spec.json"
    saved.write_text(json.dumps(json.loads(saved.read_text()) | {"tables_dir": "/proc/sweep32-tables"}))
    capsys.readouterr()
    assert main(["bench-table", str(tmp_path / "out")]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"`optdist bench-table {tmp_path / 'out'} --dest DIR`" in err, err


def test_bench_refuses_before_its_runs_a_users_table_in_a_sweep_folder(tmp_path, capsys):
    inst = _instance(tmp_path)
    spec = _spec(tmp_path, inst, methods=("greedy",))
    assert main(["bench", str(spec), "--no-progress"]) == 0
    (tmp_path / "out" / "tables" / "gaps.md").write_text("# my own notes\n")
    (tmp_path / "out" / "tables" / "gaps.csv").unlink()
    for p in (tmp_path / "out" / "records").glob("*.json"):
        p.unlink()
    capsys.readouterr()
    assert main(["bench", str(spec), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "gaps.md exists and was not written by optdist" in err and "give another --out DIR" in err, err
    assert not list((tmp_path / "out" / "records").glob("*.json"))  # refused before any run
