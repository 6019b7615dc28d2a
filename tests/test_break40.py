"""break40: raw CBC and GLPK options that are no setting of the solve are refused before any run.

Before: CBC's actions ran inside optdist's run of CBC (``export=`` wrote a file named ``-stat=1`` in
the working directory, ``quit=`` ended CBC before its solve, ``-`` switched it to reading commands
from stdin, ``restore=`` and ``printMask=x`` crashed it), ``direction=max`` made it report
'unbounded', ``keepNames=off`` an internal error, and a value of 1,000 characters crashed it in
every run though asked up front; glpsol's ``wlp=FILE``/``log=FILE`` wrote those files, ``max=``
reported 'unbounded', ``read=FILE`` read a solution instead of solving; a NUL in a CBC value was
"embedded null byte", naming nothing."""

from __future__ import annotations

import pytest

from optdist.bench.spec import load_spec
from optdist.cli import main
from optdist.jsonfile import json_text
from optdist.solvers import ADAPTERS

from .conftest import ROOT, refused, requires_solver
from .test_fix39 import MICRO
from .test_fix40 import spec_with_solver_options
from .test_dual34 import tb  # noqa: F401 - the fixture: trajectory_bound.py as a module
from .test_scratch38 import scratch  # noqa: F401 - the fixture: from_scratch.py as a module

CBC_ACTION = ("names one of CBC's actions or string parameters ({said}), not a parameter of its solve: optdist's run "
              "of CBC imports the model, solves it and writes its solution itself, and a raw option only sets a "
              "numeric or keyword parameter (fix: remove it; `cbc -?` lists the parameters)")
GLPSOL_RUN = ("optdist's run of glpsol gives it the model and reads back its solution itself, and a raw option only "
              "sets how it solves (fix: remove it)")


def refused_in_an_empty_folder(solver: str, option: str, tmp_path, monkeypatch, capsys) -> tuple[str, str, str]:
    """``optdist solve`` of :data:`MICRO` with ``solver`` and the raw ``option`` (KEY=VALUE), run in the
    empty ``tmp_path``: it must exit 2 and write nothing there. Returns KEY, VALUE and its stderr."""
    monkeypatch.chdir(tmp_path)
    args = ["solve", str(MICRO), "--solver", solver, "--formulation", "tight", "--solver-option", option]
    assert main(args) == 2
    assert list(tmp_path.iterdir()) == []
    key, _, value = option.partition("=")
    return key, value, capsys.readouterr().err


@requires_solver("cbc")
@pytest.mark.parametrize(("option", "said"), [
    ("export=", '"export : Export model as mps file"'),  # wrote the model to a file named '-stat=1'
    ("quit=", '"quit : Stops clp execution"'),  # CBC ended before its solve: no result, exit 1
    ("directory=/tmp", '"directory : Set Default directory for import etc."'),  # a string parameter
])
def test_a_cbc_action_is_refused_before_cbc_runs(option, said, tmp_path, monkeypatch, capsys):
    key, value, err = refused_in_an_empty_folder("cbc", option, tmp_path, monkeypatch, capsys)
    assert err == f'optdist solve: error: --solver-option: {key} = "{value}" {CBC_ACTION.format(said=said)}\n'


@requires_solver("cbc")
def test_cbc_reading_stdin_is_refused():
    """``-`` (CBC's "From stdin", which the command line cannot give but a mapping can): before, CBC
    read its commands from optdist's stdin (a terminal: it waited there)."""
    with pytest.raises(ValueError) as got:
        ADAPTERS["cbc"]().check_raw_options({"-": ""})
    assert str(got.value) == f'solver_options: - = "" {CBC_ACTION.format(said=chr(34) + "- : From stdin" + chr(34))}'


@requires_solver("cbc")
@pytest.mark.parametrize(("key", "value", "undoes"), [
    ("direction", "max", "sets the objective's sense (optdist's models minimise)"),  # was: 'unbounded', exit 1
    ("keepN", "off", "drops the names from the solution file, by which optdist reads it"),  # was: exit 3
    ("cpp", 0, "writes C++ code to a file (user_driver.cpp)"),  # wrote it in the working directory
])
def test_cbc_parameters_that_undo_the_run_are_refused(key, value, undoes):
    with pytest.raises(ValueError) as got:
        ADAPTERS["cbc"]().check_raw_options({key: value})
    assert str(got.value) == f"solver_options: {key} = {json_text(value)}: CBC's {key} {undoes} (fix: remove it)"


@requires_solver("cbc")
@pytest.mark.parametrize(("key", "value", "does"), [
    ("preprocess", "save", "save writes the preprocessed model to a file (presolved.mps)"),  # wrote it in the cwd
    ("preprocess", "STOP", "stop writes the preprocessed model to a file and stops before its solve"),  # and no result
    ("presolve", "file", "file writes the model to a file"),
])
def test_cbc_keywords_that_write_files_are_refused(key, value, does):
    with pytest.raises(ValueError) as got:
        ADAPTERS["cbc"]().check_raw_options({key: value})
    assert str(got.value) == (f'solver_options: {key} = "{value}": CBC\'s {key} {does} (fix: give another value; '
                              f"`cbc -{key}??` lists them)")
    assert ADAPTERS["cbc"]().check_raw_options({key: "off"}) == {key: "off"}


