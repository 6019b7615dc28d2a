"""A fresh user's findings in the day's changes (fixd32a): ``--out -`` and ``--out /dev/stdout``,
a loaded instance's array made writable with ``setflags``, the free-space refusal of a disk that is
not full, ``solver=None`` / the abstract ``Solver`` / a subclass of a built-in adapter given to one
call, and import-solution's fix that would overwrite the user's model file. Real HiGHS, tiny instances."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import optdist
from optdist.cli import main
from optdist.instance import ReadOnlyArray, ReadOnlyArrayError, load_instance
from optdist.io import OutputPathError, check_output_file
from optdist.solvers import Solver, register
from optdist.solvers.cbc import Cbc
from optdist.solvers.highs import Highs
from tests.conftest import ROOT
from tests.helpers import exported_and_solved

TIGHT = ROOT / "instances" / "tiny" / "micro-2x3-tight.json"
SERIAL = ROOT / "instances" / "tiny" / "micro-2x3-serial.json"  # same ids, other contents


# 1. --out - and a link to a terminal, pipe or device


@pytest.mark.parametrize("command", [["solve", str(TIGHT), "-q"], ["export", str(TIGHT)]])
def test_out_dash_is_refused_not_written_as_a_file(tmp_path, monkeypatch, capsys, command):
    monkeypatch.chdir(tmp_path)
    assert main([*command, "--out", "-"]) == 2
    err = capsys.readouterr().err
    assert "--out -: '-' is not standard output" in err
    assert "give --out FILE and then `cat FILE`" in err
    assert not os.path.lexists(tmp_path / "-")


def test_dash_is_refused_for_every_file_flag():
    with pytest.raises(OutputPathError, match=r"--json -: '-' is not standard output.*give --json FILE"):
        check_output_file("-", "--json")


@pytest.mark.parametrize("target", ["/dev/null", "/proc/self/fd/1"])
def test_a_link_to_a_device_or_a_process_fd_says_regular_file_not_its_proc_target(tmp_path, target):
    link = tmp_path / "stdout"
    os.symlink(target, link)
    with pytest.raises(OutputPathError) as e:
        check_output_file(link)
    msg = str(e.value)
    assert "must be a regular file, not a terminal, pipe or device" in msg
    assert "give the target path" not in msg and "/proc/" + str(os.getpid()) not in msg


def test_a_link_to_a_regular_file_still_names_its_target(tmp_path):
    (tmp_path / "real.json").write_text("")
    os.symlink(tmp_path / "real.json", tmp_path / "link.json")
    with pytest.raises(OutputPathError, match="give the target path"):
        check_output_file(tmp_path / "link.json")


# 2. a loaded instance's arrays


def test_setflags_write_true_is_refused_and_the_instance_stays():
    inst = load_instance(TIGHT)
    before = inst.rate.copy()
    with pytest.raises(ReadOnlyArrayError, match=r"inst.rate cannot be changed.*fix:"):
        inst.rate.setflags(write=True)
    assert not inst.rate.flags.writeable
    with pytest.raises(ReadOnlyArrayError):
        inst.rate[0] = 99
    assert np.array_equal(inst.rate, before)
    inst.rate.setflags(write=False)  # no change: taken


@pytest.mark.parametrize("make", [lambda a: a.astype(np.float32), lambda a: a.flatten(), lambda a: a.repeat(2),
                                  lambda a: a.take([0]), lambda a: a.byteswap(), lambda a: a.compress([True])])
def test_a_new_array_made_from_one_is_a_plain_writable_ndarray(make):
    inst = load_instance(TIGHT)
    out = make(inst.rate)
    assert type(out) is np.ndarray and out.flags.writeable
    assert not repr(out).startswith("ReadOnlyArray")
    assert isinstance(inst.rate, ReadOnlyArray)


# 3. the free-space refusal: only a full disk


_SPACE = textwrap.dedent("""
    import os, sys
    from optdist.io import OutputPathError, check_output_file
    folder = sys.argv[1]
    with open(os.path.join(folder, "filler"), "wb") as f:
        f.write(b"x" * (8 * 4096))  # a 64 KiB tmpfs: 32 KiB left
    st = os.statvfs(folder)
    print("free", st.f_bavail * st.f_frsize)
    check_output_file(os.path.join(folder, "res.json"))  # a result of kilobytes fits: taken
    print("taken")
    fd = os.open(os.path.join(folder, "filler"), os.O_WRONLY | os.O_APPEND)  # now fill it up (unbuffered)
    try:
        while True:
            os.write(fd, b"x" * 4096)
    except OSError:
        pass
    os.close(fd)
    try:
        check_output_file(os.path.join(folder, "res.json"))
    except OutputPathError as e:
        print("refused", e)
