"""msgs28: instance type errors in the user's terms (file, field path, value as typed, what is
expected, a fix with an example); per-layer and edge-cloud violations they make by design named
as such, not as "the method said feasible"; a bench record whose own bound is above its own
objective warned, naming the record file."""

from __future__ import annotations

import json
import re

import pytest

from optdist.bench.tables import write_tables
from optdist.cli import main
from optdist.io import atomic_write_json
from tests.conftest import ROOT
from tests.test_bench_tables import record

LENET = ROOT / "instances" / "paper" / "lenet-1x10-tau0.6.json"


# --- item 4: a record's own bound above its own objective --------------------------------------

def test_bench_table_warns_a_record_whose_bound_is_above_its_own_objective(tmp_path, capsys):
    """Before: no warning named the record (disagreements() compares two runs' claims, never a run
    with itself, and the reference check counts only feasible placements' values)."""
    recs = [record("a", "highs", "optimal", 1.0, 1.5, feasible=False), record("a", "scip", "optimal", 2.0, 2.0),
            record("b", "highs", "optimal", 2.0, 2.0 * (1 + 1e-9)), record("c", "highs", "time_limit", 3.0, 2.5)]
    for r in recs:
        atomic_write_json(tmp_path / "records" / f"{r['key']}.json", r)
    _, warns = write_tables(tmp_path)
    bad = [w for w in warns if "above its own objective" in w]
    assert len(bad) == 1, warns  # b is above by rounding only, c is below
    # the only warning of its bound that names it (the other: optimal with feasible false, rec28)
    assert [w for w in warns if "a--milp--highs.json" in w and "summary.feasible false" not in w] == bad
    path = tmp_path / "records" / "a--milp--highs.json"
    assert bad[0].startswith(f"{path}: its bound 1.5 is above its own objective 1 (rel. diff 0.333) on a "
                             "(milp/highs/compact, termination optimal)")
    assert "(fix: solve the instance again to check, e.g. `optdist solve a.json`; then delete this record" in bad[0]
    assert f"WARNING {bad[0]}" in (tmp_path / "tables" / "solvers.md").read_text()
    capsys.readouterr()
    assert main(["bench-table", str(tmp_path)]) == 0
    assert f"optdist: warning: {bad[0]}" in capsys.readouterr().err


# --- item 3: per-layer and edge-cloud name the violations they make by design -----------------

def _termination_line(capsys, *argv) -> str:
    main(["solve", *argv, "-q"])
    return next(line for line in capsys.readouterr().out.splitlines() if line.startswith("termination"))


def test_per_layer_names_the_constraints_it_does_not_model(capsys):
    """Before: 'termination  violated  (the method said feasible; see the violations below)'."""
    line = _termination_line(capsys, str(LENET), "--method", "per-layer")
    assert line == ("termination  violated  (violates privacy (10f): per-layer does not model the privacy limits Nf; "
                    "violates the (10h) pins to the source: per-layer does not model them (it pins only the first and "
                    "last layers); see the violations below)"), line


def test_edge_cloud_names_the_rule_it_does_not_model(capsys):
    """Before: 'termination  violated  (the method said feasible; see the violations below)'."""
    line = _termination_line(capsys, str(LENET), "--method", "edge-cloud")
    assert line == ("termination  violated  (runs intermediate layers on the source: edge-cloud does not model the "
                    "rule that sources compute only the first, last and (10h) layers (its head runs there by design); "
                    "see the violations below)"), line


def test_edge_cloud_rejections_with_admission_off_are_named(capsys):
    line = _termination_line(capsys, str(ROOT / "instances/paper/hetero-250x70-tau0.6.json"), "--method", "edge-cloud")
    assert line.startswith("termination  violated  (rejects 92 requests (r52, r58, r61, r70, r71 and 87 more) with "
                           "admission control off: edge-cloud rejects a request that nothing fits; runs intermediate "
                           "layers on the source: "), line


@pytest.mark.parametrize("method,families", [("per-layer", {"privacy", "placement:10h", "admission"}),
                                             ("edge-cloud", {"placement:source", "admission"})])
