"""Instance files: every problem reported with its JSON path and a fix; the bundled sets load."""

import json

import pytest

from optdist.generate import generate, write_instances
from optdist.instance import InstanceError, json_schema, load_instance, parse, validate_file
from tests.conftest import PAPER, TINY, hand_doc


def problems_of(doc) -> dict[str, str]:
    with pytest.raises(InstanceError) as e:
        parse(doc, "doc")
    return {p.path: f"{p.message} | {p.fix}" for p in e.value.problems}


def test_every_problem_is_reported_at_once():
    doc = hand_doc()
    doc["tau"] = 1.5
    doc["devices"][0]["memory"] = -1
    doc["requests"][0]["cnn"] = "alexnet"  # semantic checks run only once the schema passes
    got = problems_of(doc)
    assert set(got) == {"tau", "devices[0].memory"}
    assert "(0, 1]" in got["tau"] and "bytes" in got["devices[0].memory"]


@pytest.mark.parametrize(
    "mutate,path,words",
    [
        (lambda d: d["requests"][0].update(cnn="alexnet"), "requests[0].cnn", "unknown CNN"),
        (lambda d: d["requests"][0].update(source="cam9"), "requests[0].source", "does not exist"),
        (lambda d: d["requests"][0].update(source="d1"), "requests[0].source", "it is a device"),
        (lambda d: d["devices"][1].update(type="raspberry"), "devices[1].type", "unknown device type"),
        (lambda d: d["devices"][2].pop("rate"), "devices[2].rate", "missing rate"),
        (lambda d: d["devices"][2].update(id="d0"), "devices[2].id", "duplicate node id"),
        (lambda d: d.update(privacy={}), "privacy", "no privacy table"),
        (lambda d: d.update(privacy={"lenet": "nope"}), "privacy.lenet", "no privacy table 'nope'"),
        (lambda d: d.pop("requests"), "requests", "Field required"),
        (lambda d: d["sources"][0].update(memmory=5), "sources[0].memmory", "Extra inputs"),
        (lambda d: d.update(tau=0), "tau", "greater than 0"),
        (lambda d: d["objective"].update(kind="energy"), "objective.kind", "latency"),
    ],
)
def test_problem_paths_and_fixes(mutate, path, words):
    doc = hand_doc()
    mutate(doc)
    got = problems_of(doc)
    assert path in got, got
    assert words in got[path]
    assert "|" in got[path] and got[path].split("|")[1].strip()  # a non-empty fix


def test_bad_json_names_line(tmp_path):
    f = tmp_path / "bad.json"
    f.write_text('{"name": "x",\n "tau": }')
    (p,) = validate_file(f)
    assert p.path.startswith("line 2") and "JSON" in p.message


def test_catalog_defaults_and_period():
    doc = generate("g", {"lenet": 2}, {"rpi3": 2, "nexus": 1}, 0.8, period_s=0.5, sources=1)
    inst = parse(doc)
    assert inst.n_devices == 3 and inst.n_nodes == 4
    assert inst.mults_per_s[0] == 560e6 and inst.compute_capacity[2] == 800e6 * 0.5
    assert inst.bandwidth_capacity[0] == 9.025e6 * 0.5


def test_generator_is_seeded_and_splits_sources_by_cnn():
    a = generate("g", {"lenet": 30, "cifar": 10}, {"rpi3": 5}, 0.6, sources=8, seed=3)
    assert a == generate("g", {"lenet": 30, "cifar": 10}, {"rpi3": 5}, 0.6, sources=8, seed=3)
    assert a != generate("g", {"lenet": 30, "cifar": 10}, {"rpi3": 5}, 0.6, sources=8, seed=4)
    inst = parse(a)
    cnn_of_source = {}
    for r in range(inst.n_requests):
        cnn_of_source.setdefault(int(inst.request_source[r]), set()).add(inst.request_cnn[r])
    assert len(cnn_of_source) == 8 and all(len(c) == 1 for c in cnn_of_source.values())


def test_write_instances_validates_every_document_before_writing(tmp_path):
    good = generate("good", {"lenet": 1}, {"rpi3": 2}, 0.6, seed=0)
    bad = {**generate("bad", {"lenet": 1}, {"rpi3": 2}, 0.6, seed=0), "tau": 3.0}
    with pytest.raises(InstanceError, match="tau"):
        write_instances({"good": good, "bad": bad}, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    paths = write_instances({"good": good}, tmp_path / "out")
    assert [p.name for p in paths] == ["good.json"] and load_instance(paths[0]).name == "good"


@pytest.mark.parametrize("path", TINY + PAPER, ids=lambda p: p.stem)
def test_bundled_instances_load(path):
    inst = load_instance(path)
    assert inst.n_requests >= 1


def test_published_schema_is_current():
    from tests.conftest import ROOT

    assert json.loads((ROOT / "instances" / "schema.json").read_text()) == json.loads(json.dumps(json_schema()))


def test_schema_accepts_bundled_instances():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json_schema()
    for path in TINY + PAPER[:3]:
        jsonschema.validate(json.loads(path.read_text()), schema)
