"""fix30: `optdist evaluate --stages` picks the requests whose stage breakdown is shown (the API:
Evaluation.breakdown/stages by request id); the instance fingerprint `optdist export` writes covers
the resolved CNN profiles and privacy limits, not only the spec and the devices."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from optdist.cli import main
from optdist.evaluate import evaluate
from optdist.instance import load_instance
from optdist.milp.export import fingerprint_of, instance_fingerprint
from tests.test_export import run_highs

ROOT = Path(__file__).resolve().parents[1]
COUPLED = ROOT / "instances" / "coupled" / "cifar-20x20-nexus-rpi3.json"
BEST = ROOT / "benchmarks" / "scale" / "coupled" / "best" / "cifar-20x20-nexus-rpi3.json"
TINY = ROOT / "instances" / "tiny"


# --- 1. evaluate: the stage breakdown of the requests asked for --------------------------------

def stage_headers(out: str) -> list[str]:
    """The stage tables' headers, without the units note every one has ("stages of r1:")."""
    return [line.replace(" (s; compute and transfer of the slowest owner)", "") for line in out.splitlines()
            if line.startswith("stages of ")]


def test_default_shows_the_first_requests_stages_and_says_how_to_see_others(capsys):
    """The issue's command: 3 request rows, the stages of r1 only (short), and a line naming --stages."""
    assert main(["evaluate", str(COUPLED), str(BEST), "--requests", "3"]) == 0
    out = capsys.readouterr().out
    assert stage_headers(out) == ["stages of r1:"], out
    assert "(other requests' stages: --stages r2,r3 or --stages all)" in out, out


def test_stages_names_the_requests_shown(capsys):
    assert main(["evaluate", str(COUPLED), str(BEST), "--requests", "3", "--stages", "r3, r2,r20,r3"]) == 0
    out = capsys.readouterr().out
    assert stage_headers(out) == ["stages of r3:", "stages of r2:", "stages of r20:"], out  # in order, each once
    assert "| conv11 " in out and "other requests' stages" not in out
    # --requests 0 leaves the table out, not the stages asked for
    assert main(["evaluate", str(COUPLED), str(BEST), "--requests", "0", "--stages", "r5"]) == 0
    out = capsys.readouterr().out
    assert stage_headers(out) == ["stages of r5:"] and "| request" not in out, out
    assert main(["evaluate", str(COUPLED), str(BEST), "--requests", "1", "--stages", "all"]) == 0
    assert stage_headers(capsys.readouterr().out) == [f"stages of r{k}:" for k in range(1, 21)]


@pytest.mark.parametrize("ids, said", [("r21", 'request "r21": no such request'),
                                       ("r1,R5", 'did you mean "r5"?'),
                                       ("r1,,r2", "an empty request id")])
def test_stages_refuses_requests_the_instance_does_not_have(capsys, ids, said):
    assert main(["evaluate", str(COUPLED), str(BEST), "--stages", ids]) == 2
    cap = capsys.readouterr()
    assert cap.out == "", cap.out  # refused before anything is scored or printed
    assert f"--stages {ids}: " in cap.err and said in cap.err, cap.err
    if "empty" not in said:
        assert '"cifar-20x20-nexus-rpi3" (its 20 requests, r1 ... r20)' in cap.err, cap.err


def test_stages_of_a_rejected_request_say_so(tmp_path, capsys):
    inst = TINY / "micro-3x2-admission.json"
    res = tmp_path / "res.json"
    assert main(["solve", str(inst), "--method", "greedy", "--out", str(res)]) == 0
    ev = evaluate(inst, res)
    rejected = [rid for rid, ok in zip(load_instance(inst).request_ids, ev.admitted) if not ok]
    assert len(rejected) == 1
    capsys.readouterr()
    assert main(["evaluate", str(inst), str(res), "--stages", "all"]) == 0
    out = capsys.readouterr().out
    none = [h for h in stage_headers(out) if h.endswith(": none (rejected)")]
    assert len(stage_headers(out)) == 3 and len(none) == 1, out
    assert none == [f"stages of {rejected[0]}: none (rejected)"]
    assert ev.breakdown(load_instance(inst), rejected[0]).empty


