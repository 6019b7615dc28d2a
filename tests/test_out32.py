"""out32: an output file that cannot be written (a full disk, the file-size limit) loses nothing.

Before, ``optdist solve --out`` under ``ulimit -f`` or on a full disk printed ``error: [Errno 28]
No space left on device`` (no file, no fix), exit 2, and nothing on stdout: a finished solve was
lost. Now the result is printed first, every writer (:func:`optdist.io.atomic_path`) turns the
failure into one error naming the file, the reason and the fix, no temporary file is left, and
``solve`` keeps its result (in the temporary folder, else as JSON on stderr). The failures are
real: ``RLIMIT_FSIZE`` in the child process (SIGXFSZ ignored, so the write gets EFBIG), the real
CLI and HiGHS on a tiny instance.
"""

from __future__ import annotations

import json
import os
import resource
import shlex
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from optdist.cli import main

from .conftest import LENET_1X4, ROOT

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def _limited(limit: int):
    def pre() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit gets EFBIG, not the signal
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return pre


def cli(*args: str, limit: int, env: dict | None = None) -> subprocess.CompletedProcess:
    """``optdist ARGS`` in a child process whose files may grow to ``limit`` bytes (stdout and
    stderr are pipes, which the limit does not touch)."""
    return subprocess.run([sys.executable, "-m", "optdist.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, env=env or ENV, preexec_fn=_limited(limit), timeout=300)


def _left(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_solve_over_the_file_size_limit_prints_the_result_and_keeps_its_json(tmp_path):
    out = tmp_path / "r.json"
    r = cli("solve", LENET_1X4, "--out", out, limit=1000)
    assert r.returncode == 2, r.stderr
    # (a) the summary is on stdout although the file could not be written
    objective = next(ln for ln in r.stdout.splitlines() if ln.startswith("objective    ")).split()[1]
    assert "feasible True" in r.stdout
    # (b) one error naming the flag, the file, the reason and the fix (not "[Errno 27] File too large")
    first = next(ln for ln in r.stderr.splitlines() if ln.startswith("optdist solve: error:"))
    assert f"cannot write --out {out}: the file is larger than the file-size limit (`ulimit -f`)" in first
    assert "fix: raise the limit (`ulimit -f unlimited`)" in first and "Errno" not in r.stderr
    # (c) the same limit holds for the temporary folder: the result file's JSON follows on stderr
    assert "so the result file's JSON follows on stderr" in first
    doc = json.loads(r.stderr[r.stderr.index("{\n"):])
    assert doc["format"] == "optdist-result/1" and doc["feasible"] is True
    assert f"{doc['objective']:.9g}" == objective and doc["assignment"]
    assert _left(tmp_path) == []  # no result, no temporary file
    # the JSON kept on stderr is the result file: saved as --out, it loads and scores the same
    out.write_text(r.stderr[r.stderr.index("{\n"):])
    from optdist.instance import load_instance
    from optdist.result import SolveResult

    res = SolveResult.load(out, load_instance(LENET_1X4))
    assert res.evaluation.feasible and f"{res.evaluation.objective:.9g}" == objective


KEEP = textwrap.dedent("""
    import resource, signal, sys
    from pathlib import Path
    from optdist.commands.solve import _keep_result
    from optdist.instance import load_instance
    from optdist.io import OutputWriteError
    from optdist.solve import solve

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    out = Path(sys.argv[1])
    inst = load_instance(sys.argv[2])
    res = solve(inst, method="milp")
    hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
    resource.setrlimit(resource.RLIMIT_FSIZE, (500, hard))  # the --out write fails for real ...
    try:
        res.save(inst, out, force=True)
    except OutputWriteError as e:
        error = e
    resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))  # ... and the disk has room again for the copy
    _keep_result(inst, res, out, error)
    print(f"{res.objective!r}")
""")


def test_a_result_that_cannot_be_written_is_kept_in_the_temporary_folder(tmp_path):
    """`optdist solve`'s step after a failed --out write (:func:`_keep_result`): where the
    temporary folder can take it, the result file is kept there under a new name, and the error
    says where and the command that moves it."""
    (tmp_path / "out").mkdir()
    (tmp_path / "tmp").mkdir()
    out = tmp_path / "out" / "my result.json"
    r = subprocess.run([sys.executable, "-c", KEEP, str(out), str(LENET_1X4)], capture_output=True, text=True,
                       cwd=ROOT, env={**ENV, "TMPDIR": str(tmp_path / "tmp")}, timeout=300)
    assert r.returncode == 0, r.stderr
    assert _left(tmp_path / "out") == []  # neither the result nor a temporary file
    kept = list((tmp_path / "tmp").iterdir())
    assert [k.name.startswith("my result-kept-") and k.suffix == ".json" for k in kept] == [True]
    doc = json.loads(kept[0].read_text())
    assert doc["format"] == "optdist-result/1" and repr(doc["objective"]) == r.stdout.strip()
    assert (f"optdist solve: error: cannot write --out {out}: the file is larger than the file-size limit"
            in r.stderr)
    assert f"the result is kept in {kept[0]} instead" in r.stderr
    assert f"`mv {shlex.quote(str(kept[0]))} {shlex.quote(str(out))}`" in r.stderr  # pasted, the spaces hold


@pytest.mark.parametrize("command, flag, written, shown", [
    (["pareto", LENET_1X4, "--points", "2", "--out", "{d}/front"], "--out", "front.csv", "| "),
    (["diagnose", LENET_1X4, "--json", "{d}/d.json"], "--json", "d.json", "diagnosis of lenet-1x4-tau0.8"),
    (["export", LENET_1X4, "--out", "{d}/m.lp"], "--out", "m.lp", None),
    (["generate", "--name", "g", "--requests", "lenet=2", "--devices", "rpi3=3", "--tau", "0.8", "--out", "{d}/g.json"],
     "--out", "g.json", None),
])
def test_every_writer_names_the_file_the_reason_and_the_fix(tmp_path, command, flag, written, shown):
    r = cli(*(str(a).format(d=tmp_path) for a in command), limit=200)
    assert r.returncode == 2, (r.stdout, r.stderr)
    name = command[0]
    assert (f"optdist {name}: error: cannot write {flag} {tmp_path / written}: the file is larger than the "
            "file-size limit (`ulimit -f`)") in r.stderr
    assert f"(fix: raise the limit (`ulimit -f unlimited`), or give another {flag}" in r.stderr
    assert "Errno" not in r.stderr and "Traceback" not in r.stderr
    if shown is not None:  # the command's own output is printed before the file is written
        assert shown in r.stdout
    assert _left(tmp_path) == []  # no temporary file left behind


def test_a_failed_write_keeps_the_file_that_was_there(tmp_path):
    old = tmp_path / "s.json"
    old.write_text("{}\n")
    r = cli("schema", "--out", old, limit=200)
    assert r.returncode == 2
    assert f"cannot write --out {old}: " in r.stderr and "nothing was written (the file there before is unchanged)" in r.stderr
    assert old.read_text() == "{}\n" and _left(tmp_path) == ["s.json"]


def test_a_file_size_limit_of_zero_is_refused_before_the_solve(tmp_path):
    r = cli("solve", LENET_1X4, "--out", tmp_path / "r.json", limit=0)
    assert r.returncode == 2
    assert f"--out {tmp_path / 'r.json'}: the file-size limit is 0 (`ulimit -f 0`)" in r.stderr
    assert "solving" not in r.stderr and r.stdout == ""  # refused before minutes of work, not after
    assert _left(tmp_path) == []


def test_an_output_name_near_the_file_name_limit_is_written(tmp_path, capsys):
    """The temporary file's name began with the whole output name: a name of 250 characters (the
    limit is 255) could not be written at all (File name too long)."""
    out = tmp_path / ("a" * 245 + ".json")
    assert main(["schema", "--out", str(out)]) == 0
    assert json.loads(out.read_text()) and _left(tmp_path) == [out.name]


def test_the_export_hint_is_a_command_that_can_be_pasted(tmp_path, capsys):
    out = tmp_path / "my models" / "lenet 1x4.lp"
    out.parent.mkdir()
    assert main(["export", str(LENET_1X4), "--out", str(out)]) == 0
    said = capsys.readouterr().out
    hint = said.split("e.g. `", 1)[1].split("`", 1)[0]
    assert shlex.split(hint) == ["glpsol", "--lp", str(out), "-o", str(out.with_suffix(".sol"))]


def test_a_failure_of_the_temporary_file_is_the_writes_and_another_files_is_not(tmp_path):
    """mkstemp names the temporary file it failed to create (not yet known to atomic_path): that is
    the write's failure, worded; a missing file the writer in the block reads (a font) is not."""
    import errno

    from optdist.io import _write_failure

    out = tmp_path / "r.json"
    assert _write_failure(OSError(errno.ENOSPC, "No space left on device", str(tmp_path / ".r.json.k3x.tmp")), out, None)
    assert _write_failure(OSError(errno.EFBIG, "File too large"), out, str(tmp_path / ".r.json.k3x.tmp"))
    assert not _write_failure(FileNotFoundError(errno.ENOENT, "No such file", "/usr/share/fonts/x.ttf"), out, None)
