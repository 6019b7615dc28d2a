"""sweep30: sweeps and their tables.

1. A run whose solver died (CBC SIGKILLed mid-run: termination ``error``, no objective, no bound)
   was recorded with status ``ok``: the sweep said "(0 failed)", exited 0 and ``--retry-errors``
   never redid it (``optdist solve`` exits 1 on the same crash). Now it is a failed run.
2. A sweep did not notice an edited solver profile (its records held only the profile's path).
3. Records contradicting themselves (a bound above their own objective; an objective the
   evaluator's re-score disagrees with) fed certificates.md / solvers.md.
4. ``bench-table --solu`` kept an ``=opt=`` below a record's proven bound: every gap became 100 %.
5. ``bench-figures`` without figures named no figure names (nor did ``--help``).
"""

from __future__ import annotations

import json

import pytest

from optdist.cli import main
from optdist.instance import Instance
from optdist.result import SolveResult

from .conftest import ROOT, kill_the_nth_solver, requires_solver

LENET = "instances/tiny/lenet-1x4-tau0.8.json"
HERE = "tests.test_sweep30"


@pytest.fixture(autouse=True)
def _at_root(monkeypatch):
    monkeypatch.chdir(ROOT)  # instance paths and the stand-in method resolve from the repo root


def milp_first_solver_killed(inst: Instance, solver: str, **options) -> SolveResult:
    """optdist's MILP (tight model) with its first solver process SIGKILLed mid-run (as the OOM
    killer would): a stand-in method for the sweep's worker, run there (``HERE:NAME`` in a spec)."""
    from optdist.solve import method_function

    killed: list[int] = []
    with pytest.MonkeyPatch.context() as mp:
        kill_the_nth_solver(mp, solver, 1, killed)
        res = method_function("milp")(inst, solver=solver, formulation="tight", **options)
    assert killed, "the solver was not killed"
    return res


def _spec(tmp_path, **over) -> str:
    doc = {"name": "s30", "out": str(tmp_path / "out"), "instances": [LENET], **over}
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(doc))
    return str(path)


def _records(tmp_path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((tmp_path / "out" / "records").glob("*.json"))]


@requires_solver("cbc")
def test_a_run_whose_solver_died_is_failed_exits_1_and_is_retried(tmp_path, capsys):
    spec = _spec(tmp_path, methods=[f"{HERE}:milp_first_solver_killed"], solvers=["cbc"],
                 solver_methods=[f"{HERE}:milp_first_solver_killed"])
    assert main(["bench", spec, "--no-progress", "--allow-external-methods"]) == 1
    out, err = capsys.readouterr()
    assert "(1 failed)" in out, out
    [rec] = _records(tmp_path)
    assert rec["summary"]["termination"] == "error" and rec["summary"]["objective"] is None
    assert rec["status"] == "error" and "SIGKILL" in rec["error"], rec.get("error")
    assert "1 runs failed" in err or "all runs failed" in err, err
    assert main(["bench", spec, "--dry-run", "--allow-external-methods"]) == 0  # resumes: recorded
    assert "0 of 1 runs to do" in capsys.readouterr().out
    assert main(["bench", spec, "--dry-run", "--retry-errors", "--allow-external-methods"]) == 0
    assert "1 of 1 runs to do" in capsys.readouterr().out


def test_a_record_of_termination_error_with_status_ok_counts_as_failed(tmp_path, capsys):
    """A record written before the fix (status ok, termination error) is failed too; a run that
    ended at its time limit without a solution is a result, not a failure (README)."""
    from optdist.bench.records import failed

    rec = {"status": "ok", "summary": {"termination": "error", "objective": None}}
    assert failed(rec)
    assert not failed({"status": "ok", "summary": {"termination": "no_solution"}})
    assert not failed({"status": "ok", "summary": {"termination": "time_limit"}})
    assert failed({"status": "timeout"})