def test_results_say_what_their_feasible_covers(method, families, tmp_path):
    """The result file (--out) carries the method's claim as it is: 'feasible' kept as the claimed
    termination, with what the method does not model; every violation it makes is of those families."""
    from optdist.evaluate import violation_families
    from optdist.instance import load_instance
    from optdist.solve import solve

    out = tmp_path / "r.json"
    assert main(["solve", str(LENET), "--method", method, "--out", str(out), "-q"]) == 1
    doc = json.loads(out.read_text())
    assert doc["termination"] == "violated" and doc["extra"]["claimed_termination"] == "feasible"
    assert set(doc["extra"]["not_modelled"]) == families
    inst = load_instance(LENET)
    res = solve(inst, method=method)
    assert set(violation_families(inst, res.evaluation.violations)) <= families


def test_a_violation_the_method_models_is_still_called_its_false_claim():
    """A violation outside the method's not_modelled (here: privacy, taken out of per-layer's list
    of a real run) is said to be one the method models, with its claim, not excused."""
    from optdist.commands.solve import _by_design
    from optdist.instance import load_instance
    from optdist.solve import solve

    inst = load_instance(LENET)
    res = solve(inst, method="per-layer")
    del res.extra["not_modelled"]["privacy"]
    said = _by_design(res, inst)
    assert said.startswith("violates privacy, which per-layer models: the method said feasible (a bug in the method); ") \
        or "; violates privacy, which per-layer models: the method said feasible (a bug in the method)" in said, said
    assert "(10h) pins to the source: per-layer does not model them" in said


# --- item 1: instance type errors in the user's terms -----------------------------------------

def _broken(tmp_path, mutate, name="bad.json"):
    doc = json.loads(LENET.read_text())
    mutate(doc)
    path = tmp_path / name
    path.write_text(json.dumps(doc, indent=1))
    return path


