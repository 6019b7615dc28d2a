"""flags27: one rule for every numeric value on the command line.

1. Flags checked by argparse ``type=`` callables (solve --episodes, pareto --points, bench
   --workers, train-rl, calibrate, train-target) printed the whole usage and no fix, and refused
   ``2.0`` where ``--threads 2.0`` was taken: now one line, exit 2, flag and text as typed, fix
   and example, ``2.0`` taken as 2.
2. ``1_0`` and `` 5`` were read as numbers (Python's int/float): not numbers now.
3. generate --tau/--period/--sources/--requests and profile --tau: the flag's range is checked
   while parsing, one line naming the flag (before: the instance field in two lines, no fix, or
   accepted).
4. A bad --solver-option named ``solver_options`` (the Python parameter), gave no example, said
   "a int option", and ``random_seed=nan`` had no fix.
"""

from __future__ import annotations

import pytest

from optdist.cli import build_parser, main

from .conftest import ROOT

MICRO = str(ROOT / "instances/tiny/micro-1x3-tau0.6.json")
GENERATE = ["generate", "--name", "g", "--requests", "lenet=2", "--devices", "rpi3=2", "--tau", "0.8"]


def _said(capsys) -> str:
    cap = capsys.readouterr()
    assert cap.out == "" and cap.err.count("\n") == 1, cap.err  # one line, nothing on stdout
    return cap.err


@pytest.mark.parametrize("words, said", [
    (["solve", MICRO, "--method", "rl", "--episodes", "0"],
     "--episodes 0 is out of range (fix: give a whole number of layer episodes in [1, 10,000,000], "
     "e.g. --episodes 2000)"),
    (["pareto", MICRO, "--points", "2.5"],
     "--points 2.5 is not a whole number (fix: give a whole number of shared-data levels in [1, 1,000], "
     "e.g. --points 5)"),
    (["bench", "spec.toml", "--workers", "0"],
     "--workers 0 is out of range (fix: give a whole number of local worker processes in [1, 256], "
     "e.g. --workers 2)"),
    (["train-rl", MICRO, "--seed", "-1"],
     "--seed -1 is out of range (fix: give an integer in [0, 2147483647], e.g. --seed 0)"),
    (["train-target", "lenet", "--threads", "0"],
     "--threads 0 is out of range (fix: give a whole number of torch threads in [1, 256], e.g. --threads 1)"),
    (["calibrate", "lenet", "--epochs", "x"],
     "--epochs x is not a whole number (fix: give a whole number of inverse-network epochs in [1, 100,000], "
     "e.g. --epochs 6)"),
    (["calibrate", "lenet", "--maps", "8,x"],
     "--maps 8,x is not a list of whole numbers >= 1 (fix: give them separated by commas, e.g. --maps 16,4,1)"),
    (["calibrate", "lenet", "--taus", "0.8,2"],
     "--taus 0.8,2 is not a list of SSIM values in (0, 1] (fix: give them separated by commas, "
     "e.g. --taus 0.8,0.6,0.4)"),
])
def test_every_count_and_list_flag_is_one_line_with_a_fix(capsys, words, said):
    assert main(words) == 2
    assert _said(capsys) == f"optdist {words[0]}: error: {said}\n"


@pytest.mark.parametrize("words, dest, value", [
    (["solve", MICRO, "--episodes", "2.0"], "episodes", 2),
    (["pareto", MICRO, "--points", "3.0"], "points", 3),
    (["bench", "spec.toml", "--workers", "2.0"], "workers", 2),
    (["train-rl", MICRO, "--seed", "1e1"], "seed", 10),
    (["calibrate", "lenet", "--maps", "8.0,4"], "maps", (8, 4)),
])
def test_a_whole_number_written_with_a_point_is_taken(words, dest, value):
    got = getattr(build_parser().parse_args(words), dest)
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize("flag, text, problem", [
    ("--time-limit", "1_0", "is not a number"), ("--gap", " 0.5", "is not a number"),
    ("--threads", "1_0", "is not a whole number"), ("--threads", "\u0663", "is not a whole number"),  # Arabic-Indic 3
])
def test_text_python_reads_but_nobody_writes_as_a_number_is_refused(capsys, flag, text, problem):
    assert main(["solve", MICRO, flag, text]) == 2
    assert f" {problem} (fix: " in _said(capsys)


