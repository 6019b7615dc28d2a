"""api31: the Python API refuses what it would otherwise take and ignore, and says so in Python terms.

1. A loaded Instance could be changed in place and the change was ignored or half-applied:
   ``inst.spec.tau = 0.1`` solved at tau 0.8 (the privacy limits are derived at loading),
   ``inst.spec.devices[0].memory = 1`` was ignored, ``inst.spec.tau = -5`` accepted,
   ``inst.rate[0] = 0`` ended in a SolverRefused about "numbers span too wide a range",
   ``inst.profiles.clear()`` in a bare KeyError. ``inst.with_spec(tau=-5)`` solved, and
   ``with_spec(taux=0.5)`` ignored the field. Now the instance is read-only (the error says to use
   ``inst.with_spec``) and ``with_spec`` validates as loading a file does.
2. ``solve(P, tee="no", formulation="tight")`` was a 16-frame Pyomo ValueError, ``tee="no"`` with
   the default formulation and ``improve="no"`` were taken as true.
3. ``evaluate(inst_a, result_of_inst_b)`` and ``solve(inst_a, warm_start=result_of_inst_b)`` warned,
   then failed with "node index out of range 0..4", naming neither instance.
4. ``load_instance(42)``, ``forecast=42``, ``profile_module("notamodule", ...)``,
   ``res.evaluation.stages("r1")``: Python's own TypeError/AttributeError, naming no argument;
   ``optdist.profiles`` (README's spelling) an AttributeError in a fresh interpreter.
5. An instance dict's relative file "relative to the instance file" (a dict has none).
6. ``inner="bogus"`` said "unknown method", ``profile_module``'s shape errors "--input".
All with real HiGHS, no mocks.
"""

from __future__ import annotations

import copy
import json
import pickle
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import optdist
from optdist.instance import InstanceError, ReadOnlyError

from .conftest import LENET_1X4, ROOT

PAPER_1X10 = ROOT / "instances" / "paper" / "lenet-1x10-tau0.8.json"


@pytest.fixture(scope="module")
def inst():
    return optdist.load_instance(LENET_1X4)


@pytest.fixture(scope="module")
def optimum(inst):
    return optdist.solve(inst).objective


# --- 1. a loaded instance is read-only; with_spec validates ------------------------------------

@pytest.mark.parametrize("change", [
    lambda i: setattr(i.spec, "tau", 0.1),
    lambda i: setattr(i.spec, "tau", -5),
    lambda i: setattr(i.spec, "tau", "abc"),
    lambda i: setattr(i.spec.devices[0], "memory", 1),
    lambda i: setattr(i.spec.objective, "kind", "makespan"),
    lambda i: setattr(i.spec.objective, "kind", "bogus"),
    lambda i: setattr(i.spec.requests[0], "cnn", "cifar"),
    lambda i: i.spec.devices.append(i.spec.devices[0]),
    lambda i: i.spec.devices.pop(),
    lambda i: i.spec.privacy.__setitem__("lenet", None),
    lambda i: i.profiles.clear(),
    lambda i: i.limits.pop("lenet"),
], ids=["tau", "tau-5", "tau-abc", "device-memory", "objective-kind", "objective-bogus", "request-cnn",
        "devices-append", "devices-pop", "privacy-item", "profiles-clear", "limits-pop"])
def test_a_change_in_place_is_refused_naming_with_spec(inst, optimum, change):
    with pytest.raises(ReadOnlyError, match=r"read-only.*\(fix: .*with_spec\("):
        change(inst)
    assert inst.spec.tau == 0.8 and inst.objective.kind == "latency" and len(inst.spec.devices) == 4
    assert set(inst.profiles) == {"lenet"} and inst.limits["lenet"].tau == 0.8
    assert optdist.solve(inst).objective == pytest.approx(optimum)


@pytest.mark.parametrize("code", ["i.rate[0] = 0", "i.mults_per_s[:] = np.nan", "i.memory += 1",
                                  "i.request_source[0] = 0", "i.compute_capacity.fill(0)"])
def test_the_arrays_are_read_only(inst, optimum, code):
    with pytest.raises(ValueError, match="read-only"):
        exec(code, {"i": inst, "np": np})
    assert np.all(inst.rate > 0) and np.all(np.isfinite(inst.mults_per_s))
    assert optdist.solve(inst).objective == pytest.approx(optimum)


