"""engine31b: the one rule for two gaps in ``pareto`` and inside one profile, in the caller's
words (Python's ``mip_gap=``/``solver_options=``, the command line's ``--gap``/``--solver-option``);
``optdist.solvers.register`` for an adapter class of one's own and the unknown-solver fix naming
the real profile folder; the pricing move's progress line naming the request's id."""

from __future__ import annotations

import logging
import re

import pytest

import optdist
from optdist.cli import main
from optdist.milp.pareto import pareto_sweep
from optdist.paths import SOLVERS_DIR
import optdist.solvers as solvers
from optdist.solvers import ADAPTERS, Solver, get_solver, unknown_solver
from optdist.solvers.highs import Highs

from .conftest import ROOT, refused, requires_solver

MICRO = str(ROOT / "instances" / "tiny" / "micro-1x3-tau0.6.json")


def _profile(tmp_path, options: str = "", raw: str = "mip_rel_gap = 0.9", name: str = "highs-loose"):
    path = tmp_path / f"{name}.toml"
    path.write_text(f'name = "{name}"\nsolver = "highs"\n[options]\n{options}\n[solver_options]\n{raw}\n')
    return path


# --- 1. the rule in pareto and inside one profile ---------------------------------------------------------------


def test_pareto_refuses_mip_gap_beside_a_profiles_different_raw_gap(tmp_path):
    """Before: the sweep ran, the profile's mip_rel_gap=0.9 silently won over mip_gap=0.1."""
    prof = _profile(tmp_path)
    with pytest.raises(ValueError) as e:
        pareto_sweep(optdist.load_instance(MICRO), 2, solver=str(prof), mip_gap=0.1)
    assert str(e.value).startswith(
        f"mip_gap=0.1 and mip_rel_gap = 0.9 in the [solver_options] of solver profile highs-loose ({prof}) both set "
        "the relative gap of solver highs-loose, to different values (fix: give it once: leave mip_gap= out to run "
        "the profile's 0.9, or remove mip_rel_gap from the profile's [solver_options])"), e.value
    front = pareto_sweep(optdist.load_instance(MICRO), 1, solver=str(prof), mip_gap=0.9)  # one gap: runs
    assert front.solved


@pytest.mark.parametrize("adapter, native", [("highs", "mip_rel_gap"), ("scip", '"limits/gap"'),
                                             ("cbc", "ratioGap"), ("glpk", "mipgap")])
def test_a_profile_whose_own_mip_gap_differs_from_its_own_raw_gap_is_refused_when_read(tmp_path, adapter, native):
    """Before: accepted; the raw gap won inside the solver over the profile's own [options] mip_gap.
    (Read only: no solver runs, so none needs to be installed.)"""
    path = tmp_path / "two.toml"
    path.write_text(f'name = "two"\nsolver = "{adapter}"\n[options]\nmip_gap = 0.1\n[solver_options]\n{native} = 0.5\n')
    with pytest.raises(ValueError) as e:
        get_solver(str(path))
    bare = native.strip('"')
    assert str(e.value) == (
        f"{path}: mip_gap = 0.1 in [options] and {bare} = 0.5 in [solver_options] both set the relative gap of "
        f"solver {adapter}, to different values (fix: give it once: remove mip_gap from [options] to run 0.5, or "
        f"{bare} from [solver_options] to run 0.1)"), e.value
    path.write_text(f'name = "two"\nsolver = "{adapter}"\n[options]\nmip_gap = 0.5\n[solver_options]\n{native} = 0.5\n')
    assert get_solver(str(path)).solver_options[bare] == 0.5  # the same value both ways is one gap


def test_the_cli_refuses_a_profile_with_two_own_gaps_naming_the_file(tmp_path, capsys):
    prof = _profile(tmp_path, options="mip_gap = 0.1")
    err = refused(main, capsys, "solve", MICRO, "--solver", str(prof))
    assert f"{prof}: mip_gap = 0.1 in [options] and mip_rel_gap = 0.9 in [solver_options] both set" in err, err


# --- 4. the Python API's words from Python, the flags on the command line -----------------------------------------


def test_python_gets_its_own_names_and_the_cli_its_flags(capsys):
    """Before: optdist.solve(mip_gap=0.1, solver_options=...) said "--gap 0.1 and --solver-option ..."."""
    with pytest.raises(ValueError) as e:
        optdist.solve(MICRO, mip_gap=0.1, solver_options={"mip_rel_gap": 0.9})
    assert str(e.value) == (
        "mip_gap=0.1 and solver_options={'mip_rel_gap': 0.9} both set the relative gap of solver highs, to different "
        "values (fix: give it once, e.g. mip_gap=0.9 without 'mip_rel_gap' in solver_options)"), e.value
    assert "--" not in str(e.value)
    err = refused(main, capsys, "solve", MICRO, "--gap", "0.1", "--solver-option", "mip_rel_gap=0.9")
    assert ("--gap 0.1 and --solver-option mip_rel_gap=0.9 both set the relative gap of solver highs, to different "
            "values (fix: give it once, e.g. --gap 0.9)") in err, err


def test_python_names_for_a_profiles_raw_gap(tmp_path):
    prof = _profile(tmp_path)
    with pytest.raises(ValueError) as e:
        optdist.solve(MICRO, solver=str(prof), mip_gap=0.1)
    assert str(e.value).startswith(f"mip_gap=0.1 and mip_rel_gap = 0.9 in the [solver_options] of solver profile "
                                   f"highs-loose ({prof})") and str(e.value).endswith(
        "leave mip_gap= out to run the profile's 0.9, or remove mip_rel_gap from the profile's [solver_options], or "
        "give solver_options={'mip_rel_gap': 0.1} to override it)"), e.value