def test_python_api_takes_request_ids_as_the_cli_does():
    inst = load_instance(COUPLED)
    ev = evaluate(inst, BEST)
    assert ev.breakdown(inst, "r2").equals(ev.breakdown(inst, 1))
    stages = ev.stages(inst, "r3,r2")
    assert list(stages) == ["r3", "r2"] and stages["r2"].equals(ev.breakdown(inst, 1))
    assert list(ev.stages(inst, ["r20", 0])) == ["r20", "r1"] and len(ev.stages(inst)) == 20
    for bad in ("r21", -1, 20):  # -1 was the last request, 20 an IndexError
        with pytest.raises(ValueError, match=r"its 20 requests, r1 \.\.\. r20"):
            ev.breakdown(inst, bad)
    with pytest.raises(ValueError, match="no requests named"):
        ev.stages(inst, [])


def test_stages_is_documented(capsys):
    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    helptext = " ".join(capsys.readouterr().out.split())
    assert "--stages IDS|all" in helptext and "e.g. r5,r7" in helptext, helptext
    readme = (ROOT / "README.md").read_text()
    assert "optdist evaluate INSTANCE ASSIGNMENT.json --requests 3 --stages r2,r3" in readme


# --- 2. the instance fingerprint covers the networks and privacy limits ----------------------------

def own_micro(folder: Path) -> Path:
    """micro-2x3-tight with micro given as the user's profile file and privacy table ``mynet``."""
    prof = json.loads((ROOT / "models" / "profiles" / "micro.json").read_text())
    (folder / "mynet.profile.json").write_text(json.dumps({**prof, "cnn": "mynet"}, indent=1))
    table = json.loads((ROOT / "models" / "privacy" / "micro-synthetic.json").read_text())
    (folder / "mynet-privacy.json").write_text(json.dumps({**table, "cnn": "mynet"}, indent=1))
    doc = json.loads((TINY / "micro-2x3-tight.json").read_text())
    doc["networks"] = {"mynet": "mynet.profile.json"}
    doc["privacy"] = {"mynet": "mynet-privacy.json"}
    for rq in doc["requests"]:
        rq["cnn"] = "mynet"
    path = folder / "inst.json"
    path.write_text(json.dumps(doc, indent=1))
    return path


def edit(path: Path, change) -> None:
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc, indent=1))


@pytest.mark.parametrize("ext", ["lp", "mps"])
def test_import_refuses_a_model_whose_profile_changed_since_the_export(tmp_path, capsys, ext):
    inst = own_micro(tmp_path)
    model, sol = tmp_path / f"m.{ext}", tmp_path / "m.sol"
    assert main(["export", str(inst), "--out", str(model)]) == 0
    exported = fingerprint_of(model)
    assert exported == instance_fingerprint(load_instance(inst))
    run_highs(model, sol)
    capsys.readouterr()
    # unchanged: accepted
    assert main(["import-solution", str(inst), "--model-file", str(model), "--solution", str(sol)]) == 0
    capsys.readouterr()

    def smaller(doc):  # the profile re-written for conv2 with a 1x1 kernel: its multiplications and weights
        la = next(la for la in doc["layers"] if la["name"] == "conv2")
        la["kernel"], la["mults_per_segment"], la["weight_bytes_per_segment"] = \
            [1, 1], la["mults_per_segment"] // 9, la["weight_bytes_per_segment"] // 9
    edit(tmp_path / "mynet.profile.json", smaller)
    now = instance_fingerprint(load_instance(inst))
    assert now != exported
    asg = tmp_path / "asg.json"
    rc = main(["import-solution", str(inst), "--model-file", str(model), "--solution", str(sol), "--out", str(asg)])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert exported in err and now in err and "export the model of this instance again" in err, err
    assert not asg.exists()


