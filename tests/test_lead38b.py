"""lead38: a ``--solu`` file that names none of the records' instances (empty, or another
benchmark's) is said in the tables' warnings (break38: `bench-table --solu EMPTYFILE` was silent)."""

from __future__ import annotations

from optdist.cli import main

from .test_bench_tables import record, write


def test_a_solu_file_naming_none_of_the_instances_is_warned_about(tmp_path, capsys):
    write(tmp_path, [record("a", "highs", "optimal", 1.0, 1.0), record("b", "highs", "optimal", 2.0, 2.0)])
    for text in ("", "=opt= other 3.0\n"):
        solu = tmp_path / "ref.solu"
        solu.write_text(text)
        assert main(["bench-table", str(tmp_path), "--solu", str(solu)]) == 0
        out, err = capsys.readouterr()
        assert f"--solu {solu}: names none of the 2 instance(s) of these records" in out + err, out + err
        assert "(fix: give the .solu file of these instances" in out + err


def test_a_solu_file_naming_one_of_the_instances_is_not_warned_about(tmp_path, capsys):
    write(tmp_path, [record("a", "highs", "optimal", 1.0, 1.0), record("b", "highs", "optimal", 2.0, 2.0)])
    solu = tmp_path / "ref.solu"
    solu.write_text("=opt= a 1.0\n")
    assert main(["bench-table", str(tmp_path), "--solu", str(solu)]) == 0
    out, err = capsys.readouterr()
    assert "names none of" not in out + err
