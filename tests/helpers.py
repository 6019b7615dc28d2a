"""Helpers shared by several test files (one copy each; tests/conftest.py holds the older ones):
noise images for a calibration, a tiny CNN module of the user's own, an exported model solved by
HiGHS or by SCIP, reading a running optdist's output until a line appears, a copy of the competing-lenet
records with one record's summary edited, a fresh user's instance of competing requests, and a
LeNet instance that reads a privacy table of the test's own."""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
#: the committed HiGHS records of a small sweep, and the instance of its record :func:`edited_records` edits (its only one)
COMPETING = ROOT / "benchmarks/milp/competing-lenet"
EDITED = "lenet-9x5-nexus-rpi3"


def lenet_with_table(tmp_path: Path, name: str, table: dict, tau: float) -> tuple[Path, Path]:
    """``table`` (a privacy-table document) written as ``tmp_path/<name>.json`` and a LeNet instance of
    one request on two rpi3 devices at ``tau`` that reads it, made by ``optdist generate``
    (``tmp_path/<name>-inst.json``): (the table, the instance)."""
    from optdist.cli import main

    path, inst = tmp_path / f"{name}.json", tmp_path / f"{name}-inst.json"
    path.write_text(json.dumps(table))
    assert main(["generate", "--name", name, "--requests", "lenet=1", "--devices", "rpi3=2", "--tau", str(tau),
                 "--privacy", str(path), "--out", str(inst)]) == 0
    return path, inst


def mixed_instance(name: str, **fields) -> dict:
    """A fresh user's instance (break33a): LeNet requests r1, r2 and a micro r3 from two cameras (cam2 a
    slow pizero) on four devices of three types, each sending at most 6,000 B per 2.5-ms period, so the
    requests compete for bandwidth; ``fields`` replace or add top-level fields (e.g. ``tau=0.01``)."""
    return {"format": "optdist-instance/1", "name": name, "tau": 0.8, "period_s": 0.0025,
            "privacy": {"lenet": "paper", "micro": "synthetic"},
            "devices": [{"id": "a", "type": "rpi3", "bandwidth_capacity": 6000},
                        {"id": "b", "type": "rpi3", "rate": 4000000, "bandwidth_capacity": 6000},
                        {"id": "c", "type": "nexus", "memory": 300000, "bandwidth_capacity": 6000},
                        {"id": "d", "type": "orangepizero", "bandwidth_capacity": 6000}],
            "sources": [{"id": "cam1", "type": "rpi3"}, {"id": "cam2", "type": "pizero"}],
            "requests": [{"id": "r1", "source": "cam1", "cnn": "lenet"}, {"id": "r2", "source": "cam2", "cnn": "lenet"},
                         {"id": "r3", "source": "cam1", "cnn": "micro"}], **fields}


def images(folder: Path, n: int, side: int = 28) -> Path:
    """``folder`` made and filled with ``n`` real grayscale PNG files (``side`` pixels square) of
    random noise over a gradient (seed 0)."""
    from PIL import Image

    folder.mkdir()
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 255, side)[None, :] * np.ones((side, 1))
    for i in range(n):
        img = (0.5 * ramp + 0.5 * rng.integers(0, 256, (side, side))).astype(np.uint8)
        Image.fromarray(img, mode="L").save(folder / f"img{i}.png")
    return folder


def read_until(proc: subprocess.Popen, pattern: re.Pattern[bytes], stream=None, wait_s: float = 60.0) -> bytes:
    """``stream`` (default: ``proc.stderr``) of a running optdist read until ``pattern`` matches what
    was read (the process still running); the test fails, the process killed, when it ends first
    or after ``wait_s`` (a bound for a stuck run, not a timing under test)."""
    stream = proc.stderr if stream is None else stream
    got = b""
    deadline = time.monotonic() + wait_s
    while not pattern.search(got):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.communicate()
            pytest.fail(f"optdist ended (status {proc.returncode}) before writing {pattern.pattern!r}: "
                        f"{got.decode(errors='replace')[-2000:]}")
        if select.select([stream], [], [], 1.0)[0]:
            got += os.read(stream.fileno(), 4096)
    return got


