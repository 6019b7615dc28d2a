"""Measured seconds per segment in profile files (MODEL.md section 9, issue 13 item 5): on nodes of the
measured device type they replace ``c_k / e_j`` in every latency computation; other nodes are unchanged."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest

from optdist import solve
from optdist.assignment import Assignment
from optdist.cli import main
from optdist.evaluate import evaluate
from optdist.instance import load_instance
from optdist.profiles import MeasuredTimes, ProfileFileError, load_profile_file, parse_profile, write_profile_file
from optdist.result import Termination
from tests.conftest import hand_doc
from tests.test_milp_objectives import brute_force, close
from tests.test_own_networks import depthwise_profile, write

# dwnet (conv P=1, relu P=2, dw P=2, fc P=1) timed on an "rpi4": the depthwise layer is slow there
# (2 s a map, against c/e = 36/60e3 = 0.6 ms from the node's e), the ReLU costs 0.05 s a map.
RPI4 = MeasuredTimes((0.001, 0.05, 2.0, 0.003), "test bench", "2.x", 5, "2026-12-01T00:00:00+00:00")


def measured_doc(tmp_path, measured: bool = True) -> dict:
    """Two devices (d0 an rpi4 with its numbers given, d1 an rpi3), source s untyped; two dwnet requests."""
    prof = depthwise_profile()
    write_profile_file(prof.with_measured("rpi4", RPI4) if measured else prof, tmp_path / "dw.profile.json")
    doc = hand_doc()
    doc["networks"] = {"dwnet": "dw.profile.json"}
    doc["privacy"] = {"dwnet": None}
    doc["devices"] = doc["devices"][:2]
    doc["devices"][0].update(type="rpi4", mults_per_s=60e3)  # fast by its e, slow by measurement
    doc["devices"][1].update(type="rpi3", mults_per_s=30e3, rate=500.0)
    doc["requests"] = [{"id": "r1", "source": "s", "cnn": "dwnet"}, {"id": "r2", "source": "s", "cnn": "dwnet"}]
    return doc


def test_segment_seconds_replace_c_over_e_on_the_measured_type_only(tmp_path):
    inst = load_instance(write(tmp_path, measured_doc(tmp_path)))
    secs = inst.segment_seconds(0)
    c = np.array([la.mults_per_segment for la in depthwise_profile().layers], dtype=float)
    assert secs.shape == (4, 3)
    np.testing.assert_array_equal(secs[:, 0], RPI4.seconds_per_segment)  # d0: rpi4, measured
    np.testing.assert_array_equal(secs[:, 1], c / 30e3)  # d1: rpi3, not measured
    np.testing.assert_array_equal(secs[:, 2], c / 1e6)  # s: no type
    assert inst.timing_class(0) == "rpi4" and inst.timing_class(1) is None
    plain = load_instance(write(tmp_path, measured_doc(tmp_path, measured=False), "plain.json"))
    np.testing.assert_array_equal(plain.segment_seconds(0), c[:, None] / plain.mults_per_s[None, :])
    assert plain.timing_class(0) is None


def test_evaluator_latency_by_hand(tmp_path):
    """conv on s, both ReLU and depthwise maps on device j, fc on s (MODEL.md sections 4-5):
    T1 = c0/e_s; T2 = 2 maps x 64 B / rho_s + 2 t_relu(j); T3 = 2 t_dw(j) (maps stay); T4 = 2 x 16 B / rho_j + c3/e_s."""
    inst = load_instance(write(tmp_path, measured_doc(tmp_path)))
    plain = load_instance(write(tmp_path, measured_doc(tmp_path, measured=False), "plain.json"))
    c = [la.mults_per_segment for la in depthwise_profile().layers]
    s = 2

    def latency(j: int, t_relu: float, t_dw: float, rho_j: float) -> float:
        return c[0] / 1e6 + (128 / 1e3 + 2 * t_relu) + 2 * t_dw + (32 / rho_j + c[3] / 1e6)

    for j, t_relu, t_dw, rho_j in ((0, 0.05, 2.0, 1e3), (1, 0.0, c[2] / 30e3, 500.0)):
        asg = Assignment([[np.array([s]), np.array([j, j]), np.array([j, j]), np.array([s])]] * 2)
        ev = evaluate(inst, asg)
        assert ev.feasible
        np.testing.assert_allclose(ev.latency, latency(j, t_relu, t_dw, rho_j), rtol=1e-12)
        if j == 1:  # the rpi3 is not measured: exactly as without the table
            assert ev.objective == evaluate(plain, asg).objective
    ev0 = evaluate(plain, Assignment([[np.array([s]), np.array([0, 0]), np.array([0, 0]), np.array([s])]] * 2))
    np.testing.assert_allclose(ev0.latency, latency(0, 0.0, c[2] / 60e3, 1e3), rtol=1e-12)


@pytest.mark.parametrize("formulation", ["compact", "per-map", "tight", "decomposed"])
def test_exact_formulations_use_measured_times(tmp_path, formulation):
    """Every exact formulation reaches the brute-force optimum of the measured instance, which keeps the depthwise
    layer off the rpi4 (measured slow), while without the table the optimum puts it there (fast by e)."""
    inst = load_instance(write(tmp_path, measured_doc(tmp_path)))
    best, arg = brute_force(inst)
    res = solve(inst, formulation=formulation, mip_gap=0.0, threads=1)
    assert res.termination is Termination.OPTIMAL and res.evaluation.feasible
    assert close(res.objective, res.evaluator_objective) and close(res.objective, best)
    assert all(0 not in own[2] for own in arg.owners)
    plain = load_instance(write(tmp_path, measured_doc(tmp_path, measured=False), "plain.json"))
    best_plain, arg_plain = brute_force(plain)
    assert any(0 in own[2] for own in arg_plain.owners) and not close(best, best_plain)


def test_greedy_uses_measured_times(tmp_path):
    inst = load_instance(write(tmp_path, measured_doc(tmp_path)))
    plain = load_instance(write(tmp_path, measured_doc(tmp_path, measured=False), "plain.json"))
    res, res_plain = solve(inst, "greedy"), solve(plain, "greedy")
    assert res.evaluation.feasible and res_plain.evaluation.feasible
    assert all(0 not in own[2] for own in res.assignment.owners)  # the slow measured rpi4 gets no depthwise map
    assert any(0 in own[2] for own in res_plain.assignment.owners)
    assert close(res.objective, evaluate(inst, res.assignment).objective)


def test_identical_devices_of_different_measured_types_are_not_merged(tmp_path):
    """Symmetry groups and request classes (tight formulation, decomposition) tell measured types apart."""
    from optdist.milp.decomposition.classes import identical_device_groups

    doc = measured_doc(tmp_path)
    doc["devices"][1].update(mults_per_s=60e3, rate=1e3)  # numerically equal to d0, but not measured
    assert identical_device_groups(load_instance(write(tmp_path, doc))) == [[0], [1]]
    assert identical_device_groups(load_instance(write(tmp_path, measured_doc(tmp_path, False) | {
        "devices": doc["devices"]}, "plain.json"))) == [[0, 1]]


def test_a_measured_type_no_node_has_is_a_warning_in_validate_and_solve(tmp_path, capsys):
    """A table for a device type no node of the instance has (a typo, ``rpi-4``) is unused: validate
    and solve say so (a warning, not an error: the profile may be shared with other instances)."""
    doc = measured_doc(tmp_path, measured=False)
    write_profile_file(depthwise_profile().with_measured("rpi-4", RPI4), tmp_path / "dw.profile.json")
    path = write(tmp_path, doc)
    inst = load_instance(path)
    assert inst.measured_warnings() == [
        "networks.dwnet (dw.profile.json): measured_seconds.rpi-4 applies to no node (node types here: rpi3, rpi4); "
        "if \"rpi-4\" is a typo, fix the type name in the profile or re-measure with --measure TYPE"]
    assert main(["validate", str(path)]) == 0
    assert "warning: networks.dwnet (dw.profile.json): measured_seconds.rpi-4 applies to no node" in capsys.readouterr().out
    assert main(["solve", str(path), "--method", "greedy"]) == 0
    assert "measured_seconds.rpi-4 applies to no node" in capsys.readouterr().err
    assert load_instance(write(tmp_path, measured_doc(tmp_path), "ok.json")).measured_warnings() == []


def measured_json() -> dict:
    return copy.deepcopy(depthwise_profile().with_measured("rpi4", RPI4).to_json())


@pytest.mark.parametrize("mutate, path, words", [
    (lambda d: d["measured_seconds"]["rpi4"]["seconds_per_segment"].pop(), "measured_seconds.rpi4.seconds_per_segment",
     "3 times for 4 layers"),
    (lambda d: d["measured_seconds"]["rpi4"]["seconds_per_segment"].__setitem__(1, -0.5),
     "measured_seconds.rpi4.seconds_per_segment[1]", "got -0.5, out of range: it must be at least 0"),
    (lambda d: d["measured_seconds"]["rpi4"]["seconds_per_segment"].__setitem__(2, "0.1"),
     "measured_seconds.rpi4.seconds_per_segment[2]", "write the number without quotes: 0.1"),
    (lambda d: d["measured_seconds"]["rpi4"]["seconds_per_segment"].__setitem__(2, math.inf),
     "measured_seconds.rpi4.seconds_per_segment[2]", "finite"),
    (lambda d: d["measured_seconds"]["rpi4"].pop("seconds_per_segment"), "measured_seconds.rpi4.seconds_per_segment",
     "required field missing"),
    (lambda d: d["measured_seconds"]["rpi4"].update(repeats=0), "measured_seconds.rpi4.repeats", "got 0, out of range: it must be at least 1"),
    (lambda d: d["measured_seconds"]["rpi4"].update(secs=[1.0]), "measured_seconds.rpi4.secs", 'unknown field "secs"'),
    (lambda d: d.update(measured_seconds={"rpi4": [0.1, 0.2, 0.3, 0.4]}), "measured_seconds.rpi4", "write an object, in braces"),
])
def test_bad_measured_tables_name_file_field_and_fix(tmp_path, mutate, path, words):
    doc = measured_json()
    mutate(doc)
    f = tmp_path / "bad.profile.json"
    f.write_text(json.dumps(doc))
    with pytest.raises(ProfileFileError) as e:
        load_profile_file(f)
    text = str(e.value)
    assert str(f.resolve()) in text or str(f) in text
    found = {p.path: f"{p.message} | {p.fix}" for p in e.value.problems}
    assert path in found, found
    assert words.lower() in found[path].lower(), found[path]
    assert found[path].split(" | ")[1].startswith(("give", "remove", "write", "add", "did you mean")), found[path]  # the fix says what to write


def test_measured_table_round_trips_and_is_in_the_schema(tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    from optdist.instance import json_schema

    prof = depthwise_profile().with_measured("rpi4", RPI4)
    path = write_profile_file(prof, tmp_path / "m.profile.json")
    assert load_profile_file(path) == prof and load_profile_file(path).measured_seconds("rpi4") == RPI4.seconds_per_segment
    assert parse_profile(prof.to_json()).measured_seconds("rpi3") is None
    jsonschema.validate(prof.to_json(), json_schema("profile"))
    bad = measured_json()
    bad["measured_seconds"]["rpi4"]["seconds_per_segment"][0] = -1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, json_schema("profile"))
    assert "measured_seconds" not in depthwise_profile().to_json()  # files without a table are unchanged


def test_profile_measure_command_records_times(tmp_path, capsys):
    pytest.importorskip("torch")
    net = tmp_path / "dwnet.py"
    net.write_text(
        "from collections import OrderedDict\nimport torch\n\n"
        "def dwnet():\n"
        "    return torch.nn.Sequential(OrderedDict([('conv', torch.nn.Conv2d(1, 2, 3)), ('relu', torch.nn.ReLU()),\n"
        "        ('dw', torch.nn.Conv2d(2, 2, 3, groups=2)), ('flat', torch.nn.Flatten()), ('fc', torch.nn.Linear(8, 3))]))\n")
    out = tmp_path / "dw.profile.json"
    assert main(["profile", "--module", f"{net}:dwnet", "--input", "1,6,6", "--measure", "rpi4", "--repeats", "3",
                 "--out", str(out)]) == 0
    prof = load_profile_file(out)
    assert prof.layers == depthwise_profile().layers
    times = dict(prof.measured)["rpi4"]
    assert len(times.seconds_per_segment) == 4 and all(0 < t < 1 for t in times.seconds_per_segment)
    assert times.repeats == 3 and times.torch and times.machine and times.date.startswith("20")
    capsys.readouterr()
    assert main(["profile", str(out)]) == 0
    text = capsys.readouterr().out
    assert "measured on rpi4" in text and "s/seg on rpi4" in text
    assert main(["profile", "--module", f"{net}:dwnet", "--input", "1,6,6", "--measure", "rpi4", "--repeats", "0",
                 "--out", str(tmp_path / "x.json")]) == 2
    assert "--repeats 0 is out of range (fix: give a whole number of timed runs in [1, 1,000,000]" in capsys.readouterr().err and not (tmp_path / "x.json").exists()
    # more runs than a profile file may record: refused at once, not after hours of timing a file it cannot read back
    assert main(["profile", "--module", f"{net}:dwnet", "--input", "1,6,6", "--measure", "rpi4", "--repeats",
                 str(10**6 + 1), "--out", str(tmp_path / "x.json")]) == 2
    assert "in [1, 1,000,000]" in capsys.readouterr().err and not (tmp_path / "x.json").exists()
    # --repeats without --measure timed nothing and was silently ignored
    assert main(["profile", "--module", f"{net}:dwnet", "--input", "1,6,6", "--repeats", "5",
                 "--out", str(tmp_path / "x.json")]) == 2
    assert "--repeats goes with --measure TYPE" in capsys.readouterr().err and not (tmp_path / "x.json").exists()
    assert main(["profile", str(out), "--repeats", "5"]) == 2
    assert "--measure and --repeats go with --module" in capsys.readouterr().err


def test_measure_module_times_every_layer_of_a_residual_network():
    torch = pytest.importorskip("torch")
    from optdist.tracing import measure_module, profile_module

    class Res(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.stem, self.bn = torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.BatchNorm2d(4)
            self.conv, self.pool, self.fc = torch.nn.Conv2d(4, 4, 3, padding=1), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Linear(4, 2)

        def forward(self, x):
            y = torch.relu(self.bn(self.stem(x)))
            return self.fc(torch.flatten(self.pool(torch.relu(self.conv(y)) + y), 1))

    net = Res()
    prof = profile_module(net, (3, 8, 8), "res")
    assert [la.kind for la in prof.layers] == ["conv", "elementwise", "conv", "elementwise", "add", "elementwise", "fc"]
    times = measure_module(net, prof, repeats=2, warmup=1)
    assert len(times.seconds_per_segment) == prof.n_layers and all(t > 0 for t in times.seconds_per_segment)
    assert net.training  # the module's mode is restored
    for repeats in (0, 10**6 + 1):  # a profile file records 1 to MAX_REPEATS runs
        with pytest.raises(ValueError, match="repeats"):
            measure_module(net, prof, repeats=repeats)