# --- 2. a solver of one's own --------------------------------------------------------------------------------------


class MyHighs(Highs):
    """HiGHS under a name of one's own (a real adapter: it solves)."""

    name = "my-highs"


@pytest.fixture
def my_highs():
    solvers.register("my-highs", MyHighs)
    try:
        yield MyHighs
    finally:
        solvers.unregister("my-highs")
    assert "my-highs" not in ADAPTERS


def test_a_registered_adapter_solves_by_name_and_from_a_profile(my_highs, tmp_path):
    """Before: no documented way (a Solver class given to optdist.solve is refused)."""
    assert ADAPTERS["my-highs"] is MyHighs and "my-highs" not in solvers.BUILT_IN
    ref = optdist.solve(MICRO, mip_gap=0.0)
    res = optdist.solve(MICRO, solver="my-highs", mip_gap=0.0)
    assert res.termination == "optimal" and res.objective == pytest.approx(ref.objective, rel=1e-9)
    prof = tmp_path / "mine.toml"
    prof.write_text('name = "mine"\nsolver = "my-highs"\n[options]\nthreads = 1\n')
    adapter = get_solver(str(prof))
    assert type(adapter) is MyHighs and adapter.defaults == {"threads": 1}
    assert optdist.solve(MICRO, solver=str(prof), mip_gap=0.0).objective == pytest.approx(ref.objective, rel=1e-9)


def test_register_refuses_what_would_not_work(my_highs):
    class Other(Highs):
        name = "other"

    class Clash(Highs):
        name = "highs-1thread"

    class Abstract(Solver):
        name = "abstract"

    for args, said in [
        (("highs", Highs), 'adapter "highs" is taken by optdist.solvers.highs.Highs (fix: choose another name)'),
        (("my-highs", MyHighs), 'adapter "my-highs" is taken by'),
        (("highs-1thread", Clash), f"is the name of the profile {ROOT / 'solvers' / 'highs-1thread.toml'}, which "
                                   "--solver highs-1thread would run (fix: choose another name)"),
        (("x", Highs()), "is not a subclass of optdist.solvers.Solver (fix: give the class, not an instance"),
        (("x", dict), "is not a subclass of optdist.solvers.Solver"),
        (("mine", Other), 'the class\'s name is "other" (fix: set name = "mine" in the class)'),
        (("abstract", Abstract), "Abstract does not define _check_available"),
        (("", MyHighs), "is no adapter name"),
        (("x.toml", MyHighs), "is no adapter name"),
    ]:
        with pytest.raises(ValueError, match=re.escape(said)):
            solvers.register(*args)
    with pytest.raises(ValueError, match="a built-in adapter stays"):
        solvers.unregister("highs")
    assert set(ADAPTERS) == solvers.BUILT_IN | {"my-highs"}


def test_the_conformance_suite_lists_a_registered_adapter(my_highs):
    """The suite parametrizes over ADAPTERS at collection: registered before (a conftest.py), an
    adapter of one's own is checked like the built-in ones; the built-in list stays complete."""
    import importlib

    import tests.test_solver_conformance as suite

    suite = importlib.reload(suite)
    assert [p.values[0] for p in suite.SOLVERS] == [*sorted(solvers.BUILT_IN, key=list(ADAPTERS).index), "my-highs"]


def test_the_unknown_solver_fix_names_the_real_profile_folder():
    """Before: "add one as solvers/NAME.toml", read as the working folder's."""
    said = unknown_solver("zzzq", "--solver")
    assert said.endswith(f"profiles in {SOLVERS_DIR}: cbc, cplex, glpk, gurobi, highs, highs-1thread, scip, xpress; "
                         f"add one as {SOLVERS_DIR / 'NAME.toml'} (another folder: set OPTDIST_SOLVERS), or give a "
                         "profile by path, e.g. --solver ./mine.toml)"), said
    assert SOLVERS_DIR.is_absolute()


# --- 3. the pricing move's progress line names the request's id ---------------------------------------------------


@requires_solver("scip")
def test_the_pricing_move_line_names_the_requests_id(monkeypatch, caplog):
    """Before: "class r0's pricing moves to scip" with request ids r1..r10 (the index)."""
    from optdist.milp.decomposition import colgen

    monkeypatch.setattr(colgen, "STALL_GAP", -1.0)  # every class whose HiGHS pricing is cut at the cap moves
    inst = optdist.load_instance(ROOT / "instances/paper/lenet-10x10-tight-tau0.8.json")
    with caplog.at_level(logging.INFO, logger="optdist"):
        res = colgen.column_generation(inst, solver="highs", time_limit=8, threads=1, pricing_time_limit=0.1,
                                       max_rounds=2, branching=False)
    moved = res.extra.get("pricing_moved")
    if not moved:
        pytest.skip("no class's HiGHS pricing stalled at the cap in this run")
    lines = [r.getMessage() for r in caplog.records]
    for m in moved:
        rid = m["request"]
        assert rid in inst.request_ids, m  # the id (r1..r10), not the index (0..9)
        assert f"class {rid}'s pricing moves to scip: {m['why']}" in lines, lines
    assert not any(line.startswith("class r0's") for line in lines), lines