def test_a_copy_or_a_pickled_instance_is_read_only_too(inst):
    for other in (copy.deepcopy(inst), copy.copy(inst), pickle.loads(pickle.dumps(inst))):
        with pytest.raises(ValueError, match="read-only"):
            other.rate[0] = 0
        with pytest.raises(ReadOnlyError):
            other.spec.devices.clear()
        with pytest.raises(ReadOnlyError):
            other.profiles["x"] = None
        assert other.spec == inst.spec and other.spec.model_dump() == inst.spec.model_dump()


def test_with_spec_rederives_what_depends_on_the_change(inst, optimum):
    tighter = inst.with_spec(tau=0.1)
    assert tighter.limits["lenet"].tau == 0.1 and tighter.limits["lenet"] != inst.limits["lenet"]
    assert optdist.solve(tighter).objective != pytest.approx(optimum)
    devices = [d.model_copy(update={"memory": 1.0}) if d.id == "rpi3-1" else d for d in inst.spec.devices]
    small = inst.with_spec(devices=devices)
    assert small.memory[0] == 1.0 and inst.memory[0] > 1e9
    assert inst.with_spec(objective={"kind": "makespan"}).objective.kind == "makespan"
    assert inst.with_spec(objective=inst.objective.model_copy(update={"kind": "makespan"})).objective.kind == "makespan"


@pytest.mark.parametrize("changes, says", [
    ({"tau": -5}, r"tau: got -5, out of range.*\(fix: give the tolerated SSIM as a number in \(0, 1\]"),
    ({"tau": 1.5}, r"tau: got 1\.5, out of range"),
    ({"tau": "abc"}, r'tau: got "abc" \(a string\)'),
    ({"taux": 0.5}, r'taux: unknown field "taux".*\(fix: did you mean "tau"\?'),
    ({"objective": {"kind": "bogus"}}, r'objective\.kind: got "bogus".*\(fix: use "latency" or "makespan"'),
    ({"devices": [{"id": "d1", "type": "rpi-3"}]}, r'devices\[0\]\.type: unknown device type "rpi-3"'),
])
def test_with_spec_validates_as_loading_a_file_does(inst, changes, says):
    with pytest.raises(InstanceError, match=says):
        inst.with_spec(**changes)


def test_an_instance_document_is_refused_alike(inst):
    doc = json.loads(LENET_1X4.read_text())
    with pytest.raises(InstanceError, match=r"tau: got -5, out of range"):
        optdist.solve({**doc, "tau": -5})


# --- 2. bool and other typed options -------------------------------------------------------------

@pytest.mark.parametrize("method, options, says", [
    ("milp", {"tee": "no", "formulation": "tight"}, r'method milp: tee = "no" is not a bool \(fix: tee=True or tee=False\)'),
    ("milp", {"tee": "no"}, r'method milp: tee = "no" is not a bool'),
    ("milp", {"tee": 1}, r"method milp: tee = 1 is not a bool"),
    ("plan-guided", {"improve": "no"}, r'method plan-guided: improve = "no" is not a bool \(fix: improve=True'),
    ("milp", {"formulation": 3}, r"method milp: formulation = 3 is not a string"),
    ("plan-guided", {"forecast": 42}, r"method plan-guided: forecast = 42 is not an instance \(fix: give an Instance"),
    ("defended", {"inner": "bogus"}, r'method defended: inner = "bogus" is no method \(fix: e\.g\. inner="milp"'),
    ("defended", {"inner": "greedyy"}, r'inner = "greedyy" is no method \(fix: did you mean inner="greedy"\?'),
])
def test_an_option_of_the_wrong_type_is_refused_naming_it(method, options, says):
    with pytest.raises(ValueError, match=says):
        optdist.solve(LENET_1X4, method=method, **options)


def test_true_bools_still_run(inst, optimum):
    assert optdist.solve(inst, tee=np.False_).objective == pytest.approx(optimum)
    assert optdist.solve(inst, method="plan-guided", improve=False, time_limit=30).assignment is not None


# --- 3. a result of another instance --------------------------------------------------------------

def test_a_result_of_a_larger_instance_is_refused_naming_both(inst):
    other = optdist.solve(PAPER_1X10, method="greedy")
    assert int(max(a.max() for a in other.assignment.owners[0])) >= inst.n_nodes  # it uses a node 1x4 lacks
    says = (r'the SolveResult was made for instance "lenet-1x10-tau0\.8", not "lenet-1x4-tau0\.8", and its placement '
            r"does not fit this one.s nodes: it puts layer \w+ of request \"r1\" on node \"cam1\" of its instance "
            r'\(index 10 there\), and this one has nodes 0\.\.4 .*\(fix: give a result of "lenet-1x4-tau0\.8"')
    with pytest.raises(ValueError, match="optdist.evaluate: " + says):
        optdist.evaluate(inst, other)
    with pytest.raises(ValueError, match=re.escape("optdist.solve(warm_start=...): ") + says):
        optdist.solve(inst, warm_start=other)