def test_bench_figures_names_the_figures_when_none_is_given(tmp_path, capsys):
    from optdist.bench.figures import FIGURES

    (tmp_path / "records").mkdir()
    assert main(["bench-figures", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no figure named" in err and all(name in err for name in FIGURES), err
    with pytest.raises(SystemExit):
        main(["bench-figures", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert all(name in out for name in FIGURES), out


@pytest.fixture(scope="module")
def real_sweep(tmp_path_factory):
    """A real sweep of lenet-1x4 (tight MILP by HiGHS, proven optimal; and greedy): its folder."""
    import os

    tmp = tmp_path_factory.mktemp("sweep")
    doc = {"name": "s30", "out": str(tmp / "out"), "instances": [LENET], "methods": ["milp", "greedy"],
           "solvers": ["highs"], "formulations": ["tight"], "solver_methods": ["milp"]}
    (tmp / "spec.json").write_text(json.dumps(doc))
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        assert main(["bench", str(tmp / "spec.json"), "--no-progress"]) == 0
    finally:
        os.chdir(cwd)
    return tmp / "out"


def _copy(real_sweep, tmp_path):
    import shutil

    out = tmp_path / "out"
    shutil.copytree(real_sweep, out, ignore=shutil.ignore_patterns("tables", "figures", ".sweep.lock"))
    by = {}
    for p in (out / "records").glob("*.json"):
        rec = json.loads(p.read_text())
        by[rec["run"]["method"]] = (p, rec)
    return out, by


def _edit(path, rec, **summary):
    rec["summary"].update(summary)
    path.write_text(json.dumps(rec))


@requires_solver("highs")
@pytest.mark.parametrize("edit", ["bound_above_objective", "evaluator_disagrees"])
def test_a_record_that_contradicts_itself_is_in_no_table(real_sweep, tmp_path, capsys, edit):
    out, by = _copy(real_sweep, tmp_path)
    path, rec = by["milp"]
    obj = rec["summary"]["objective"]
    assert rec["summary"]["termination"] == "optimal" and obj > 0
    if edit == "bound_above_objective":
        _edit(path, rec, bound=obj * 1.5)
    else:
        _edit(path, rec, evaluator_objective=obj * 0.5)
    assert main(["bench-table", str(out)]) == 0
    err = capsys.readouterr().err
    assert str(path) in err, err
    tables = out / "tables"
    cert = tables / "certificates.csv"
    import pandas as pd

    c = pd.read_csv(cert)
    row = c.iloc[0]
    assert row["lower_bound"] != pytest.approx(obj * 1.5) and row["upper_bound"] != pytest.approx(obj * 0.5), row
    assert not (pd.notna(row["lower_bound"]) and row["lower_bound"] > row["upper_bound"]), row
    solvers = pd.read_csv(tables / "solvers.csv")
    assert "milp/highs/tight" not in set(solvers["config"]), solvers  # its only run is set aside
    for name in ("solvers.md", "gaps.md", "certificates.md"):
        text = (tables / name).read_text()
        assert "1 record(s) set aside" in text, (name, text)
        assert name == "certificates.md" or f"WARNING {path}" in text, (name, text)


@requires_solver("highs")
def test_a_solu_optimum_below_a_proven_bound_is_refused_for_the_tables(real_sweep, tmp_path, capsys):
    import pandas as pd

    out, by = _copy(real_sweep, tmp_path)
    path, rec = by["milp"]
    obj, bound = rec["summary"]["objective"], rec["summary"]["bound"]
    assert rec["summary"]["termination"] == "optimal" and bound == pytest.approx(obj, rel=1e-4)
    false = bound * 0.001
    solu = tmp_path / "ref.solu"
    solu.write_text(f"=opt= lenet-1x4-tau0.8 {false!r}\n")
    assert main(["bench-table", str(out), "--solu", str(solu)]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert f"{solu}: =opt= lenet-1x4-tau0.8 {false:.12g} is below the bound {bound:.12g}" in err, err
    assert str(path) in err and "refused" in err, err
    rows = pd.read_csv(out / "tables" / "gaps-by-instance.csv").set_index("config")
    assert rows.at["milp/highs/tight", "reference"] == pytest.approx(obj)  # the records' own optimum
    assert rows.at["milp/highs/tight", "gap_to_ref"] == pytest.approx(0.0, abs=1e-6)
    gaps = (out / "tables" / "gaps.md").read_text()
    assert f"=opt= lenet-1x4-tau0.8 {false:.12g} is below the bound" in " ".join(gaps.split())


def _profile(path, solver: str, **solver_options) -> None:
    raw = "".join(f"{k} = {json.dumps(v)}\n" for k, v in solver_options.items())
    path.write_text(f'name = "{path.stem}"\nsolver = "{solver}"\n' + (f"[solver_options]\n{raw}" if raw else ""))


def _todo(spec, capsys) -> str:
    assert main(["bench", spec, "--dry-run"]) == 0
    return capsys.readouterr().out.strip().splitlines()[-1]


@requires_solver("highs")
@requires_solver("cbc")
def test_an_edited_solver_profile_file_reruns_its_runs(tmp_path, capsys, caplog):
    prof = tmp_path / "my.toml"
    _profile(prof, "highs")
    spec = _spec(tmp_path, methods=["milp"], solvers=[str(prof)], formulations=["tight"])
    assert main(["bench", spec, "--no-progress"]) == 0
    capsys.readouterr()
    [first] = _records(tmp_path)
    assert _todo(spec, capsys) == "0 of 1 runs to do"
    prof.write_text(prof.read_text() + "# a comment is no change\n")
    assert _todo(spec, capsys) == "0 of 1 runs to do"
    _profile(prof, "highs", presolve="off")  # raw options
    assert _todo(spec, capsys) == "1 of 1 runs to do"
    _profile(prof, "cbc")  # another adapter
    assert _todo(spec, capsys) == "1 of 1 runs to do"
    assert main(["bench", spec, "--no-progress"]) == 0
    out, err = capsys.readouterr()
    assert "1 run now (0 failed)" in out, out
    assert "the solver profile" in caplog.text and 'adapter "highs" -> "cbc"' in caplog.text, caplog.text
    assert first["solver_profile"]["solver"] == "highs" and first["solver_profile"]["path"] == str(prof)
    [rec] = _records(tmp_path)
    assert rec["solver_profile"]["solver"] == "cbc" and rec["summary"]["termination"] == "optimal"
    assert _todo(spec, capsys) == "0 of 1 runs to do"


@requires_solver("highs")
def test_an_edited_bundled_profile_reruns_its_runs(tmp_path, capsys, monkeypatch):
    import shutil

    import importlib

    profiles_module = importlib.import_module("optdist.solvers.profiles")

    folder = tmp_path / "solvers"
    shutil.copytree(ROOT / "solvers", folder)
    monkeypatch.setenv("OPTDIST_SOLVERS", str(folder))  # the workers' solvers/
    monkeypatch.setattr(profiles_module, "SOLVERS_DIR", folder)  # this process's
    spec = _spec(tmp_path, methods=["milp"], solvers=["highs-1thread"], formulations=["tight"])
    assert main(["bench", spec, "--no-progress"]) == 0
    capsys.readouterr()
    assert _todo(spec, capsys) == "0 of 1 runs to do"
    text = (folder / "highs-1thread.toml").read_text()
    (folder / "highs-1thread.toml").write_text(text.replace("seed = 0", "seed = 7"))
    assert _todo(spec, capsys) == "1 of 1 runs to do"
    [rec] = _records(tmp_path)
    assert rec["solver_profile"]["options"] == {"threads": 1, "seed": 0}
