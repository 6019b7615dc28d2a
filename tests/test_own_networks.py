"""Instances that name users' own networks by profile file and users' device catalogs (issue 13
items 2 and 4); profile files and catalogs are checked as strictly as instances."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from optdist import solve
from optdist.cli import main
from optdist.devices import DeviceCatalogError, bundled_catalog, device_catalog
from optdist.instance import InstanceError, json_schema, load_instance
from optdist.profiles import ProfileFileError, load_profile, load_profile_file, parse_profile, profile_path
from tests.conftest import ROOT, hand_doc


def lenet_doc_5() -> dict:
    """hand_doc's LeNet instance with the paper's table at tau 0.8 and 5 devices (4 maps each fit ReLU2's 16)."""
    doc = hand_doc(privacy="paper", tau=0.8)
    doc["devices"] += [{**doc["devices"][1], "id": "d3"}, {**doc["devices"][2], "id": "d4"}]
    return doc


def own_lenet(folder: Path, name: str = "mynet", table: bool = True) -> dict:
    """:func:`lenet_doc_5`, with LeNet given as the user's profile file (and privacy table) ``name``."""
    nets = folder / "nets"
    nets.mkdir(exist_ok=True)
    prof = json.loads(profile_path("lenet").read_text())
    (nets / f"{name}.profile.json").write_text(json.dumps({**prof, "cnn": name}))
    doc = lenet_doc_5()
    doc["networks"] = {name: f"nets/{name}.profile.json"}
    doc["requests"][0]["cnn"] = name
    if table:
        t = json.loads((ROOT / "models" / "privacy" / "lenet-paper.json").read_text())
        (nets / f"{name}-privacy.json").write_text(json.dumps({**t, "cnn": name}))
    doc["privacy"] = {name: f"nets/{name}-privacy.json" if table else None}
    return doc


def write(folder: Path, doc: dict, name: str = "inst.json") -> Path:
    path = folder / name
    path.write_text(json.dumps(doc))
    return path


def problems_of(path: Path) -> dict[str, str]:
    with pytest.raises(InstanceError) as e:
        load_instance(path)
    return {p.path: f"{p.message} | {p.fix}" for p in e.value.problems}


def test_own_network_solves_exactly_like_the_zoo_network(tmp_path):
    own = load_instance(write(tmp_path, own_lenet(tmp_path)))
    zoo = load_instance(write(tmp_path, lenet_doc_5(), "zoo.json"))
    assert own.profiles["mynet"].layers == zoo.profiles["lenet"].layers
    assert own.limits["mynet"].device_cap == zoo.limits["lenet"].device_cap == (None, 4, 4, 4, 4, None, None, None, None)
    a, b = solve(own, "milp"), solve(zoo, "milp")
    assert a.termination.value == b.termination.value == "optimal"
    assert a.objective == pytest.approx(b.objective, rel=1e-9)
    assert a.evaluation.objective == pytest.approx(a.objective, rel=1e-6)  # re-scored by the evaluator
    assert solve(own, "greedy").objective == pytest.approx(solve(zoo, "greedy").objective, rel=1e-12)


def test_paths_are_relative_to_the_instance_file(tmp_path, monkeypatch):
    sub = tmp_path / "project"
    sub.mkdir()
    path = write(sub, own_lenet(sub))
    monkeypatch.chdir(tmp_path)  # elsewhere: the paths still resolve against the instance's folder
    assert load_instance(path).profiles["mynet"].cnn == "mynet"
    assert main(["validate", str(path)]) == 0


def test_network_problems_name_file_field_and_fix(tmp_path):
    doc = own_lenet(tmp_path)
    doc["networks"]["ghost"] = "nets/ghost.json"
    doc["networks"]["lenet"] = "nets/mynet.profile.json"
    doc["requests"].append({"id": "r2", "source": "s", "cnn": "alexnet"})
    got = problems_of(write(tmp_path, doc))
    assert "not found" in got["networks.ghost"] and "optdist profile --module" in got["networks.ghost"]
    assert "is a zoo CNN" in got["networks.lenet"]
    assert "\"networks\"" in got["requests[1].cnn"]
    # a damaged profile file: the problem names the instance entry, the file and the field
    prof_file = tmp_path / "nets" / "mynet.profile.json"
    prof = json.loads(prof_file.read_text())
    prof["layers"][3]["mults_per_segment"] += 1
    prof_file.write_text(json.dumps(prof))
    doc = own_lenet(tmp_path, "other", table=False)
    doc["networks"] = {"other": "nets/mynet.profile.json"}
    got = problems_of(write(tmp_path, doc))
    (key,) = got  # the damaged file is reported once, with no follow-on problems about "other"
    assert key.startswith("networks.other")
    assert "mynet.profile.json: layers[3].mults_per_segment" in key and "kh*kw*(C_out/g)*H*W" in got[key]


def test_privacy_table_must_fit_the_own_network(tmp_path):
    doc = own_lenet(tmp_path)
    t = json.loads((ROOT / "models" / "privacy" / "lenet-paper.json").read_text())
    t["cnn"] = "mynet"
    t["rows"][0]["tensor"] = "nosuchlayer"
    (tmp_path / "nets" / "mynet-privacy.json").write_text(json.dumps(t))
    got = problems_of(write(tmp_path, doc))
    assert "privacy.mynet" in got and "nosuchlayer" in got["privacy.mynet"]
    doc["privacy"] = {"mynet": "paper"}  # no bundled table for an own network
    assert 'no privacy table "paper" for mynet' in problems_of(write(tmp_path, doc))["privacy.mynet"]


def test_grouped_convolution_is_placed_by_the_group_rule(tmp_path):
    """A grouped convolution (MODEL.md section 9's group rule, issue 13 item 3): the instance takes it, the
    evaluator moves each group's partial sums, and the counting formulations index per map (with the group
    variables) the grouped conv, the layer it feeds and the whole-map layers joined to them (relu and pool
    on both sides), counting the rest (conv1, the fc layers)."""
    from optdist.milp import build

    doc = own_lenet(tmp_path, table=False)
    prof_file = tmp_path / "nets" / "mynet.profile.json"
    prof = json.loads(prof_file.read_text())
    conv2 = prof["layers"][3]  # conv 8 -> 16, k5, 8x8 out: make it groups=2
    conv2.update(groups=2, mults_per_segment=5 * 5 * 8 * 64, weight_bytes_per_segment=5 * 5 * 8 * 4)
    prof_file.write_text(json.dumps(prof))
    assert parse_profile(prof).layers[3].groups == 2
    inst = load_instance(write(tmp_path, doc))
    assert inst.profiles["mynet"].layers[3].groups == 2
    for formulation in ("compact", "tight"):
        b = build(inst, formulation)
        names = [inst.profiles["mynet"].layers[k].kind for k in sorted(b.data.map_layers(0))]
        assert b.data.map_layers(0) == {1, 2, 3, 4, 5} and names[2] == "conv", names
        assert {k for (_, k, _, _) in b.model.A} == {1, 2, 3, 4, 5} and len(b.model.gh)


def test_defences_are_refused_for_own_networks(tmp_path):
    doc = own_lenet(tmp_path)
    doc["defence"] = {"mynet": {"mode": "dp"}}
    assert "zoo CNNs only" in problems_of(write(tmp_path, doc))["defence.mynet"]


# --------------------------------------------------------------------------- profile files
def lenet_doc() -> dict:
    return json.loads(profile_path("lenet").read_text())


@pytest.mark.parametrize(
    "mutate,path,words",
    [
        (lambda d: d["layers"][0].update(mults_per_segment=1), "layers[0].mults_per_segment", "115200"),
        (lambda d: d["layers"][3].update(weight_bytes_per_segment=4), "layers[3].weight_bytes_per_segment", "1600"),
        (lambda d: d["layers"][2].update(beta=7), "layers[2].beta", "out_shape"),
        (lambda d: d["layers"][4].update(in_maps=3), "layers[4].in_maps", "outputs 16 maps"),
        (lambda d: d["layers"][6].update(mults_per_segment=5), "layers[6].mults_per_segment", "256*120"),
        (lambda d: d["layers"][4].update(inputs=["conv2", "pool1"]), "layers[4].inputs", "DAG"),
        (lambda d: d["layers"][1].update(mults_per_segment=3), "layers[1].mults_per_segment", "0 multiplications"),
        (lambda d: d["layers"][3].update(kind="elementwise"), "layers[3].kind", "not a depthwise"),
        (lambda d: d["layers"][0].update(segments=True), "layers[0].segments", ""),
        (lambda d: d["layers"][0].update(colour="red"), "layers[0].colour", "remove"),
        (lambda d: d.update(bytes_per_value=2), "bytes_per_value", "float32"),
        (lambda d: d.update(format="optdist-profile/9"), "format", "optdist-profile/2"),
        (lambda d: d["layers"][5].update(name="conv1"), "layers[5].name", "duplicate"),
    ],
    ids=["conv-c", "conv-m", "beta", "in-maps", "fc-c", "dag", "elementwise-c", "kind", "bool", "extra", "bytes",
         "format", "duplicate"],
)
def test_profile_file_problems(mutate, path, words):
    doc = lenet_doc()
    mutate(doc)
    with pytest.raises(ProfileFileError) as e:
        parse_profile(doc, "f.json")
    got = {p.path: f"{p.message} | {p.fix}" for p in e.value.problems}
    assert path in got and words in got[path], got
    assert "f.json" in str(e.value)


@pytest.mark.parametrize("fmt", ["optdist-privacy-table/1", "optdist-instance/1", "optdist-device-catalog/1"])
def test_another_optdist_file_given_as_a_profile_is_one_problem_naming_its_kind(tmp_path, fmt):
    """An instance naming a privacy table (or an instance, a catalog) under "networks" got a dozen
    "Extra inputs" lines and the fix 'set "format": "optdist-profile/2"'; now one problem says what it is."""
    (tmp_path / "t.json").write_text(json.dumps({"format": fmt, "cnn": "x", "rows": []}))
    with pytest.raises(ProfileFileError) as e:
        load_profile_file(tmp_path / "t.json")
    assert [(p.path, p.message) for p in e.value.problems] == [
        ("format", f"{json.dumps(fmt)} is another kind of optdist file, not a profile (optdist-profile/2)")]
    assert "optdist profile --module" in e.value.problems[0].fix and "t.json" in str(e.value)


def test_version_1_profile_files_are_still_read():
    doc = lenet_doc()
    doc["format"] = "optdist-profile/1"
    for la in doc["layers"]:
        for k in ("op", "groups", "kernel", "inputs"):
            la.pop(k)
    v1 = parse_profile(doc)
    assert [(la.segments, la.mults_per_segment, la.beta) for la in v1.layers] == [
        (la.segments, la.mults_per_segment, la.beta) for la in load_profile("lenet").layers]


def test_zoo_is_profile_files_with_unchanged_numbers():
    """Issue 13 item 6: the zoo's files are ordinary profile files (read by load_profile_file), and their
    totals are those of models/README.md (the numbers every bundled instance's optimum was computed with)."""
    readme = (ROOT / "models" / "README.md").read_text()
    for cnn in ("micro", "lenet", "cifar", "vgg16", "vgg19"):
        prof = load_profile_file(profile_path(cnn))
        row = next(line for line in readme.splitlines() if line.startswith(f"| `{cnn}`"))
        segments, mults = (int(x.replace(",", "")) for x in row.split("|")[-3:-1])
        assert (prof.n_segments, prof.total_mults) == (segments, mults)


def test_validate_reports_bad_profile_file(tmp_path, capsys):
    doc = lenet_doc()
    doc["layers"][0]["beta"] = 1
    f = write(tmp_path, doc, "bad.profile.json")
    assert main(["validate", str(f)]) == 1
    out = capsys.readouterr().out
    assert "INVALID" in out and "layers[0].beta" in out and "fix:" in out


# --------------------------------------------------------------------------- device catalogs
def catalog_doc(**devices) -> dict:
    return {"format": "optdist-device-catalog/1", "devices": devices}


def test_bundled_catalog_memory_and_speed_match_the_cited_figures():
    """Each new board's memory is the figure its cited spec states (e.g. '4GB' = 4 GiB), and mults_per_s is
    the catalog rule (a tenth of cores x clock) applied to the cited CPU."""
    cat = bundled_catalog()
    for t in ("rpi4", "jetson-nano", "odroid-xu4"):
        d = cat[t]
        assert d["source"].count("https://") == 1, t
        (gb,) = re.findall(r"(\d+)\s*G(?:B|byte)", d["memory_spec"])
        assert d["memory"] == int(gb) * 2**30, t
        cores = re.findall(r"(\d+) x [\w-]+ @ ([\d.]+)GHz", d["cpu"])
        assert cores and d["mults_per_s"] == pytest.approx(sum(int(n) * float(f) for n, f in cores) * 1e9 / 10), t
    assert cat["rpi4"]["memory"] == 4 * 2**30 and cat["odroid-xu4"]["memory"] == 2 * 2**30


def test_user_catalog_adds_and_overrides_types(tmp_path):
    (tmp_path / "cat.json").write_text(json.dumps(catalog_doc(
        tiny={"label": "my board", "memory": 2e6, "mults_per_s": 1e7, "rate": 1e5, "source": "datasheet"},
        rpi3={"rate": 5e6})))
    doc = hand_doc()
    doc["devices_catalog"] = "cat.json"
    doc["devices"] = [{"id": "a", "type": "tiny"}, {"id": "b", "type": "rpi3"}, {"id": "c", "type": "rpi4"}]
    inst = load_instance(write(tmp_path, doc))
    assert list(inst.memory[:3]) == [2e6, 2**30, 4 * 2**30]
    assert list(inst.rate[:3]) == [1e5, 5e6, 9.025e6]  # rpi3's rate overridden, its memory kept
    assert inst.mults_per_s[1] == 560e6
    merged = device_catalog(tmp_path / "cat.json")
    # the overridden rate is the user's file's, the rest the bundled source's (gen29)
    assert merged["rpi3"]["source"] == f"rate: {(tmp_path / 'cat.json').resolve()}; the rest: " \
        + bundled_catalog()["rpi3"]["source"] and "tiny" in merged


@pytest.mark.parametrize(
    "devices,path,words",
    [
        ({"new": {"memory": 1e6}}, "devices.new", 'lacks "mults_per_s", "rate"'),
        ({"rpi3": {"memory": -1}}, "devices.rpi3.memory", "bytes"),
        ({"rpi3": {"speed": 3}}, "devices.rpi3.speed", "remove"),
        ({"rpi3": {"rate": "fast"}}, "devices.rpi3.rate", "bytes per second"),
        ({"rpi3": {"rate": None}}, "devices.rpi3.rate", "leave it out (the bundled value applies)"),
        ({"new": {"rate": None, "memory": 1.0, "mults_per_s": 1e6}}, "devices.new.rate", "null is not a number"),
    ],
)
def test_user_catalog_problems(tmp_path, devices, path, words):
    (tmp_path / "cat.json").write_text(json.dumps(catalog_doc(**devices)))
    with pytest.raises(DeviceCatalogError) as e:
        device_catalog(tmp_path / "cat.json")
    got = {p.path: f"{p.message} | {p.fix}" for p in e.value.problems}
    assert path in got and words in got[path], got
    doc = hand_doc()
    doc["devices_catalog"] = "cat.json"
    assert any(k.startswith("devices_catalog (") and path in k for k in problems_of(write(tmp_path, doc)))


def test_missing_catalog_file_is_an_instance_problem(tmp_path):
    doc = hand_doc()
    doc["devices_catalog"] = "nope.json"
    assert "not found" in problems_of(write(tmp_path, doc))["devices_catalog"]


def test_generate_with_own_network_and_catalog_then_solve(tmp_path, monkeypatch, capsys):
    own_lenet(tmp_path, table=False)
    (tmp_path / "cat.json").write_text(json.dumps(catalog_doc(cam={"memory": 1e9, "mults_per_s": 1e9, "rate": 1e7})))
    (tmp_path / "out").mkdir()
    monkeypatch.chdir(tmp_path)
    assert main(["generate", "--name", "g", "--networks", "mynet=nets/mynet.profile.json", "--requests", "mynet=2",
                 "--devices", "rpi4=3,jetson-nano=2", "--devices-catalog", "cat.json", "--source-type", "cam",
                 "--sources", "1", "--tau", "0.8", "--privacy", "none", "--out", "out/g.json"]) == 0
    doc = json.loads((tmp_path / "out" / "g.json").read_text())
    assert doc["networks"] == {"mynet": "../nets/mynet.profile.json"} and doc["devices_catalog"] == "../cat.json"
    assert doc["privacy"] == {"mynet": None}
    assert main(["solve", "out/g.json"]) == 0
    assert "termination  optimal" in capsys.readouterr().out
    assert main(["devices", "--devices-catalog", "cat.json"]) == 0
    assert "| cam " in capsys.readouterr().out


def test_generate_errors_name_the_out_file_and_refuse_a_network_given_twice(tmp_path, monkeypatch, capsys):
    """generate's validation names the --out file (not a made-up instance.json), and --networks
    with one name twice is refused, never "last one wins"."""
    own_lenet(tmp_path, table=False)
    (tmp_path / "out").mkdir()
    monkeypatch.chdir(tmp_path)
    common = ["generate", "--name", "g", "--requests", "mynet=1", "--devices", "rpi4=3", "--tau", "0.8", "--privacy", "none"]
    assert main([*common, "--networks", "mynet=nets/missing.json", "--out", "out/g.json"]) == 2
    err = capsys.readouterr().err
    assert "error: out/g.json: 1 problem(s)" in err and "instance.json" not in err
    assert main([*common, "--networks", "mynet=nets/missing.json"]) == 2  # to stdout: the document, no file name
    assert "error: (generated instance): 1 problem(s)" in capsys.readouterr().err
    assert main([*common, "--networks", "mynet=nets/mynet.profile.json,mynet=nets/missing.json", "--out", "out/g.json"]) == 2
    assert "--networks: mynet is given twice" in capsys.readouterr().err and not (tmp_path / "out" / "g.json").exists()


def test_published_schemas_are_current_and_accept_the_documents(tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    for kind, name in (("profile", "profile.schema.json"), ("device-catalog", "device-catalog.schema.json")):
        assert json.loads((ROOT / "instances" / name).read_text()) == json.loads(json.dumps(json_schema(kind)))
    jsonschema.validate(lenet_doc(), json_schema("profile"))
    jsonschema.validate(json.loads((ROOT / "optdist" / "data" / "devices.json").read_text()), json_schema("device-catalog"))
    jsonschema.validate(own_lenet(tmp_path), json_schema("instance"))
    bad = copy.deepcopy(lenet_doc())
    bad["layers"][0]["segments"] = "3"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, json_schema("profile"))


# --------------------------------------------------------------------------- a depthwise chain, end to end
def depthwise_profile():
    """conv 1->2 k3 (6x6 -> 4x4), ReLU, depthwise conv 2->2 k3 groups 2 (-> 2x2), fc 8 -> 3; counts by hand."""
    from optdist.profiles import Layer, Profile

    return Profile("dwnet", (1, 6, 6), (
        Layer("conv", "conv", 1, 3 * 3 * 2 * 16, 3 * 3 * 2 * 4, 1, 2, (4, 4), 64, ("conv",), "conv2d", 1, (3, 3)),
        Layer("relu", "elementwise", 2, 0, 0, 2, 2, (4, 4), 64, ("relu",), "relu"),
        Layer("dw", "elementwise", 2, 3 * 3 * 4, 3 * 3 * 4, 2, 2, (2, 2), 16, ("dw",), "conv2d", 2, (3, 3)),
        Layer("fc", "fc", 1, 8 * 3, 8 * 3 * 4, 2, 1, (3,), 12, ("fc",), "linear"),
    ))


def test_depthwise_profile_matches_the_tracer():
    torch = pytest.importorskip("torch")
    from collections import OrderedDict

    from optdist.tracing import profile_module

    net = torch.nn.Sequential(OrderedDict([
        ("conv", torch.nn.Conv2d(1, 2, 3)), ("relu", torch.nn.ReLU()), ("dw", torch.nn.Conv2d(2, 2, 3, groups=2)),
        ("flat", torch.nn.Flatten()), ("fc", torch.nn.Linear(8, 3))]))
    assert profile_module(net, (1, 6, 6), "dwnet") == depthwise_profile()


@pytest.mark.parametrize("formulation", ["compact", "per-map", "tight", "decomposed"])
def test_depthwise_network_milp_matches_brute_force(tmp_path, formulation):
    """A user's depthwise chain through the instance, every formulation and the evaluator (MODEL.md section 9:
    a depthwise layer has compute and weights and moves whole maps)."""
    from optdist.profiles import write_profile_file
    from optdist.result import Termination
    from tests.test_milp_objectives import brute_force, close

    write_profile_file(depthwise_profile(), tmp_path / "dw.profile.json")
    doc = hand_doc()
    doc["networks"] = {"dwnet": "dw.profile.json"}
    doc["privacy"] = {"dwnet": None}
    doc["devices"] = doc["devices"][:2]
    doc["devices"][0]["mults_per_s"] = 30.0e3  # slow compute, fast radio: the depthwise layer's placement matters
    doc["devices"][1].update(mults_per_s=60e3, rate=500.0)
    doc["requests"] = [{"id": "r1", "source": "s", "cnn": "dwnet"}, {"id": "r2", "source": "s", "cnn": "dwnet"}]
    inst = load_instance(write(tmp_path, doc))
    best, _ = brute_force(inst)
    res = solve(inst, formulation=formulation, mip_gap=0.0, threads=1)
    assert res.termination is Termination.OPTIMAL and res.evaluation.feasible
    assert close(res.objective, res.evaluator_objective) and close(res.objective, best)


def test_profile_command_shows_nf_of_an_own_network_table(tmp_path, capsys):
    own_lenet(tmp_path)
    nets = tmp_path / "nets"
    assert main(["profile", str(nets / "mynet.profile.json"), "--privacy", str(nets / "mynet-privacy.json"),
                 "--tau", "0.8"]) == 0
    mine = capsys.readouterr().out
    assert main(["profile", "lenet", "--privacy", "paper", "--tau", "0.8"]) == 0
    zoo = capsys.readouterr().out
    assert "split point" in mine and mine.splitlines()[3:] == zoo.splitlines()[3:]  # same Nf table as the zoo's


def test_table_may_name_the_network_as_the_instance_or_the_profile_file_does(tmp_path):
    doc = own_lenet(tmp_path)
    prof_file = tmp_path / "nets" / "mynet.profile.json"
    prof_file.write_text(json.dumps({**json.loads(prof_file.read_text()), "cnn": "lenet_32_64"}))
    assert load_instance(write(tmp_path, doc)).limits["mynet"].split_point == 5  # table says "mynet"
    t_file = tmp_path / "nets" / "mynet-privacy.json"
    t_file.write_text(json.dumps({**json.loads(t_file.read_text()), "cnn": "lenet_32_64"}))
    assert load_instance(write(tmp_path, doc)).limits["mynet"].split_point == 5  # table says the file's name
    t_file.write_text(json.dumps({**json.loads(t_file.read_text()), "cnn": "other"}))
    assert 'is for CNN "other", not "lenet_32_64" or "mynet"' in problems_of(write(tmp_path, doc))["privacy.mynet"]


# --------------------------------------------------------------------------- fuzzed profile and catalog files
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.test_fuzz_documents import FUZZ, _assert_clear, _write, mutate  # noqa: E402


@settings(max_examples=120, **FUZZ)
@given(data=st.data())
def test_fuzzed_profile_files_give_a_clear_error_or_a_finite_run(tmp_path_factory, data):
    base = json.loads(profile_path("micro").read_text())
    folder = tmp_path_factory.mktemp("fuzzprof")
    _write(folder / "p.json", mutate(data, base, [la["name"] for la in base["layers"]]))
    doc = json.loads((ROOT / "instances" / "tiny" / "micro-1x3-tau0.6.json").read_text())
    doc["networks"] = {"mine": "p.json"}
    doc["privacy"] = {"mine": None}
    for rq in doc["requests"]:
        rq["cnn"] = "mine"
    path = _write(folder / "inst.json", doc)
    try:
        load_profile_file(folder / "p.json")
        profile_ok = True
    except ProfileFileError as e:
        _assert_clear(e)
        profile_ok = False
    try:
        inst = load_instance(path)
    except InstanceError as e:
        _assert_clear(e)
        assert not profile_ok or any("grouped" in p.message for p in e.problems), e
        return
    assert profile_ok
    res = solve(inst, "greedy")
    assert res.objective is None or res.objective == res.objective  # finite or none, never NaN
    if res.evaluation is not None:
        assert all(x == x and x < float("inf") for x in res.evaluation.latency[res.evaluation.admitted])


@settings(max_examples=80, **FUZZ)
@given(data=st.data())
def test_fuzzed_device_catalogs_give_a_clear_error_or_valid_types(tmp_path_factory, data):
    base = json.loads((ROOT / "examples" / "byon" / "mydevices.json").read_text())
    folder = tmp_path_factory.mktemp("fuzzcat")
    path = _write(folder / "cat.json", mutate(data, base, ["pizero2w", "rpi4", "rpi3"]))
    try:
        cat = device_catalog(path)
    except DeviceCatalogError as e:
        _assert_clear(e)
        return
    for t, d in cat.items():
        assert all(isinstance(d[f], float) and 0 < d[f] < float("inf") for f in ("memory", "mults_per_s", "rate")), t


def test_generate_writes_table_paths_relative_to_the_instance(tmp_path, monkeypatch):
    own_lenet(tmp_path)
    (tmp_path / "out").mkdir()
    monkeypatch.chdir(tmp_path)
    assert main(["generate", "--name", "g", "--networks", "mynet=nets/mynet.profile.json", "--requests", "mynet=1",
                 "--devices", "rpi4=5", "--sources", "1", "--tau", "0.8", "--privacy", "nets/mynet-privacy.json",
                 "--out", "out/g.json"]) == 0
    doc = json.loads((tmp_path / "out" / "g.json").read_text())
    assert doc["privacy"] == {"mynet": "../nets/mynet-privacy.json"}
    assert load_instance(tmp_path / "out" / "g.json").limits["mynet"].split_point == 5


def test_a_table_row_naming_no_layer_of_a_profile_file_lists_its_layers(tmp_path, capsys):
    """The fix pointed at `optdist profile <name>`, which fails for a network that is not in the zoo."""
    from optdist.profiles import write_profile_file

    write_profile_file(depthwise_profile(), tmp_path / "dw.profile.json")
    table = {"format": "optdist-privacy-table/1", "cnn": "dwnet", "name": "t", "metric": "ssim",
             "rows": [{"tensor": "ghost", "maps": 2, "cells": {"2": 0.5}}]}
    (tmp_path / "t.json").write_text(json.dumps(table))
    assert main(["profile", str(tmp_path / "dw.profile.json"), "--privacy", str(tmp_path / "t.json")]) == 2
    err = capsys.readouterr().err
    assert 'rows[0].tensor: "ghost" is not a layer of dwnet ("conv", "relu", "dw", "fc")' in err, err
    assert "optdist profile dwnet" not in err and "listed here" in err
