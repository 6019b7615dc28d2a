"""A sweep folder that is a file is refused before any run (break16: `--out FILE` said only
"[Errno 17] File exists"; with OUT/records a file the first run ran and its record was lost
when it was written); so is the --out of dp-tables, dp-sweep and defq-eval, before their minutes
of work (they ended with '[Errno 17] File exists' when writing the results)."""

from __future__ import annotations

import pytest

from optdist.bench.runner import run_sweep
from optdist.bench.spec import parse_spec

from .conftest import ROOT

MICRO = [str(ROOT / "instances/tiny/micro-1x3-tau0.6.json")]


@pytest.mark.parametrize("where", ["out", "out/sub", "out/records"])
def test_a_file_where_a_folder_goes_is_refused_before_any_run(tmp_path, where):
    (tmp_path / "out").mkdir()
    file = tmp_path / "out" / "records" if where == "out/records" else tmp_path / "out.txt"
    file.write_text("")
    out = tmp_path / "out" if where == "out/records" else file / "sub" if where == "out/sub" else file
    spec = parse_spec({"name": "t", "out": str(out), "instances": MICRO, "methods": ["greedy"]})
    seen = []
    with pytest.raises(ValueError, match=r"exists and is not a folder, or a folder above it is a file \(fix: "):
        run_sweep(spec, progress=False, on_record=seen.append)
    assert not seen


@pytest.mark.parametrize("command", [["dp-tables"], ["dp-sweep", "--quick"], ["defq-eval", "--quick"]])
def test_a_defence_command_checks_its_out_folder_before_the_work(tmp_path, capsys, command):
    from optdist.cli import main

    file = tmp_path / "f"
    file.write_text("")
    assert main([*command, "--out", str(file / "sub")]) == 2  # was: minutes of work, then '[Errno 17] File exists'
    assert f"--out {file / 'sub'}: exists and is not a folder" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["bench-table"], ["bench-figures", "--figure", "tau"]])
def test_a_dest_that_is_a_file_is_named(tmp_path, capsys, command):
    from optdist.cli import main

    spec = parse_spec({"name": "t", "out": str(tmp_path / "o"), "instances": MICRO, "methods": ["greedy"]})
    run_sweep(spec, progress=False)
    (tmp_path / "f").write_text("")
    assert main([command[0], str(tmp_path / "o"), *command[1:], "--dest", str(tmp_path / "f")]) == 2
    assert f"--dest {tmp_path / 'f'}: exists and is not a folder" in capsys.readouterr().err  # was: [Errno 17] File exists
