"""fixc31: a sweep whose solver runs all kept a warm start says so; --write-solu keeps a .solu file's
comments; the false-.solu-line warning names only the proving records; --write-solu DIR suggests a
.solu name; one rule for calibrate's comma lists; SolveResult.load refuses a self-contradicting result.

Real HiGHS/CBC on tiny instances; the lying CBC is the stand-in of tests/test_solverout30.py."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import requires_solver
from tests.test_solverout30 import LENET, LIES_INFEASIBLE, _cbc_rewriting, _run

# --- 1. every solver run ended error but kept its warm start ---------------------------------------------------


@requires_solver("cbc")
def test_a_sweep_whose_runs_kept_their_warm_start_says_so_on_stderr(tmp_path):
    """Before: "2 runs ... (0 failed)", exit 0, nothing on stderr."""
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps({"name": "t", "out": str(tmp_path / "o"), "instances": [str(LENET)],
                                "methods": ["milp"], "solvers": ["cbc"], "formulations": ["tight", "compact"]}))
    run = _run("bench", str(spec), "--no-progress", path=_cbc_rewriting(tmp_path / "bin", LIES_INFEASIBLE))
    assert run.returncode == 0, run.stderr  # exit status unchanged: results, not failures
    assert "(0 failed)" in run.stdout
    lines = [x for x in run.stderr.splitlines() if "ended in solver error" in x]
    assert len(lines) == 1, run.stderr
    assert "t: 2 of 2 runs ended in solver error" in lines[0] and "kept their feasible warm start" in lines[0]
    assert str(tmp_path / "o" / "records") in lines[0] and "--cbc--tight--" in lines[0]


# --- 6. SolveResult.load refuses a result that contradicts itself -----------------------------------------------


def _saved(tmp_path: Path):
    import optdist

    inst = optdist.load_instance(LENET)
    res = optdist.solve(inst, formulation="tight")
    return inst, res, res.save(inst, tmp_path / "r.json")


def _edited(path: Path, **fields) -> Path:
    doc = json.loads(path.read_text())
    doc.update(fields)
    out = path.with_name(f"edited-{'-'.join(fields)}.json")
    out.write_text(json.dumps(doc))
    return out


def test_solve_result_load_refuses_a_result_that_contradicts_itself(tmp_path):
    """Before: each loaded, as "optimal"."""
    import pytest

    from optdist.result import SolveResult, Termination

    inst, res, path = _saved(tmp_path)
    assert SolveResult.load(path, inst).termination is Termination.OPTIMAL  # the file as written loads
    obj = res.objective
    bad = _edited(path, bound=obj * 2)  # optimal, bound above the objective
    with pytest.raises(ValueError, match=r"bound .* is above its own objective") as e:
        SolveResult.load(bad, inst)
    assert str(bad) in str(e.value) and "fix:" in str(e.value)
    bad = _edited(path, objective=1e-9, bound=1e-9)  # the evaluator scores the placement far higher
    with pytest.raises(ValueError, match=r"evaluator_objective .* is not its objective 1e-09") as e:
        SolveResult.load(bad, inst)
    assert str(bad) in str(e.value) and "fix:" in str(e.value)
    bad = _edited(path, assignment=None)  # optimal without a placement
    with pytest.raises(ValueError, match=r'field "termination" is "optimal" but field "assignment" is null') as e:
        SolveResult.load(bad, inst)
    assert str(bad) in str(e.value) and "fix:" in str(e.value)


def test_solve_result_load_uses_the_tables_rule_not_a_copy():
    import inspect

    from optdist import result

    assert "summary_contradiction(" in inspect.getsource(result._refuse_contradiction)


# --- 2-4. bench-table --solu / --write-solu ----------------------------------------------------------------------

MICRO = "instances/tiny/micro-1x3-tau0.6.json"


def _sweep(tmp_path: Path) -> Path:
    """A tiny sweep: HiGHS (proves a bound) and the greedy (bound null) on one micro instance."""
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps({"name": "t", "out": str(tmp_path / "o"), "instances": [MICRO],
                                "methods": ["milp", "greedy"]}))
    run = _run("bench", str(spec), "--no-progress")
    assert run.returncode == 0, run.stderr
    return tmp_path / "o"


def test_write_solu_keeps_the_comments_of_the_solu_file(tmp_path):
    """Before: every comment and blank line of F was dropped."""
    out = _sweep(tmp_path)
    solu = tmp_path / "f.solu"
    solu.write_text("# references of the paper\n\n=best= other-instance 2.5  # from Table 3\n"
                    "# the micro one\n=opt= micro-1x3-tau0.6 1e-5  # a typo\n")
    run = _run("bench-table", str(out), "--solu", str(solu), "--write-solu", str(solu))
    assert run.returncode == 0, run.stderr
    lines = solu.read_text().splitlines()
    assert lines[:4] == ["# references of the paper", "", "=best= other-instance 2.5  # from Table 3", "# the micro one"]
    assert lines[4].split()[:2] == ["=opt=", "micro-1x3-tau0.6"] and float(lines[4].split()[2]) > 3e-5, lines
    assert len(lines) == 5


def test_a_false_solu_line_names_only_the_records_that_prove_the_bound(tmp_path):
    """Before: the greedy's record (bound null) was among "the records [that] prove" the bound,
    and the fix said "delete that record"."""
    out = _sweep(tmp_path)
    solu = tmp_path / "f.solu"
    solu.write_text("=opt= micro-1x3-tau0.6 1e-5\n")
    run = _run("bench-table", str(out), "--solu", str(solu))
    assert run.returncode == 0, run.stderr
    warn = next(x for x in run.stderr.splitlines() if "that the records prove" in x)
    assert "--milp--" in warn and "--greedy--" not in warn, warn


def test_write_solu_of_a_folder_suggests_a_solu_file_name(tmp_path):
    """Before: "(fix: give a file name in it, e.g. DIR/result.json)"."""
    out = _sweep(tmp_path)
    run = _run("bench-table", str(out), "--write-solu", str(tmp_path))
    assert run.returncode == 2
    assert f"e.g. {tmp_path / 'reference.solu'}" in run.stderr and "result.json" not in run.stderr


# --- 5. one rule for calibrate's comma lists ---------------------------------------------------------------------


def _calibrate_error(capsys, *args: str) -> str:
    from optdist.cli import main

    try:
        code = main(["calibrate", *args])
    except SystemExit as e:  # argparse's own exit, or main's return of it
        code = e.code
    assert code == 2
    return capsys.readouterr().err


def test_calibrate_comma_lists_follow_one_rule(capsys):
    """Before: --taus 0.5,,0.4 and 0.5, accepted, '0.5, 0.4' refused as not a list; --maps 2,2
    silently deduplicated, --maps 1,,2 accepted."""
    for flag, value, what in (("--taus", "0.5,,0.4", "tau"), ("--taus", "0.5,", "tau"),
                              ("--layers", "conv1,,ReLU1", "layer name"), ("--maps", "1,,2", "m value"),
                              ("--input", "3,,32", "number")):
        err = _calibrate_error(capsys, flag, value)
        assert f"{flag} {value} has an empty {what} (fix:" in err, err
    err = _calibrate_error(capsys, "--maps", "2,2")
    assert "--maps 2,2 gives 2 more than once (fix: give each m value once" in err, err
    # spaces around items are allowed for every list: the next error is the repeated layer, not the taus
    err = _calibrate_error(capsys, "--taus", "0.5, 0.4", "--maps", "4, 2", "--layers", "conv1, conv1")
    assert "--layers 'conv1, conv1' gives conv1 more than once" in err and "--taus" not in err, err
    # an input shape may repeat a number
    err = _calibrate_error(capsys, "--input", "3, 32, 32", "--maps", "2,2")
    assert "--input" not in err and "--maps 2,2 gives 2" in err, err