# (mutation, the problem line as `optdist solve` prints it, after "  - "); before, e.g.
# 'devices[2]: Input should be a valid dictionary or instance of NodeSpec (fix: give a list of at least one device, ...)'
# 'devices[2].id: Input should be a valid string (fix: see instances/schema.json for the expected type)'
CASES = [
    (lambda d: d["devices"][2].update(memory="1GB"),
     'devices[2].memory: got "1GB" (a string); expected bytes of memory, a number in (0, 1e+15] '
     '(fix: write one number, without quotes, e.g. "memory": 1073741824 for 1 GiB)'),
    (lambda d: d["devices"][2].update(memory="1073741824"),
     'devices[2].memory: got "1073741824" (a string); expected bytes of memory, a number in (0, 1e+15] '
     '(fix: write the number without quotes: "memory": 1073741824)'),
    (lambda d: d["devices"][2].update(memory=-5),
     "devices[2].memory: got -5, out of range: it must be greater than 0; expected bytes of memory, a number in "
     "(0, 1e+15] (fix: give the memory in bytes as a number in (0, 1e+15], e.g. 1073741824 for 1 GiB)"),
    (lambda d: d["devices"].__setitem__(2, "rpi3"),
     'devices[2]: got "rpi3" (a string); expected a device, an object with an "id" and a "type" (or the numbers a '
     'type gives) (fix: write the device as an object, in braces: {"id": "d3", "type": "rpi3"})'),
    (lambda d: d["requests"].__setitem__(0, ["r1"]),
     'requests[0]: got ["r1"] (a list); expected a request, an object with an "id", a "source" and a "cnn" '
     '(fix: write the request as an object, in braces: {"id": "r1", "source": "cam1", "cnn": "lenet"})'),
    (lambda d: d.update(devices={"id": "x", "type": "rpi3"}),
     'devices: got {"id": "x", "type": "rpi3"} (an object); expected a list of at least one device, each an object '
     '(fix: put it in a list, in square brackets: "devices": [{"id": "x", "type": "rpi3"}])'),
    (lambda d: d.update(objective=["latency"]),
     'objective: got ["latency"] (a list); expected an object of objective options '
     '(fix: write an object, in braces, e.g. "objective": {"kind": "latency"})'),
    (lambda d: d.update(tau="0.6"),
     'tau: got "0.6" (a string); expected the tolerated SSIM of an inversion attack, a number in (0, 1] '
     '(fix: write the number without quotes: "tau": 0.6)'),
    (lambda d: d.pop("tau"),
     'tau: required field missing; expected the tolerated SSIM of an inversion attack, a number in (0, 1] '
     '(fix: add "tau": 0.6)'),
    (lambda d: d["devices"][2].pop("id"),
     'devices[2].id: required field missing; expected a non-empty string, unique among the devices and sources '
     '(fix: add "id": "d3")'),
    (lambda d: d["devices"][2].update(id=3),
     'devices[2].id: got 3 (a number); expected a non-empty string, unique among the devices and sources '
     '(fix: write it in quotes: "id": "3")'),
    (lambda d: d["devices"][2].update(memroy=5),
     'devices[2].memroy: unknown field "memroy" (value 5) in a device (fix: did you mean "memory"? remove it or '
     'correct its spelling; the fields of a device are "id", "type", "memory", "mults_per_s", "rate", '
     '"compute_capacity", "bandwidth_capacity")'),
    (lambda d: d["devices"][0].update(cnn="lenet"),
     'devices[0].cnn: unknown field "cnn" (value "lenet") in a device (fix: "cnn" is a field of a request, not of a '
     'device: move it there or remove it; the fields of a device are "id", "type", "memory", "mults_per_s", "rate", '
     '"compute_capacity", "bandwidth_capacity")'),
    (lambda d: d.update(objective={"kind": "Latency", "admission": "true"}),
     'objective.kind: got "Latency" (a string); expected "latency" or "makespan" (fix: did you mean "kind": '
     '"latency"? use "latency" or "makespan", e.g. "kind": "latency")'),
    (lambda d: d.update(objective={"admission": "true"}),
     'objective.admission: got "true" (a string); expected true or false (fix: write true without quotes: '
     '"admission": true)'),
    (lambda d: d.update(privacy={"lenet": 5}),
     'privacy.lenet: got 5 (a number); expected a bundled privacy table\'s name such as "paper", the path of a table '
     'file (a string), or null for no privacy limit (fix: write a string, in quotes (or null), e.g. "lenet": "paper")'),
    (lambda d: d.update(defence={"lenet": {"epsilons": "5"}}),
     'defence.lenet.epsilons: got "5" (a string); expected a list of Laplace budgets, numbers in [1e-06, 1e+06], or null '
     '(fix: put it in a list, in square brackets, without quotes: "epsilons": [5])'),
    (lambda d: d.update(defence={"lenet": {"epsilons": [1, -3]}}),
     "defence.lenet.epsilons[1]: got -3, out of range: it must be at least 1e-06; expected a Laplace budget, a number "
     "in [1e-06, 1e+06] (fix: give per-element Laplace budgets in [1e-06, 1e+06], e.g. [1, 5, 10])"),
    (lambda d: d["devices"][2].update(rate="x" * 300),
     'devices[2].rate: got "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx... (302 characters) (a string); expected '
     "radio bytes per second, a number in [1, 1e+12] (fix: write one number, without quotes, e.g. \"rate\": 9025000 "
     "for 802.11n at 72.2 Mbit/s)"),
    (lambda d: d["devices"][1].update(type="rpi5"),
     'devices[1].type: unknown device type "rpi5" (fix: did you mean "rpi4"? use one of "beaglebone-ai", '
     '"jetson-nano", "nexus", "odroid-xu4", "orangepizero", "pizero", "rpi3", "rpi4", "stm32h7", e.g. "type": '
     '"rpi3", or give the numbers (memory, mults_per_s, rate) instead of a type)'),
    (lambda d: d["requests"][0].update(cnn="lenett"),
     'requests[0].cnn: unknown CNN "lenett" (fix: did you mean "lenet"? use one of "cifar", "lenet", "micro", '
     '"vgg16", "vgg19", or name your own network\'s profile file in "networks": {"lenett": "FILE.json"})'),
]