def test_fingerprint_follows_the_coefficients_only(tmp_path):
    inst = own_micro(tmp_path)
    prof, table = tmp_path / "mynet.profile.json", tmp_path / "mynet-privacy.json"
    base = instance_fingerprint(load_instance(inst))

    # the same content written otherwise (keys reversed, no indent): the same fingerprint
    def reverse(d):
        return {k: reverse(d[k]) for k in reversed(list(d))} if isinstance(d, dict) else \
            [reverse(v) for v in d] if isinstance(d, list) else d
    for f in (prof, table):
        f.write_text(json.dumps(reverse(json.loads(f.read_text()))))
    assert instance_fingerprint(load_instance(inst)) == base

    # what changes no coefficient: a table's note, a layer's torch module names
    edit(table, lambda d: d["rows"][0].update(note="edited"))
    edit(prof, lambda d: d["layers"][0].update(torch_modules=["features.0"]))
    assert instance_fingerprint(load_instance(inst)) == base

    # each number the models read changes it: a layer's size, the measured seconds, Nf
    def measured(seconds):
        def change(d):
            d["format"] = "optdist-profile/2"
            d["measured_seconds"] = {"rpi3": {"seconds_per_segment": [seconds] * len(d["layers"])}}
        return change
    edit(prof, measured(1e-3))
    timed = instance_fingerprint(load_instance(inst))
    assert timed != base
    edit(prof, lambda d: d["measured_seconds"]["rpi3"].update(machine="other box", repeats=5))
    assert instance_fingerprint(load_instance(inst)) == timed  # the provenance of a measurement: no coefficient
    edit(prof, measured(2e-3))
    assert instance_fingerprint(load_instance(inst)) not in (base, timed)
    edit(prof, lambda d: d.pop("measured_seconds"))
    assert instance_fingerprint(load_instance(inst)) == base

    before = load_instance(inst).limits["mynet"]
    edit(table, lambda d: [c.update({k: 1.0 for k in c}) for row in d["rows"] for c in [row["cells"]]])
    after = load_instance(inst).limits["mynet"]
    assert (before.nf, before.device_cap, before.on_source) != (after.nf, after.device_cap, after.on_source)
    assert instance_fingerprint(load_instance(inst)) != base


def test_fingerprint_is_the_same_in_every_process(tmp_path):
    inst = own_micro(tmp_path)
    code = ("import sys; from optdist.instance import load_instance; from optdist.milp.export import "
            "instance_fingerprint; print(instance_fingerprint(load_instance(sys.argv[1])))")
    seen = set()
    for seed in ("1", "2", "random"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        done = subprocess.run([sys.executable, "-c", code, str(inst)], capture_output=True, text=True, env=env,
                              check=True)
        seen.add(done.stdout.strip())
    assert seen == {instance_fingerprint(load_instance(inst))}


# --- 1b. solve shows the stages as evaluate does (one flag set, one printer) ------------------

def test_solve_takes_stages_and_requests_as_evaluate_does(capsys):
    """`solve --requests N` said "show the breakdown of this many requests" but showed one; now
    solve and evaluate share --requests/--stages (commands.core.add_request_flags)."""
    micro = str(TINY / "micro-2x2-tau0.6.json")
    assert main(["solve", micro, "--method", "greedy", "--stages", "r2,r1"]) == 0
    assert stage_headers(capsys.readouterr().out) == ["stages of r2:", "stages of r1:"]
    assert main(["solve", micro, "--method", "greedy", "--requests", "0"]) == 0
    assert stage_headers(capsys.readouterr().out) == []
    assert main(["solve", micro, "--method", "greedy"]) == 0
    out = capsys.readouterr().out
    assert stage_headers(out) == ["stages of r1:"] and "--stages r2" in out, out


def test_solve_refuses_a_stages_request_before_solving(capsys):
    micro = str(TINY / "micro-2x2-tau0.6.json")
    assert main(["solve", micro, "--stages", "r9", "--time-limit", "60"]) == 2
    cap = capsys.readouterr()
    assert cap.out == "" and 'request "r9": no such request' in cap.err, cap