""")


@pytest.mark.skipif(not (sys.platform.startswith("linux") and shutil.which("unshare") and shutil.which("mount")
                         and hasattr(os, "geteuid") and os.geteuid() == 0), reason="needs root to mount a tiny tmpfs")
def test_a_disk_with_space_for_a_result_is_taken_a_full_one_refused(tmp_path):
    script = tmp_path / "space.py"
    script.write_text(_SPACE)
    disk = tmp_path / "disk"
    disk.mkdir()
    run = subprocess.run(["unshare", "-m", "sh", "-c", f'mount -t tmpfs -o size=64k tmpfs "{disk}" && '
                          f'"{sys.executable}" "{script}" "{disk}"'], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    if "mount" in run.stderr and run.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {run.stderr.strip()}")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    free = int(lines[0].split()[1])
    assert 4096 <= free < 64 * 1024  # the case the user met: less than the old 64 KiB limit
    assert lines[1] == "taken"
    assert lines[2].startswith("refused") and "is full (only 0 bytes free)" in lines[2]


# 4. solver=None, the abstract base, a subclass of a built-in adapter for one call


def test_solver_none_is_as_leaving_it_out():
    inst = load_instance(TIGHT)
    res = optdist.solve(inst, solver=None)
    assert res.solver == "highs" and res.has_solution
    assert res.objective == pytest.approx(optdist.solve(inst).objective)


def test_the_abstract_base_is_named_as_such():
    with pytest.raises(ValueError, match=r"solver=Solver: optdist.solvers.Solver is the abstract base.*give a "
                                         r"subclass") as e:
        optdist.solve(load_instance(TIGHT), solver=Solver)
    assert "null" not in str(e.value)


class MyHighs(Highs):  # inherits name = "highs"
    calls = 0

    def solve(self, *args, **kwargs):
        type(self).calls += 1
        return super().solve(*args, **kwargs)


def test_a_subclass_of_a_built_in_adapter_runs_for_one_call():
    inst = load_instance(TIGHT)
    res = optdist.solve(inst, solver=MyHighs)
    assert res.has_solution and res.solver == "highs"
    assert MyHighs.calls >= 1
    n = MyHighs.calls
    optdist.solve(inst)  # the next call: the built-in one again
    assert MyHighs.calls == n


def test_a_name_taken_by_an_unrelated_class_is_still_refused():
    class NotHighs(Cbc):
        name = "highs"

    with pytest.raises(ValueError, match=r"adapter \"highs\" is taken by"):
        optdist.solve(load_instance(TIGHT), solver=NotHighs)
    with pytest.raises(ValueError, match=r"adapter \"highs\" is taken by"):
        register("highs", MyHighs)  # register: a built-in name stays taken


# 5. import-solution of another instance's model: the fix does not overwrite it


def test_import_solution_fix_suggests_a_new_model_file(tmp_path, capsys):
    lp, sol = exported_and_solved(tmp_path, TIGHT)
    capsys.readouterr()
    assert main(["import-solution", str(SERIAL), "--model-file", str(lp), "--solution", str(sol),
                 "--format", "highs"]) == 2
    err = capsys.readouterr().err
    assert f"--out {lp} " not in err and f"--out {lp}`" not in err
    assert f"--out {tmp_path / 'micro-2x3-serial.lp'}`" in err