def edited_records(out: Path, **summary) -> tuple[Path, Path]:
    """The competing-lenet records copied to ``out/records``, the summary of :data:`EDITED`'s record
    updated with ``summary`` (e.g. ``bound=1.0``: above its own objective, a record that contradicts
    itself; none: an unedited copy). Returns ``(out, the edited record's path)``."""
    shutil.copytree(COMPETING / "records", out / "records")
    path = next(p for p in sorted((out / "records").glob("*.json")) if p.name.startswith(EDITED))
    if summary:
        rec = json.loads(path.read_text())
        rec["summary"].update(summary)
        path.write_text(json.dumps(rec))
    return out, path


#: a user's own CNN module for ``calibrate --module FILE:tiny6`` (input 1x6x6, 3 classes)
TINY_NET = """
from torch import nn


def tiny6():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))
"""


def tiny_module(tmp_path: Path) -> Path:
    """``tmp_path / "tiny.py"`` holding :data:`TINY_NET`."""
    path = tmp_path / "tiny.py"
    path.write_text(TINY_NET)
    return path


def exported_and_solved(tmp_path: Path, instance: Path, *export_args: str) -> tuple[Path, Path]:
    """``optdist export INSTANCE [ARGS] --out tmp_path/m.lp``, solved by HiGHS in-process, its
    solution written to ``tmp_path/m.sol`` (HiGHS's format): the two paths."""
    import highspy

    from optdist.cli import main

    lp, sol = tmp_path / "m.lp", tmp_path / "m.sol"
    assert main(["export", str(instance), *export_args, "--out", str(lp)]) == 0
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.readModel(str(lp))
    h.run()
    h.writeSolution(str(sol), 0)
    return lp, sol


def scip_solved(tmp_path: Path, instance: Path) -> tuple[Path, Path]:
    """``optdist export INSTANCE --out tmp_path/m.lp``, solved by SCIP (pyscipopt; the test is skipped
    without it), its best solution written to ``tmp_path/m.sol`` (SCIP's format): the two paths."""
    scip = pytest.importorskip("pyscipopt")
    from optdist.cli import main

    model, sol = tmp_path / "m.lp", tmp_path / "m.sol"
    assert main(["export", str(instance), "--out", str(model)]) == 0
    m = scip.Model()
    m.hideOutput()
    m.readProblem(str(model))
    m.optimize()
    m.writeBestSol(str(sol))
    return model, sol


def market_split(n: int, m: int):
    """A raw ``highspy.Highs`` market-split MIP (Cornuejols-Dawande) of ``n`` binaries and ``m`` rows:
    tiny, hard for branch and bound (HiGHS runs n=36, m=4 to any limit of a few seconds; on n=20, m=3
    its RENS/RINS start sub-MIPs at the root), one thread, no time limit of its own."""
    import highspy

    rng = np.random.default_rng(0)
    A = rng.integers(0, 100, size=(m, n))
    b = A.sum(1) // 2
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    for _ in range(n):
        h.addVar(0.0, 1.0)
    for _ in range(2 * m):
        h.addVar(0.0, highspy.kHighsInf)
    h.changeColsIntegrality(n, np.arange(n, dtype=np.int32), np.array([highspy.HighsVarType.kInteger] * n))
    h.changeColsCost(2 * m, np.arange(n, n + 2 * m, dtype=np.int32), np.ones(2 * m))
    for i in range(m):
        idx = np.r_[np.arange(n), n + 2 * i, n + 2 * i + 1].astype(np.int32)
        h.addRow(float(b[i]), float(b[i]), len(idx), idx, np.r_[A[i].astype(float), 1.0, -1.0])
    return h
