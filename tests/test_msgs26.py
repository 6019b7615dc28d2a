"""msgs26: a numeric value's error says what is wrong with it, and echoes what the user wrote.

1. A raw solver option of the wrong type (``--solver-option mip_rel_gap=abc`` for HiGHS, a
   profile's ``[solver_options]`` string, CBC's numeric table) said "is out of range": it says
   "is not a number" ("is not a whole number" for an integer parameter), as the generic options
   do (one check, :func:`optdist.options.number_problem`).
2. ``optdist.solve(path, threads=1.0)`` said "1.0 is not a whole number": an integral float is a
   whole number, taken as the int (``--threads 2.0``, ``--solver-option threads=2.0`` too); 1.5 is
   still refused.
3. The CLI's range errors echoed the parsed value (``--time-limit -5``: -5.0, ``--gap 1_0``:
   10.0) and gave no example: they echo the text and give one, in one line.
4. ``--mip-gap abc``'s example named ``--gap``: it names the flag the user wrote.
5. The numeric flags of diagnose, generate, evaluate, profile and the defences' commands gave
   argparse's bare "invalid float value" / "invalid int value".

Real solvers throughout: HiGHS in-process; CBC's numeric table is checked before CBC runs.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

import optdist
from optdist.cli import build_parser, main
from optdist.solvers import get_solver
from optdist.solvers.cbc import Cbc

TINY = Path(__file__).resolve().parents[1] / "instances" / "tiny"
MICRO = str(TINY / "micro-1x3-tau0.6.json")
LENET = str(TINY / "lenet-2x4-tight.json")
GAP_FIX = "fix: give a relative gap in [0, 1] (1: stop at the first incumbent)"


# 1. a raw solver option of the wrong type is not a number

@pytest.mark.parametrize("solver, raw, said", [
    ("highs", {"mip_rel_gap": "abc"}, f"mip_rel_gap = \"abc\" is not a number (highs's name for mip_gap; {GAP_FIX})"),
    ("highs", {"time_limit": True}, "time_limit = true is not a number (highs's name for time_limit; fix: give a "
                                    "finite number of seconds > 0)"),
    ("highs", {"threads": 1.5}, "threads = 1.5 is not a whole number (highs's name for threads; fix: give an integer "
                                "in [1, 256])"),
    ("highs", {"mip_rel_gap": 5}, f"mip_rel_gap = 5 is out of range (highs's name for mip_gap; {GAP_FIX})"),
    ("cbc", {"ratio": "abc"}, f"ratio = \"abc\" is not a number (cbc's name for mip_gap; {GAP_FIX})"),
    ("cbc", {"allow": "tiny"}, "allow = \"tiny\" is not a number (cbc's numeric parameter allowableGap; fix: give a "
                               "number >= 0)"),
    ("cbc", {"maxN": "lots"}, "maxN = \"lots\" is not a whole number (cbc's numeric parameter maxNodes; fix: give an "
                              "integer in [-1, 2147483647])"),
    ("cbc", {"maxN": 1.5}, "maxN = 1.5 is not a whole number (cbc's numeric parameter maxNodes"),
    ("cbc", {"strategy": 3}, "strategy = 3 is out of range (cbc's numeric parameter strategy; fix: give an integer "
                             "in [0, 2])"),
])
def test_a_raw_option_says_what_is_wrong_with_its_value(solver, raw, said):
    """Before: "is out of range" for all of them, also for text where a number belongs."""
    adapter = Cbc if solver == "cbc" else type(get_solver(solver))
    with pytest.raises(ValueError) as e:
        adapter().check_raw_options(raw)
    assert str(e.value).startswith(f"solver_options: {said}"), e.value


def test_a_profile_giving_text_for_a_number_names_the_file(tmp_path):
    prof = tmp_path / "mine.toml"
    prof.write_text('solver = "highs"\n[solver_options]\nmip_rel_gap = "abc"\n')
    with pytest.raises(ValueError) as e:
        get_solver(str(prof))
    assert str(e.value) == (f"{prof}: highs [solver_options]: mip_rel_gap = \"abc\" is not a number (highs's name for "
                            f"mip_gap; {GAP_FIX})")


def test_the_cli_says_a_raw_option_is_not_a_number(capsys):
    assert main(["solve", MICRO, "--solver-option", "mip_rel_gap=abc"]) == 2
    err = capsys.readouterr().err
    assert (f"error: --solver-option: mip_rel_gap = \"abc\" is not a number (highs's name for mip_gap; {GAP_FIX}, "
            "e.g. --solver-option mip_rel_gap=0.01)") in err


# 2. an integral float is a whole number

def test_threads_given_as_an_integral_float_solves():
    res = optdist.solve(MICRO, threads=1.0, seed=3.0, time_limit=20)
    assert res.evaluation is not None and res.evaluation.feasible
    assert res.options["threads"] == 1 and type(res.options["threads"]) is int
    assert optdist.solve(MICRO, method="greedy", threads=1.0, seed=2.0).evaluation.feasible


def test_the_method_gets_the_whole_numbers_as_ints(monkeypatch):
    """rl's numpy SeedSequence refused seed 2.0 (TypeError, an internal error): the method gets the
    int. The real greedy runs; the wrapper only records what it is given."""
    api = importlib.import_module("optdist.solve")  # the module (optdist.solve is also the function)
    real, got = api.method_function, {}

    def recording(method: str):
        func = real(method)

        def run(inst, **options):
            got.update(options)
            return func(inst, **options)

        return run

    monkeypatch.setattr(api, "method_function", recording)
    assert optdist.solve(MICRO, method="greedy", threads=1.0, seed=2.0).evaluation.feasible
    assert got == {"threads": 1, "seed": 2} and {type(v) for v in got.values()} == {int}


def test_a_fractional_whole_number_is_still_refused():
    with pytest.raises(ValueError, match=r"^method milp: threads = 1\.5 is not a whole number \(fix: give an integer"):
        optdist.solve(MICRO, threads=1.5)


def test_raw_and_cli_whole_numbers_take_integral_floats():
    assert get_solver("highs").check_raw_options({"threads": 2.0}) == {"threads": 2}
    assert type(get_solver("highs").check_raw_options({"threads": 2.0})["threads"]) is int
    assert Cbc().check_raw_options({"maxN": 10.0, "thread": 1.0}) == {"maxNodes": 10, "threads": 1}
    args = build_parser().parse_args(["solve", MICRO, "--threads", "2.0", "--seed", "1e3"])
    assert (args.threads, args.seed) == (2, 1000) and type(args.threads) is int


# 3, 4. the CLI echoes the text as written, the flag as written, with an example under it

@pytest.mark.parametrize("flag, text, said", [
    ("--time-limit", "-5", "--time-limit -5 is out of range (fix: give a finite number of seconds > 0, "
                           "e.g. --time-limit 60)"),
    ("--gap", "1_0", f"--gap 1_0 is not a number ({GAP_FIX}, e.g. --gap 0.01)"),
    ("--mip-gap", "abc", f"--mip-gap abc is not a number ({GAP_FIX}, e.g. --mip-gap 0.01)"),
    ("--mip-gap", "2", f"--mip-gap 2 is out of range ({GAP_FIX}, e.g. --mip-gap 0.01)"),
    ("--threads", "1.5", "--threads 1.5 is not a whole number (fix: give an integer in [1, 256], e.g. --threads 4)"),
    ("--seed", "-1", "--seed -1 is out of range (fix: give an integer in [0, 2147483647], e.g. --seed 0)"),
    ("--polish-time-limit", "-1", "--polish-time-limit -1 is out of range (fix: give a finite number of seconds > 0, "
                                  "or 0 for no polish, e.g. --polish-time-limit 10)"),
])
def test_a_solve_flag_echoes_what_the_user_wrote(capsys, flag, text, said):
    """Before: "--time-limit -5.0 is out of range", "--gap 10.0 ...", no example; --mip-gap's
    example said --gap. One line, exit 2, before the instance is read."""
    assert main(["solve", LENET, flag, text]) == 2
    cap = capsys.readouterr()
    assert cap.out == "" and cap.err == f"optdist solve: error: {said}\n"


# 5. every subcommand's numeric flags say what they expect

@pytest.mark.parametrize("words, said", [
    (["diagnose", LENET, "--time-limit", "abc"], "--time-limit abc is not a number (fix: give a finite number of "
                                                 "seconds > 0, e.g. --time-limit 60)"),
    (["diagnose", LENET, "--time-limit", "-1"], "--time-limit -1 is out of range (fix: give a finite number of "
                                                "seconds > 0, e.g. --time-limit 60)"),
    (["diagnose", LENET, "--threads", "x"], "--threads x is not a whole number (fix: give an integer in [1, 256], "
                                            "e.g. --threads 4)"),
    (["generate", "--name", "g", "--requests", "lenet=2", "--devices", "rpi3=2", "--tau", "high"],
     "--tau high is not a number (fix: give the tolerated SSIM as a number in (0, 1], e.g. --tau 0.8)"),
    (["generate", "--name", "g", "--requests", "lenet=2", "--devices", "rpi3=2", "--tau", "0.8", "--sources", "1.5"],
     "--sources 1.5 is not a whole number (fix: give a whole number of cameras in [1, 100,000], e.g. --sources 10)"),
    (["generate", "--name", "g", "--requests", "lenet=2", "--devices", "rpi3=2", "--tau", "0.8", "--period", "x"],
     "--period x is not a number (fix: give the period in seconds in [1e-06, 1e+06], e.g. --period 1.0)"),
    (["evaluate", LENET, "a.json", "--requests", "all"], "--requests all is not a whole number (fix: give a whole "
                                                         "number >= 0, the requests to show, e.g. --requests 10)"),
    (["profile", "lenet", "--repeats", "x"], "--repeats x is not a whole number (fix: give a whole number of timed "
                                             "runs in [1, 1,000,000], e.g. --repeats 20)"),
    (["profile", "lenet", "--privacy", "paper", "--tau", "x"], "--tau x is not a number (fix: give a tolerated SSIM "
                                                               "in (0, 1], e.g. --tau 0.8)"),
    (["dp-effect", "lenet", "ReLU2", "--eps", "10", "abc"], "--eps abc is not a number (fix: give per-element Laplace "
                                                            "budgets in [1e-06, 1e+06], e.g. --eps 100)"),
    (["dp-effect", "lenet", "ReLU2", "--tau", "0"], "--tau 0 is out of range (fix: give a tolerated SSIM in (0, 1], "
                                                    "e.g. --tau 0.3)"),
    (["defq-eval", "--split", "x"], "--split x is not a whole number (fix: give a whole number of outputs in "
                                    "[1, 6], e.g. --split 2)"),
    (["defq-eval", "--attack-eps", "0.1", "2"], "--attack-eps 2 is out of range (fix: give L-inf budgets in (0, 1], "
                                                "e.g. --attack-eps 0.1)"),
])
def test_every_numeric_flag_says_what_it_expects(capsys, words, said):
    """Before: argparse's "argument --time-limit: invalid float value: 'abc'" after the whole usage."""
    assert main(words) == 2
    cap = capsys.readouterr()
    assert cap.out == "" and cap.err == f"optdist {words[0]}: error: {said}\n"