@requires_solver("cbc")
def test_a_value_cbc_crashes_on_is_refused():
    """CBC 2.10 crashes (SIGSEGV) reading a value of 1,000 characters: the up-front ask saw no refusal
    in its output, so every run crashed."""
    value = "o" * 1000
    with pytest.raises(ValueError) as got:
        ADAPTERS["cbc"]().check_raw_options({"cuts": value})
    assert str(got.value) == (f'solver_options: CBC does not take cuts = "{"o" * 47}... (1002 characters) (cbc crashed '
                              "reading it, exit status -11) (fix: give a value it takes; `cbc -cuts??` describes cuts "
                              "and its values)")


@requires_solver("cbc")
def test_a_nul_in_a_value_is_refused_naming_the_option():
    with pytest.raises(ValueError) as got:
        ADAPTERS["cbc"]().check_raw_options({"cuts": "off\0"})
    assert str(got.value) == ('solver_options: "cuts" = "off\\u0000" holds a NUL character, which no solver reads '
                              "(fix: remove it)")


@requires_solver("cbc")
def test_a_cbc_action_in_a_bench_spec_names_the_spec_and_the_field(tmp_path):
    spec = spec_with_solver_options(tmp_path, "cbc", 'saveM = "m.prob"')
    with pytest.raises(ValueError) as got:
        load_spec(spec)
    said = '"saveM(odel) : Save model to binary file"'
    assert str(got.value) == (f'{spec}: options.solver_options (solver cbc): saveM = "m.prob" '
                              f"{CBC_ACTION.format(said=said)}")


@requires_solver("glpk")
@pytest.mark.parametrize(("option", "does"), [
    ("wlp=x.lp", "writes a file"),  # wrote x.lp in the working directory
    ("max=", "sets the objective's sense (optdist's models minimise)"),  # was: 'unbounded', exit 1
    ("read=sol.txt", "reads a solution from a file instead of solving"),
])
def test_a_glpsol_option_that_is_no_setting_is_refused_before_glpsol_runs(option, does, tmp_path, monkeypatch,
                                                                            capsys):
    key, value, err = refused_in_an_empty_folder("glpk", option, tmp_path, monkeypatch, capsys)
    assert err == f'optdist solve: error: --solver-option: {key} = "{value}": glpsol\'s --{key} {does}; {GLPSOL_RUN}\n'


def test_a_nameless_raw_option_in_a_bench_spec_says_the_fix(tmp_path):
    """``"" = 5`` under ``[options.solver_options]``: before, no fix."""
    spec = spec_with_solver_options(tmp_path, "highs", '"" = 5')
    with pytest.raises(ValueError) as got:
        load_spec(spec)
    assert str(got.value) == (f'{spec}: options.solver_options (solver highs): option name "" is not a non-empty '
                              "string (fix: give each option its name, as the solver spells it)")


@pytest.mark.parametrize(("flag", "text", "problem", "example"), [
    ("--column-time-limit", "-1", "is out of range", "120"),  # was: "-1.0: not a number of seconds > 0 (fix: e.g. 120)"
    ("--engine-time-limit", "abc", "is not a number", "420"),  # was: argparse's "invalid float value: 'abc'"
])
def test_from_scratch_echoes_a_bad_limit_as_typed(flag, text, problem, example, scratch, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "x.json"
    inst = ROOT / "instances" / "coupled" / "cifar-6x5-nexus-rpi3.json"
    assert refused(scratch.main, capsys, str(inst), "--out", str(out), flag, text) == (
        f"from_scratch.py: error: {flag} {text} {problem} (fix: give a finite number of seconds > 0, e.g. {flag} "
        f"{example})\n")
    assert not out.exists()


def test_a_true_false_highs_option_named_file_is_taken():
    """``write_solution_to_file`` is a bool: it was held to the text rule of HiGHS's file options, so
    both ``true`` and ``false`` were refused, the fix's own example ``false`` among them."""
    for value in (True, False):
        assert ADAPTERS["highs"]().check_raw_options({"write_solution_to_file": value}) == {
            "write_solution_to_file": value}
    with pytest.raises(ValueError, match=r'^solver_options: HiGHS refuses log_file = 5 \(a text option'):
        ADAPTERS["highs"]().check_raw_options({"log_file": 5})


@pytest.mark.parametrize(("extra", "said"), [
    # was: argparse's SystemExit; a nan limit ran without one (577 s on this file until stopped)
    (["--time-limit", "abc"], "--time-limit abc is not a number (fix: give a finite number of seconds > 0, e.g. "
                              "--time-limit 60)"),
    # was: found after the solve, and blamed on the prices file ("...: [Errno 2] ... (fix: give a prices file ...)")
    (["--time-limit", "0.1", "--column-out", "/nonexistent/x.json"],
     "--column-out /nonexistent/x.json: the folder /nonexistent does not exist (fix: create it first, mkdir -p "
     "/nonexistent, or give a path in an existing folder)"),
    # was: nothing run, exit 0, not a word (review of the session's diff)
    (["--only", "9", "-1"], "--only 9 -1: PRICES holds 4 saved solves (fix: give indices 0..3)"),
])
def test_trajectory_bound_checks_its_flags_before_any_work(extra, said, tb, capsys):  # noqa: F811
    prices = ROOT / "benchmarks" / "scale" / "pricing_prices" / "cifar-6x5-nexus-rpi3.json"
    said = said.replace("PRICES", str(prices))  # the file as given
    assert refused(tb.main, capsys, str(prices), "--only", "0", *extra) == f"trajectory_bound.py: error: {said}\n"