def test_a_result_of_the_instance_before_with_spec_is_refused(inst):
    res = optdist.solve(PAPER_1X10, method="greedy")
    fewer = optdist.load_instance(PAPER_1X10)
    fewer = fewer.with_spec(devices=fewer.spec.devices[:3])
    with pytest.raises(ValueError, match=r"does not fit \"lenet-1x10-tau0\.8\": its placement does not fit this one.s "
                                         r"nodes.*with_spec"):
        optdist.evaluate(fewer, res)


# --- 4. raw errors that named no argument ---------------------------------------------------------

@pytest.mark.parametrize("arg, says", [
    (42, r"optdist\.load_instance: path is int 42; it takes the path of an instance file"),
    ({"tau": 0.8}, r"path is dict .*optdist\.instance\.parse\(doc\)"),
])
def test_load_instance_of_another_type_names_what_it_takes(arg, says):
    with pytest.raises(TypeError, match=says):
        optdist.load_instance(arg)


def test_stages_without_the_instance_names_the_call(inst):
    res = optdist.solve(inst, method="greedy")
    with pytest.raises(TypeError, match=r'Evaluation\.stages: .*\(fix: e\.g\. res\.evaluation\.stages\(inst, "r1"\)'):
        res.evaluation.stages("r1")
    with pytest.raises(TypeError, match=r"Evaluation\.breakdown: "):
        res.evaluation.breakdown("r1", 0)
    assert list(res.evaluation.stages(inst, "r1")) == ["r1"]


def test_submodules_as_readme_writes_them_in_a_fresh_interpreter():
    code = ("import optdist; print(optdist.profiles.write_profile_file.__name__, optdist.milp.build.__name__, "
            "callable(optdist.solve)); import sys; print('optdist.cli' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert out.split() == ["write_profile_file", "build", "True", "False"]
    with pytest.raises(AttributeError, match="module 'optdist' has no attribute 'nothing'"):
        optdist.nothing  # noqa: B018


def test_profile_module_names_its_arguments_in_python_terms():
    pytest.importorskip("torch")
    from torch import nn

    from optdist.tracing import TraceError

    with pytest.raises(TypeError, match=r'profile_module: module is str "notamodule"; it takes a torch\.nn\.Module'):
        optdist.profile_module("notamodule", (1, 28, 28), "x")
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 3))
    for shape, says in (((1, 28, 28), r"e\.g\. input_shape=\(3, 32, 32\); check input_shape"),
                        ((28, 28), r"check input_shape \(without the batch\)"),
                        ((0, 28, 28), r"e\.g\. input_shape=\(3, 32, 32\)"),
                        ("1,28,28", r"is not a sequence of sizes")):
        with pytest.raises(TraceError, match=says) as e:
            optdist.profile_module(net, shape, "x")
        assert "--input" not in str(e.value)
    with pytest.raises(TraceError, match=r"e\.g\. --input 3,32,32; check --input"):  # the CLI's words
        optdist.profile_module(net, (1, 28, 28), "x", flag="--input")


# --- 5. a dict's relative files -------------------------------------------------------------------

@pytest.mark.parametrize("field, value, path", [
    ("devices_catalog", "nowhere/cat.json", "devices_catalog"),
    ("networks", {"mynet": "nowhere/mynet.json"}, "networks.mynet"),
    ("privacy", {"lenet": "nowhere/table.json"}, "privacy.lenet"),
])
def test_a_dicts_relative_file_is_relative_to_the_working_folder(field, value, path):
    doc = {**json.loads(LENET_1X4.read_text()), field: value}
    with pytest.raises(InstanceError, match=re.escape(path) + r".*relative to the working folder \(a dict has no "
                                            r"instance file\)") as e:
        optdist.solve(doc)
    assert "relative to the instance file" not in str(e.value)


# --- 7. README's Python blocks run as written ------------------------------------------------------

def test_readme_python_blocks_run(tmp_path, monkeypatch):
    if shutil.which("cbc") is None:
        pytest.skip("README's export block solves model.lp with cbc")
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert any("write_model" in b for b in blocks)
    (tmp_path / "instances").symlink_to(ROOT / "instances")
    monkeypatch.chdir(tmp_path)
    names: dict = {}  # one session: the second block goes on from the first
    for block in blocks[:2]:
        exec(compile(block, "README.md", "exec"), names)
    assert (tmp_path / "model.lp").is_file() and (tmp_path / "result.json").is_file()
