"""left41: a solver without a parallel search (GLPK, SCIP) says that it runs on one thread where
more are asked (before, ``--threads 4`` was dropped unsaid); glpsol's ``btf`` without ``cbg`` or
``cgr``, and its MathProg-only ``model``, ``data`` and ``display``, are refused before glpsol runs,
as is an ``ini`` basis file that is not there, in a bench spec naming the spec file and the field
(before: glpsol aborted, SIGABRT, or failed with "glpk failed with the raw solver options ... (Solver
(glpk) did not exit normally)")."""

from __future__ import annotations

import json

import pytest

from optdist.bench.spec import load_spec
from optdist.cli import main
from optdist.solve import solve
from optdist.solvers import base

from .conftest import requires_solver
from .test_break40 import refused_in_an_empty_folder
from .test_fix39 import MICRO
from .test_fix40 import micro_spec, spec_with_solver_options

ONE_THREAD = "solver glpk runs on one thread whatever threads says (4 asked: it has no parallel search)"
BTF = ("glpsol's --btf (block triangular LU-factorization) takes only the Schur-complement updates --cbg or --cgr, "
       "not --ft (its default update), and glpsol aborts on it (fix: give cbg or cgr with btf")


@pytest.fixture
def noted_afresh():
    """The one-thread note is said once a process: said again in each test."""
    base._note_once.cache_clear()
    yield
    base._note_once.cache_clear()


@requires_solver("glpk")
def test_glpk_at_four_threads_says_it_runs_on_one(tmp_path, capsys, noted_afresh):
    """``--threads 4``: a note on stderr (none with ``-q``) and ``extra["threads_unused"]``; the run's
    options keep the 4 asked. HiGHS, which runs on 4, says nothing."""
    out = tmp_path / "r.json"
    solve = ["solve", str(MICRO), "--formulation", "tight", "--threads", "4"]
    assert main([*solve, "--solver", "glpk", "--out", str(out)]) == 0
    assert capsys.readouterr().err.count(f"optdist: {ONE_THREAD}\n") == 1
    doc = json.loads(out.read_text())
    assert doc["options"]["threads"] == 4 and doc["extra"]["threads_unused"] == ONE_THREAD
    base._note_once.cache_clear()
    assert main(["-q", *solve, "--solver", "glpk"]) == 0
    assert "thread" not in capsys.readouterr().err
    assert main([*solve, "--solver", "highs", "--out", str(tmp_path / "highs.json")]) == 0
    assert "one thread" not in capsys.readouterr().err
    assert "threads_unused" not in json.loads((tmp_path / "highs.json").read_text())["extra"]