@pytest.mark.parametrize("extra, said", [
    (["--tau", "-1"], "--tau -1 is out of range (fix: give the tolerated SSIM as a number in (0, 1], e.g. --tau 0.8)"),
    (["--period", "0"], "--period 0 is out of range (fix: give the period in seconds in [1e-06, 1e+06], "
                        "e.g. --period 1.0)"),
    (["--sources", "-1"], "--sources -1 is out of range (fix: give a whole number of cameras in [1, 100,000], "
                          "e.g. --sources 10)"),
    (["--requests", "lenet=-1"], "--requests lenet=-1: the count is out of range (fix: give a whole number in "
                                 "[0, 1,000,000], e.g. --requests lenet=10)"),
    (["--requests", "lenet=1e12"], "--requests lenet=1e12: the count is out of range (fix: give a whole number in "
                                   "[0, 1,000,000], e.g. --requests lenet=10)"),
    (["--devices", "rpi3=1_0"], "--devices rpi3=1_0: the count is not a whole number (fix: give a whole number in "
                                "[0, 100,000], e.g. --devices rpi3=10)"),
])
def test_generate_names_the_flag_in_one_line(capsys, tmp_path, extra, said):
    out = tmp_path / "g.json"
    assert main([*GENERATE, *extra, "--out", str(out)]) == 2
    assert _said(capsys) == f"optdist generate: error: {said}\n"
    assert not out.exists()


@pytest.mark.parametrize("tau", ["-1", "5", "0"])
def test_profile_refuses_a_tau_outside_0_1(capsys, tau):
    assert main(["profile", "lenet", "--privacy", "paper", "--tau", tau]) == 2
    assert _said(capsys) == (f"optdist profile: error: --tau {tau} is out of range (fix: give a tolerated SSIM in "
                             "(0, 1], e.g. --tau 0.8)\n")


@pytest.mark.parametrize("option, said", [
    ("random_seed=nan", "--solver-option random_seed=nan is not a finite number (fix: give a finite value, "
                        "e.g. --solver-option random_seed=0)"),
    ("threads=1.5", "--solver-option: threads = 1.5 is not a whole number (highs's name for threads; fix: give an "
                    "integer in [1, 256], e.g. --solver-option threads=1)"),
    ("mip_max_nodes=1.5", "--solver-option: HiGHS refuses mip_max_nodes = 1.5: not a whole number (an integer option; "
                          "fix: give a whole number in its range, e.g. --solver-option mip_max_nodes=1000; see "
                          "https://ergo-code.github.io/HiGHS/stable/options/definitions/)"),
    ("nosuch=1", '--solver-option: HiGHS has no option "nosuch"'),
])
def test_a_bad_solver_option_names_the_flag(capsys, option, said):
    assert main(["solve", MICRO, "--solver-option", option]) == 2
    assert said in _said(capsys)


def test_the_python_api_still_names_its_parameter():
    import optdist

    with pytest.raises(ValueError, match=r"^solver_options: threads = 1.5 is not a whole number .*\[1, 256\]\)$"):
        optdist.solve(MICRO, solver_options={"threads": 1.5})


@pytest.mark.parametrize("flag, text", [("--gap", "-1e-3"), ("--seed", "-1e3"), ("--time-limit", "-inf"),
                                        ("--threads", "1" + "0" * 5000)])
def test_negative_exponents_infinities_and_huge_numbers_are_one_line(capsys, flag, text):
    """argparse took -1e-3 and -inf for unknown options (the usage dump, "expected one argument");
    a whole number over Python's 4300-digit limit raised its own error."""
    assert main(["solve", MICRO, flag, text]) == 2
    assert f"{flag} {text} is out of range (fix: " in _said(capsys)


def test_a_highs_integer_option_takes_an_integral_float():
    from optdist.solvers import get_solver

    assert get_solver("highs").check_raw_options({"mip_max_nodes": 1e3}) == {"mip_max_nodes": 1000}
    assert type(get_solver("highs").check_raw_options({"mip_max_nodes": 2.0})["mip_max_nodes"]) is int


def test_an_instance_given_as_the_placement_is_named_so(capsys):
    assert main(["evaluate", MICRO, MICRO]) == 2
    assert ('format: is "optdist-instance/1": this is an instance, not a placement (fix: give a placement of the '
            "instance: the --out of `optdist solve` on it") in capsys.readouterr().err
