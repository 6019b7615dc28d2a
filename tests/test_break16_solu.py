"""``.solu`` files are read strictly (break16: a line `garbage line` was taken as an instance
named "line"; `=opt= X` with no value was an IndexError traceback; `nan` was taken as an optimum;
`=opt= X 5` then `=opt= X 6` kept 6; and `bench-table --write-solu FILE` on a file that is not a
.solu file would read it as one and rewrite it with only the records' values)."""

from __future__ import annotations

import pytest

from optdist.bench.solu import merge_solu_file, read_solu

from .conftest import ROOT


@pytest.mark.parametrize("text, msg", [
    ("garbage line\n", r's.solu:1: "garbage line" is not a .solu line \(fix: write "=opt= NAME VALUE"'),
    ("=opt=\n", r's.solu:1: "=opt=" is not a .solu line'),
    ("# c\n=opt= X\n", r's.solu:2: "=opt= X": no finite value \(fix: "=opt= X VALUE", VALUE a number\)'),
    ("=best= X abc\n", r'"=best= X abc": no finite value'),
    ("=bestdual= X nan\n", r'"=bestdual= X nan": no finite value'),
    ("=opt= X 5\n=opt= X 6\n", r's.solu:2: "=opt= X 6": opt of X given twice \(5, then 6\) \(fix: keep the right line\)'),
    ("=inf= X\n=opt= X 5\n", r's.solu:2: "=opt= X 5": X is given both as infeasible \(=inf=\) and with a feasible value'),
    ("=best= X 5\n=inf= X\n", r's.solu:2: "=inf= X": X is given both as infeasible'),
])
def test_a_bad_line_is_refused_naming_the_file_and_line(tmp_path, text, msg):
    (tmp_path / "s.solu").write_text(text)
    with pytest.raises(ValueError, match=msg):
        read_solu(tmp_path / "s.solu")


def test_good_lines_unknown_tags_and_repeats_of_one_value_are_read(tmp_path):
    refs = read_solu(ROOT / "instances" / "paper.solu")
    assert len(refs) == 15 and all(r.opt is not None or r.bestdual is not None for r in refs.values())
    (tmp_path / "s.solu").write_text("# note\n\n=opt= X 5\n=opt= X 5.0\n=unkn= Y\n=inf= Z\n")
    refs = read_solu(tmp_path / "s.solu")
    assert refs["X"].opt == 5 and refs["Y"].opt is None and refs["Z"].infeasible


def test_write_solu_leaves_a_file_that_is_not_a_solu_file_alone(tmp_path):
    other = tmp_path / "notes.txt"
    other.write_text("keep these notes\n")
    with pytest.raises(ValueError, match=r'notes.txt:1: "keep these notes" is not a .solu line'):
        merge_solu_file(other, {})
    assert other.read_text() == "keep these notes\n"


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nothere.solu: .solu file not found"):
        read_solu(tmp_path / "nothere.solu")
