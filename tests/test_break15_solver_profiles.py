"""Two solver profiles with one name are an error naming both files, not a silent choice.

Found by the break15 tester: `solvers/x.toml` (name = "fast", solver = "highs") and `solvers/y.toml`
(name = "fast", solver = "scip") made `optdist solve FILE --solver fast` run SCIP, the file that
sorts last, with nothing said.
"""

from __future__ import annotations

import sys

import pytest

from optdist.cli import main
from optdist.solvers.profiles import profiles
from tests.conftest import TINY


def _two_fast(folder):
    (folder / "x.toml").write_text('name = "fast"\nsolver = "highs"\n')
    (folder / "y.toml").write_text('name = "fast"\nsolver = "scip"\n')


def test_a_name_given_twice_names_both_files(tmp_path):
    _two_fast(tmp_path)
    with pytest.raises(ValueError) as e:
        profiles(tmp_path)
    msg = str(e.value)
    assert "y.toml" in msg and "x.toml" in msg and '"fast"' in msg and "fix:" in msg


def test_solve_with_an_ambiguous_profile_is_bad_input(tmp_path, monkeypatch, capsys):
    _two_fast(tmp_path)
    monkeypatch.setattr(sys.modules["optdist.solvers.profiles"], "SOLVERS_DIR", tmp_path)
    assert main(["solve", str(TINY[0]), "--solver", "fast", "--threads", "1"]) == 2
    assert 'profile name "fast"' in capsys.readouterr().err


def test_distinct_names_in_one_folder_are_fine(tmp_path):
    (tmp_path / "x.toml").write_text('name = "fast"\nsolver = "highs"\n')
    (tmp_path / "y.toml").write_text('solver = "scip"\n')  # named y, after its file
    assert sorted(profiles(tmp_path)) == ["fast", "y"]