@requires_solver("glpk")
def test_a_decomposed_glpk_solve_at_four_threads_records_it(tmp_path, noted_afresh):
    """The default formulation on micro-2x3-tight is the decomposition, whose result is its own
    (before, the solves' ``threads_unused`` did not reach it)."""
    out = tmp_path / "r.json"
    assert main(["-q", "solve", str(MICRO), "--solver", "glpk", "--threads", "4", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["extra"]["formulation_chosen"] == "decomposed" and doc["extra"]["threads_unused"] == ONE_THREAD


@requires_solver("glpk")
def test_a_glpk_profile_at_four_threads_says_so(tmp_path, capsys, noted_afresh):
    profile = tmp_path / "glpk-4.toml"
    profile.write_text('name = "glpk-4"\nsolver = "glpk"\n\n[options]\nthreads = 4\n')
    assert main(["solve", str(MICRO), "--formulation", "tight", "--solver", str(profile)]) == 0
    assert f"optdist: {ONE_THREAD}\n" in capsys.readouterr().err


def test_a_bench_spec_at_four_threads_says_glpk_runs_on_one(tmp_path, capsys):
    """Said once where the sweep starts (each run's own note goes to its log), for GLPK, not HiGHS."""
    spec = micro_spec(tmp_path, ["glpk", "highs"], 'formulations = ["tight", "compact"]\nthreads = 4\n')
    assert main(["bench", str(spec), "--dry-run"]) == 0
    err = capsys.readouterr().err
    assert err.count(f"optdist: {spec}: {ONE_THREAD}\n") == 1 and "highs" not in err


@requires_solver("glpk")
@pytest.mark.parametrize(("options", "said", "remove"), [
    ("btf=", "without cbg or cgr", ""),  # glpsol aborted: SIGABRT, no result
    ("btf= ft=", "with ft", ", and remove ft"),  # --ft after --btf: the same abort
])
def test_glpsol_btf_without_its_update_is_refused_before_glpsol_runs(options, said, remove, tmp_path, monkeypatch,
                                                                     capsys):
    monkeypatch.chdir(tmp_path)
    args = ["solve", str(MICRO), "--solver", "glpk", "--formulation", "tight"]
    assert main([*args, *(w for o in options.split() for w in ("--solver-option", o))]) == 2
    assert capsys.readouterr().err == (f"optdist solve: error: --solver-option: btf {said}: {BTF}{remove}, "
                                       "e.g. --solver-option cbg=)\n")  # all it says: before the model's build
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match=f"^solver_options: btf {said}: "):  # the API: before glpsol runs
        solve(MICRO, formulation="tight", solver="glpk", solver_options={o.rstrip("="): "" for o in options.split()})


@requires_solver("glpk")
@pytest.mark.parametrize("update", ["cbg", "cgr"])
def test_glpsol_btf_with_its_update_solves(update, tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["solve", str(MICRO), "--solver", "glpk", "--formulation", "tight", "--solver-option", "btf=",
                 "--solver-option", f"{update}=", "--out", str(out)]) == 0
    assert json.loads(out.read_text())["termination"] == "optimal"


@requires_solver("glpk")
@pytest.mark.parametrize(("option", "does"), [
    ("model=x.mod", "reads a MathProg model from a file, a second problem beside optdist's (glpsol: 'Only one input "
                    "problem file allowed')"),  # was: "glpk failed with the raw solver options model = ..."
    ("data=x.dat", "applies to a MathProg model (--math) only, not to optdist's model"),  # was: no effect, unsaid
])
def test_glpsol_mathprog_options_are_refused_before_glpsol_runs(option, does, tmp_path, monkeypatch, capsys):
    key, value, err = refused_in_an_empty_folder("glpk", option, tmp_path, monkeypatch, capsys)
    assert err.startswith(f'optdist solve: error: --solver-option: {key} = "{value}": glpsol\'s --{key} {does}; ')


@requires_solver("glpk")
def test_a_glpsol_basis_file_that_is_not_there_is_refused_before_glpsol_runs(tmp_path, monkeypatch, capsys):
    """Before: with ``nointopt``, glpsol failed as it ran ("Unable to open 'nope.bas'"); without, it
    ran on, the file unread and unsaid."""
    key, value, err = refused_in_an_empty_folder("glpk", "ini=nope.bas", tmp_path, monkeypatch, capsys)
    assert err == ('optdist solve: error: --solver-option: ini = "nope.bas": no such file (glpsol\'s --ini reads the '
                   f"initial basis from it, as glpsol's -w wrote it, relative to {tmp_path}; fix: give the path of "
                   "that file, or remove ini)\n")


@requires_solver("glpk")
@pytest.mark.parametrize(("line", "said"), [
    ('btf = ""', f"btf without cbg or cgr: {BTF}, e.g. cbg = \"\")"),
    ('model = "x.mod"', 'model = "x.mod": glpsol\'s --model reads a MathProg model from a file'),
    ('ini = "nope.bas"\nnointopt = ""', 'ini = "nope.bas": no such file'),  # glpsol: "Unable to open"
])
def test_a_bench_spec_names_itself_and_the_field_for_a_refused_glpsol_option(line, said, tmp_path):
    """Before: every GLPK run of the sweep failed (an abort, or "glpk failed ..."), naming neither."""
    spec = spec_with_solver_options(tmp_path, "glpk", line)
    with pytest.raises(ValueError) as got:
        load_spec(spec)
    assert str(got.value).startswith(f"{spec}: options.solver_options (solver glpk): {said}")


@pytest.mark.parametrize(("limit", "tmlim"), [(27.7, 26), (2.0, 1), (1.5, 1), (0.05, 1), (1e308, 2**31 - 1)])
def test_glpsol_gets_its_limit_less_its_overrun(limit, tmlim):
    """``--tmlim`` ends :data:`~optdist.solvers.glpk.TMLIM_MARGIN_S` before the limit: glpsol ran 0.3-0.4 s
    past it, so at the CLI's run deadline (no grace) it was killed, incumbent lost (``optdist solve`` of an
    8,064-variable per-map model, ``--time-limit 30``: "no_solution (stopped past its time limit: Solver
    (glpk) did not exit normally)"; now "no_solution (ok/maxTimeLimit)")."""
    from optdist.solvers.glpk import Glpk

    got = Glpk().native_value("time_limit", limit)
    assert got == tmlim and type(got) is int
