"""verify43: what a check of left43's fixes (e00764a..5244430) found, each with a test that fails on the code before.

1. A ``.solu`` file with a UTF-8 byte-order mark was read (left43), but the line of a refused fact
   on its line 1 was not found: the warning of ``bench-table --solu`` said "delete the =opt= line of
   NAME in FILE" without "(line 1)", which it says for the same file without the mark.
2. ``--out LINK`` where LINK is a symbolic link to a folder said "give the target path FOLDER", a
   folder, refused in turn as a directory: the fix now names a file in it, as for a folder
   (``LINK/model.lp`` for export).
"""

from __future__ import annotations

from optdist.cli import main

from .test_fix39 import MICRO


def test_a_refused_fact_on_line_1_of_a_solu_file_with_a_byte_order_mark_names_its_line(tmp_path):
    """Before: "... delete the =opt= line of a in ref.solu, e.g. ..." (no line: "\\ufeff=opt=" is no tag)."""
    from optdist.bench.solu import Reference, read_solu
    from optdist.bench.tables import refuse_false_solu

    solu = tmp_path / "ref.solu"
    solu.write_bytes("\ufeff=opt= a 1.5\n".encode())
    kept, warns, gone = refuse_false_solu(read_solu(solu), {"a": Reference(best=1.0)}, solu, {})  # 1.0 is feasible
    assert gone == [("a", 1.5, "opt")] and kept["a"].opt is None, (kept, gone)
    assert f"delete the =opt= line of a in {solu} (line 1)" in warns[0], warns


def test_an_out_link_to_a_folder_is_refused_with_a_file_name_in_it(tmp_path, capsys):
    """Before: "--out LINK is a symbolic link (to FOLDER); ... (fix: give the target path FOLDER, or
    remove the link)": a folder, which --out refuses next."""
    (tmp_path / "models").mkdir()
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "models")
    assert main(["export", str(MICRO), "--out", str(link)]) == 2
    err = capsys.readouterr().err
    assert (f"--out {link} is a symbolic link to the folder {tmp_path / 'models'} (fix: give a file name in it, "
            f"e.g. {link / 'model.lp'})") in err, err
    assert link.is_symlink() and list((tmp_path / "models").iterdir()) == []
    assert main(["export", str(MICRO), "--out", str(link / "model.lp"), "-q"]) == 0  # the fix works
    assert (tmp_path / "models" / "model.lp").is_file()


def test_a_bench_spec_and_a_solver_profile_with_a_byte_order_mark_are_read(tmp_path, capsys):
    """As instances, .sol and .solu files are (left43). Before: "s.toml: not a readable TOML spec
    (Invalid statement (at line 1, column 1))" and "p.toml: invalid TOML: Invalid statement (at line 1,
    column 1)": the mark, which an editor does not show, was taken for a statement."""
    profile = tmp_path / "p.toml"
    profile.write_bytes(b"\xef\xbb\xbf" + b'name = "p"\nsolver = "highs"\ndescription = "HiGHS"\n\n[options]\nseed = 1\n')
    spec = tmp_path / "s.toml"
    spec.write_bytes(b"\xef\xbb\xbf" + f'name = "s"\nout = "{tmp_path / "out"}"\ninstances = ["{MICRO}"]\n'
                     f'methods = ["milp"]\nsolvers = ["{profile}"]\n'.encode())
    assert main(["bench", str(spec), "--dry-run"]) == 0, capsys.readouterr().err
    assert main(["solve", str(MICRO), "--solver", str(profile), "-q"]) == 0, capsys.readouterr().err


def test_a_file_flag_given_a_folder_name_ending_in_a_slash_is_refused(tmp_path, capsys, monkeypatch):
    """As pareto's --out new/ makes a folder (left43), a flag that takes a file says a name ending in /
    is a folder. Before: the slash was dropped, ``solve --out new/`` wrote a file named new (exit 0) and
    ``export --out notes.lp/`` replaced the file notes.lp."""
    monkeypatch.chdir(tmp_path)
    assert main(["solve", str(MICRO), "--out", "new/", "-q"]) == 2
    assert ("optdist solve: error: --out new/ ends in '/', a folder, but --out takes a file (fix: give a file name, "
            "e.g. --out new/result.json)") in capsys.readouterr().err
    assert not (tmp_path / "new").exists()
    (tmp_path / "notes.lp").write_text("my notes\n")
    assert main(["export", str(MICRO), "--out", "notes.lp/"]) == 2
    assert ("--out notes.lp/ ends in '/', a folder, but --out takes a file (fix: --out notes.lp, the file, without "
            "the '/')") in capsys.readouterr().err
    assert (tmp_path / "notes.lp").read_text() == "my notes\n"
    assert main(["diagnose", str(MICRO), "--json", "d/", "--no-solve", "-q"]) == 0  # --json takes a folder too