@pytest.mark.parametrize("command", ["solve", "evaluate"])
@pytest.mark.parametrize("mutate,said", CASES)
def test_instance_problems_name_file_field_value_expectation_and_fix(tmp_path, capsys, command, mutate, said):
    bad = _broken(tmp_path, mutate)
    argv = ["solve", str(bad), "--method", "greedy"] if command == "solve" else ["evaluate", str(bad), str(LENET)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"optdist {command}: error: {bad}: " in err, err  # the file
    assert f"  - {said}\n" in err, err


# pydantic's own words and class names, which no instance problem may show
LEAKS = re.compile(r"Input should|instance of|Spec\b|dictionary|Field required|Extra inputs|validation error|"
                   r"for the expected type|\[type=|pydantic|float_type|string_type")

MUTATIONS = {
    "wrong types": lambda d: (d["devices"][0].update(memory=True, mults_per_s=[1], rate={"a": 1}, id=None),
                              d.update(period_s=None, name=3, description=[], networks=[], devices_catalog=7)),
    "objects for lists": lambda d: d.update(sources={"id": "cam1"}, requests={"id": "r1"}),
    "scalars for objects": lambda d: (d["devices"].__setitem__(0, 7), d["sources"].__setitem__(0, None),
                                      d.update(objective="latency", defence={"lenet": "dp"})),
    "nested": lambda d: d.update(defence={"lenet": {"mode": 1, "cuts": [1], "epsilons": ["a", 0, 1e400],
                                                    "max_accuracy_drop_pct": "2", "accuracy_weight": -1,
                                                    "quantization": {"use": True, "attack_share": "0.1",
                                                                     "late_share_clean": 3, "nope": 1}}}),
    "empties": lambda d: d.update(devices=[], sources=[], requests=[], name="", devices_catalog=""),
    "unknown keys": lambda d: (d.update(Tau=0.6, objectives={}), d["requests"][0].update(node="x"),
                               d.update(objective={"penalty": 1})),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_no_problem_leaks_pydantic_and_each_has_a_value_and_a_fix(tmp_path, name):
    from optdist.instance import InstanceError, load_instance

    bad = _broken(tmp_path, MUTATIONS[name])
    with pytest.raises(InstanceError) as e:
        load_instance(bad)
    assert str(bad) in str(e.value)
    for p in e.value.problems:
        line = str(p)
        assert not LEAKS.search(line), line
        assert p.fix and ("e.g." in p.fix or ": " in p.fix or '"' in p.fix), line  # a concrete fix
        assert p.message.startswith(("got ", "required field missing", "unknown field")), line
        assert "expected" in p.message or p.message.startswith("unknown field"), line


def test_every_field_of_the_instance_has_an_expectation_and_an_example():
    """No place of the schema falls back to a bare pointer at the schema file."""
    from optdist.instance import _OBJECTS, _expected

    expected = _expected()
    for place, (model, _) in _OBJECTS.items():
        for f in model.model_fields:
            want, example = expected[f"{place}.{f}" if place else f]
            assert want and example, (place, f)


@pytest.mark.parametrize("doc,said", [
    ("[{}]", "  - (document): got [{}] (a list); the instance must be a JSON object (fix: remove the square brackets "
             "around the object: a file holds one instance)"),
    ('"lenet"', '  - (document): got "lenet" (a string); the instance must be a JSON object (fix: wrap the fields in '
                'braces: {"format": "optdist-instance/1", "name": ..., "tau": ..., "devices": [...], ...}; instances/ '
                "holds examples)"),
])
def test_a_document_that_is_no_object_says_what_it_is(tmp_path, capsys, doc, said):
    """Before: '(document): the instance must be a JSON object (fix: wrap the fields in { ... })'."""
    bad = tmp_path / "bad.json"
    bad.write_text(doc)
    assert main(["solve", str(bad)]) == 2
    assert said in capsys.readouterr().err
