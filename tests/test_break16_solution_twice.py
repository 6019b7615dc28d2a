"""A column given twice in a solution file is refused naming it (break16: a CBC solution with a
line repeated, the second value different, was read "last one wins": `read 48 values` from 49
lines, scored without a word)."""

from __future__ import annotations

import re

import pytest

from optdist.milp import build
from optdist.milp.export import SolutionFileError, read_solution, write_model

from .test_export import EXTERNAL, external, inst


@pytest.mark.parametrize("solver", [external(n) for n in EXTERNAL])
def test_a_column_given_twice_is_refused(tmp_path, solver):
    model, sol = tmp_path / "m.lp", tmp_path / "m.sol"
    write_model(build(inst(), "tight"), model)
    EXTERNAL[solver][0](model, sol)
    fmt = solver  # each solver writes its own format
    name = next(iter(read_solution(sol, fmt)))
    lines = sol.read_text().splitlines()
    at = next(n for n, ln in enumerate(lines) if name in ln.split())
    sol.write_text("\n".join([*lines[: at + 1], lines[at], *lines[at + 1:]]) + "\n")
    with pytest.raises(SolutionFileError, match=rf'line {at + 2}: column "{re.escape(name)}" is given a second time .*each column once'):
        read_solution(sol, fmt)


def test_a_missing_model_file_is_named_with_the_fix(tmp_path):
    from optdist.milp.export import formulation_of

    with pytest.raises(FileNotFoundError, match=r"nothere.lp: model file not found \(fix: give the .lp or .mps file"):
        formulation_of(tmp_path / "nothere.lp")  # was: [Errno 2] No such file or directory
