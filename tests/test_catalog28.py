"""catalog28: device catalogs, network profiles and policy files speak the user's terms, like
instances (msgs28): field path, value as typed and its JSON kind, what is expected, a fix with an
example; never pydantic's words ("Input should be a valid number", "instance of DeviceType",
"Extra inputs are not permitted", "Field required"). One translation of pydantic's errors serves
every kind (:func:`optdist.jsonfile.schema_problems`)."""

from __future__ import annotations

import copy
import json
import re

import pytest

from optdist.cli import main
from optdist.devices import DeviceCatalogError, device_catalog
from optdist.instance import InstanceError, load_instance
from optdist.jsonfile import Schema
from optdist.profiles import ProfileFileError, load_profile_file
from tests.conftest import ROOT

LENET = ROOT / "instances" / "paper" / "lenet-1x10-tau0.6.json"
CATALOG = json.loads((ROOT / "examples" / "byon" / "mydevices.json").read_text())
PROFILE = json.loads((ROOT / "models" / "profiles" / "lenet.json").read_text())
REGEN = "; or regenerate the file with `optdist profile --module pkg.mod:builder --input C,H,W --out FILE`"
REMEASURE = "; or re-measure with `optdist profile --module pkg.mod:builder --input C,H,W --measure TYPE --out FILE`"

# pydantic's own words and class names, which no problem of any document may show
LEAKS = re.compile(r"Input should|instance of|Spec\b|DeviceType|DeviceCatalog\b|dictionary|Field required|"
                   r"Extra inputs|not permitted|validation error|for the expected type|\[type=|pydantic|float_type|"
                   r"string_type|after validation|should have|valid (number|integer|string|list)")


def _write(tmp_path, doc, name):
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def _catalog(mutate):
    doc = copy.deepcopy(CATALOG)
    mutate(doc)
    return doc


def _profile(mutate):
    doc = copy.deepcopy(PROFILE)
    mutate(doc)
    return doc


# --- device catalogs: `optdist devices --devices-catalog FILE` -----------------------------------
# (mutation, the problem line after "  - "); before, e.g.
# 'devices.x.memory: Input should be a valid number (fix: give the memory in bytes as a number in ...)'
# 'devices.x: Input should be a valid dictionary or instance of DeviceType (fix: see 'Device catalogs' in the
#  README for the expected type)'
# 'devices.x.memroy: Extra inputs are not permitted (fix: remove 'memroy' or check its spelling (see ...))'
CATALOG_CASES = [
    (lambda d: d["devices"]["pizero2w"].update(memory="512MB"),
     'devices.pizero2w.memory: got "512MB" (a string); expected bytes of memory, a number in (0, 1e+15] (fix: write '
     'one number, without quotes, e.g. "memory": 4294967296 for 4 GiB)'),
    (lambda d: d["devices"]["pizero2w"].update(mults_per_s="400e6"),
     'devices.pizero2w.mults_per_s: got "400e6" (a string); expected multiplications per second, a number in '
     '[1000, 1e+16] (fix: write the number without quotes: "mults_per_s": 400e6)'),
    (lambda d: d["devices"]["pizero2w"].update(rate=True),
     'devices.pizero2w.rate: got true (a boolean); expected radio bytes per second, a number in [1, 1e+12] (fix: '
     'write a number, not true, e.g. "rate": 9025000 for 802.11n at 72.2 Mbit/s)'),
    (lambda d: d["devices"]["rpi4"].update(memroy=5),
     'devices.rpi4.memroy: unknown field "memroy" (value 5) in a device type (fix: did you mean "memory"? remove it '
     'or correct its spelling; the fields of a device type are "label", "memory", "mults_per_s", "rate", "source", '
     '"memory_spec", "cpu", "note")'),
    (lambda d: d.update(notes="x"),
     'notes: unknown field "notes" (value "x") in the device catalog (fix: did you mean "note"? remove it or correct '
     'its spelling; the fields of the device catalog are "format", "note", "devices")'),
    (lambda d: d["devices"].update(mycam="rpi3"),
     'devices.mycam: got "rpi3" (a string); expected a device type, an object of its fields (memory, mults_per_s, '
     'rate, and text fields) (fix: write an object, in braces, e.g. "mycam": {"memory": 1073741824, '
     '"mults_per_s": 560e6, "rate": 9025000})'),
    (lambda d: d.update(devices=[{"memory": 1e9, "mults_per_s": 1e9, "rate": 1e6}]),
     'devices: got [{"memory": 1000000000.0, "mults_per_s": 1000000... (74 characters) (a list); expected an object '
     "mapping each device type's name to its fields, with at least one type (fix: name each entry by its key, in "
     'braces instead of square brackets: "devices": {"NAME": {"memory": 1000000000.0, "mults_per_s": 1000000000.0, '
     '"rate": 1000000.0}})'),
    (lambda d: d.update(devices={}),
     "devices: got {} (an object); expected an object mapping each device type's name to its fields, with at least "
     'one type (fix: give at least one entry, e.g. "devices": {"mycam": {"memory": 1073741824, "mults_per_s": '
     '560e6, "rate": 9025000}})'),
    (lambda d: d.pop("format"),
     'format: required field missing; expected the text "optdist-device-catalog/1" (fix: add "format": '
     '"optdist-device-catalog/1")'),
    (lambda d: d.update(format="optdist-device-catalog/2"),
     'format: got "optdist-device-catalog/2" (a string); expected the text "optdist-device-catalog/1" (fix: set '
     '"format": "optdist-device-catalog/1")'),
    (lambda d: d["devices"]["rpi4"].update(label=4),
     'devices.rpi4.label: got 4 (a number); expected a string naming the device (fix: write it in quotes: '
     '"label": "4")'),
    (lambda d: d["devices"]["rpi4"].update(cpu=None),
     'devices.rpi4.cpu: got null; expected a string, the CPU as the source states it (fix: write a string, in '
     'quotes, e.g. "cpu": "4 x Cortex-A72 @ 1.5GHz", or leave the field out)'),
    (lambda d: d["devices"]["rpi4"].update(rate=1e20),
     "devices.rpi4.rate: got 1e+20, out of range: it must be at most 1e+12; expected radio bytes per second, a number "
     "in [1, 1e+12] (fix: give the radio rate in bytes per second as a number in [1, 1e+12], e.g. 9025000 for "
     "802.11n 72.2 Mbit/s)"),
    (lambda d: d["devices"].update(mycam={"memory": 1e9}),
     'devices.mycam: new type "mycam" lacks "mults_per_s", "rate" (fix: add "mults_per_s": 720e6, "rate": 9025000 '
     'with your device\'s figures; only the bundled types ("beaglebone-ai", "jetson-nano", "nexus", "odroid-xu4", '
     '"orangepizero", "pizero", "rpi3", "rpi4", "stm32h7") may leave fields out)'),
    (lambda d: d["devices"]["rpi4"].update(rate=None),
     "devices.rpi4.rate: got null, and null is not a number; expected radio bytes per second, a number in [1, 1e+12] "
     '(fix: give rate as a number, e.g. "rate": 9025000, or leave it out (the bundled value applies))'),
]


@pytest.mark.parametrize("mutate,said", CATALOG_CASES)
def test_catalog_problems_name_file_field_value_expectation_and_fix(tmp_path, capsys, mutate, said):
    bad = _write(tmp_path, _catalog(mutate), "cat.json")
    assert main(["devices", "--devices-catalog", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"optdist devices: error: {bad}: " in err and "problem(s) in the device catalog" in err, err
    assert f"  - {said}\n" in err, err


def test_a_catalog_that_is_no_object_says_what_it_is(tmp_path, capsys):
    """Before: '(document): a catalog must be a JSON object (fix: list device types as {"mytype": ...})'."""
    bad = tmp_path / "cat.json"
    bad.write_text(json.dumps([{"format": "optdist-device-catalog/1"}]))
    assert main(["devices", "--devices-catalog", str(bad)]) == 2
    assert ('  - (document): got [{"format": "optdist-device-catalog/1"}] (a list); the device catalog must be a JSON '
            "object (fix: remove the square brackets around the object: a file holds "
            "one device catalog)") in capsys.readouterr().err


def test_a_catalog_named_by_an_instance_shows_the_same_problem_with_both_files(tmp_path, capsys):
    _write(tmp_path, _catalog(lambda d: d["devices"]["pizero2w"].update(memory="512MB")), "cat.json")
    doc = json.loads(LENET.read_text())
    doc["devices_catalog"] = "cat.json"
    inst = _write(tmp_path, doc, "inst.json")
    assert main(["solve", str(inst), "--method", "greedy"]) == 2
    err = capsys.readouterr().err
    assert (f'  - devices_catalog ({tmp_path / "cat.json"}: devices.pizero2w.memory): got "512MB" (a string); expected '
            'bytes of memory, a number in (0, 1e+15] (fix: write one number, without quotes, e.g. "memory": '
            "4294967296 for 4 GiB)\n") in err, err
    assert main(["validate", str(inst)]) == 1
    out = capsys.readouterr().out
    assert f'devices_catalog ({tmp_path / "cat.json"}: devices.pizero2w.memory): got "512MB" (a string)' in out, out


# --- profiles: `optdist validate FILE`, `optdist profile FILE` -----------------------------------
# before, e.g. 'layers[1].segments: Input should be a valid integer' (fix: regenerate the file ...),
# 'layers[2]: Input should be a valid dictionary or instance of _LayerSpec',
# 'measured_seconds.rpi4: Input should be a valid dictionary or instance of _MeasuredSpec'
PROFILE_CASES = [
    (lambda d: d["layers"][1].update(segments="8"),
     'layers[1].segments: got "8" (a string); expected the layer\'s segments P_k, a whole number in [1, 1e+15]',
     'write the number without quotes: "segments": 8' + REGEN),
    (lambda d: d["layers"][1].update(segments=1.5),
     "layers[1].segments: got 1.5 (a number); expected the layer's segments P_k, a whole number in [1, 1e+15]",
     'write a whole number, e.g. "segments": 8' + REGEN),
    (lambda d: d["layers"][1].update(segments=8.0),
     "layers[1].segments: got 8.0 (a number); expected the layer's segments P_k, a whole number in [1, 1e+15]",
     'write it without the decimal point: "segments": 8' + REGEN),
    (lambda d: d["layers"][1].update(kind="Conv"),
     'layers[1].kind: got "Conv" (a string); expected "conv", "elementwise", "fc", "add" or "concat" (MODEL.md '
     'sections 2 and 9)',
     'did you mean "kind": "conv"? use "conv", "elementwise", "fc", "add" or "concat" (MODEL.md sections 2 and 9), '
     'e.g. "kind": "conv"' + REGEN),
    (lambda d: d["layers"][1].update(segmets=3),
     'layers[1].segmets: unknown field "segmets" (value 3) in a layer',
     'did you mean "segments"? remove it or correct its spelling; the fields of a layer are "name", "kind", '
     '"segments", "mults_per_segment", "weight_bytes_per_segment", "in_maps", "out_maps", "out_shape", "beta", '
     '"torch_modules", "op", "groups", "kernel", "inputs"' + REGEN),
    (lambda d: d.update(input_shape="1,28,28"),
     'input_shape: got "1,28,28" (a string); expected the input\'s shape C, H, W, a list of 1 to 3 whole numbers',
     'write the numbers as a list, in square brackets, without quotes: "input_shape": [1, 28, 28]' + REGEN),
    (lambda d: d.update(bytes_per_value=2),
     "bytes_per_value: got 2 (a number); expected 4, the bytes of a float32 value",
     'use 4, the bytes of a float32 value, e.g. "bytes_per_value": 4' + REGEN),
    (lambda d: d["layers"].__setitem__(2, "pool1"),
     'layers[2]: got "pool1" (a string); expected a layer, an object of its name, kind, counts and shapes',
     'write an object, in braces, e.g. {"name": "conv1", "kind": "conv", "segments": 1, "mults_per_segment": '
     '115200, "weight_bytes_per_segment": 800, "in_maps": 1, "out_maps": 8, "out_shape": [24, 24], "beta": 2304, '
     '"op": "conv2d", "kernel": [5, 5], "inputs": []}' + REGEN),
    (lambda d: d["layers"][1].update(inputs="conv1"),
     'layers[1].inputs: got "conv1" (a string); expected the names of the layer\'s input layers, a list of strings '
     '([] for the first layer)',
     'put it in a list, in square brackets: "inputs": ["conv1"]' + REGEN),
    (lambda d: d.pop("cnn"),
     "cnn: required field missing; expected the network's name, a non-empty string", 'add "cnn": "mynet"' + REGEN),
    (lambda d: d.update(measured_seconds={"rpi4": [0.1, 0.2]}),
     "measured_seconds.rpi4: got [0.1, 0.2] (a list); expected a device type's measured times, an object",
     'write an object, in braces, e.g. "rpi4": {"seconds_per_segment": [0.0012, 0.0003], "machine": "rpi4", '
     '"torch": "2.3.0", "repeats": 20}' + REMEASURE),
    (lambda d: d.update(measured_seconds={"rpi4": {"seconds_per_segment": "0.1"}}),
     'measured_seconds.rpi4.seconds_per_segment: got "0.1" (a string); expected seconds per segment of each layer, '
     "a list of numbers in [0, 1e+06], one per layer",
     'put it in a list, in square brackets, without quotes: "seconds_per_segment": [0.1]' + REMEASURE),
]


@pytest.mark.parametrize("mutate,message,fix", PROFILE_CASES)
def test_profile_problems_name_file_field_value_expectation_and_fix(tmp_path, capsys, mutate, message, fix):
    bad = _write(tmp_path, _profile(mutate), "net.profile.json")
    assert main(["validate", str(bad)]) == 1
    out = capsys.readouterr().out
    assert f"{bad}: INVALID" in out and f"  {message}\n      fix: {fix}\n" in out, out
    assert main(["profile", str(bad)]) == 2
    assert f"  - {message} (fix: {fix})\n" in capsys.readouterr().err


def test_a_profile_named_by_an_instance_shows_the_same_problem_with_both_files(tmp_path, capsys):
    _write(tmp_path, _profile(lambda d: d.update(cnn="mynet", input_shape="1,28,28")), "mynet.profile.json")
    doc = json.loads(LENET.read_text())
    doc["networks"] = {"mynet": "mynet.profile.json"}
    doc["requests"][0]["cnn"] = "mynet"
    doc["privacy"] = {"mynet": None}
    inst = _write(tmp_path, doc, "inst.json")
    assert main(["solve", str(inst), "--method", "greedy"]) == 2
    assert (f'  - networks.mynet ({tmp_path / "mynet.profile.json"}: input_shape): got "1,28,28" (a string); expected '
            "the input's shape C, H, W, a list of 1 to 3 whole numbers (fix: write the numbers as a list, in square "
            'brackets, without quotes: "input_shape": [1, 28, 28]' + REGEN + ")\n") in capsys.readouterr().err


# --- many broken documents: no leak, a value, an expectation and a concrete fix each ------------

BAD_VALUES = ["1GB", "12", True, None, [1], {"a": 1}, -1, 1.5, 1e300, ""]


def _every_place(doc: dict, prefix: tuple = ()):
    """Each (path, value) of a document's objects, down to list items."""
    for k, v in doc.items():
        yield prefix + (k,)
        if isinstance(v, dict):
            yield from _every_place(v, prefix + (k,))
        elif isinstance(v, list) and v and isinstance(v[0], dict):
            yield from _every_place(v[0], prefix + (k, 0))


def _set(doc, path, value):
    for p in path[:-1]:
        doc = doc[p]
    doc[path[-1]] = value


def _assert_user_terms(e):
    for p in e.problems:
        line = str(p)
        assert not LEAKS.search(line), line
        assert p.fix and ("e.g." in p.fix or ": " in p.fix or '"' in p.fix or "`optdist " in p.fix), line  # concrete


@pytest.mark.parametrize("kind", ["catalog", "profile"])
def test_no_problem_of_any_broken_field_leaks_pydantic(tmp_path, kind):
    base = CATALOG if kind == "catalog" else PROFILE
    read, error = (device_catalog, DeviceCatalogError) if kind == "catalog" else (load_profile_file, ProfileFileError)
    paths = list(_every_place(base))
    assert len(paths) >= 14
    n = 0
    for i, path in enumerate(paths):
        for j, value in enumerate(BAD_VALUES):
            doc = copy.deepcopy(base)
            _set(doc, path, value)
            f = _write(tmp_path, doc, f"{kind}-{i}-{j}.json")
            try:
                read(f)
            except error as e:
                n += 1
                assert str(f.name) in str(e), e
                _assert_user_terms(e)
    assert n > 100


def test_instance_catalog_and_profile_problems_come_from_one_translation():
    """One home for pydantic's errors: each kind only describes its places (a Schema)."""
    import optdist.devices as devices
    import optdist.instance as instance
    import optdist.jsonfile as jsonfile
    import optdist.profiles as profiles

    assert isinstance(devices.SCHEMA, Schema) and isinstance(profiles._SCHEMA, Schema)
    assert isinstance(instance._schema(), Schema)
    for mod in (devices, profiles, instance):
        src = open(mod.__file__).read()
        assert "e[\"msg\"]" not in src and "err.errors()" not in src, mod.__name__  # pydantic's words never used
    assert "err.errors()" in open(jsonfile.__file__).read()


def test_every_field_of_catalogs_and_profiles_has_an_expectation_and_an_example():
    from optdist.devices import SCHEMA
    from optdist.profiles import _SCHEMA

    for schema in (SCHEMA, _SCHEMA):
        for place, (model, _) in schema.objects.items():
            for f in model.model_fields:
                want, example = schema.expected[f"{place}.{f}" if place else f]
                assert want and example, (place, f)


def test_policy_files_speak_the_users_terms_too():
    """policy.json is read through jsonfile.validation_problems, which gave pydantic's words."""
    pytest.importorskip("torch")
    from pydantic import ValidationError

    from optdist.jsonfile import validation_problems
    from optdist.rl.policy import PolicyConfig

    with pytest.raises(ValidationError) as e:
        PolicyConfig.model_validate({"format": "x", "hidden": [True, "64", 1.5], "n_global": -1, "cnns": "lenet",
                                     "masked": 1})
    got = {p.path: str(p) for p in validation_problems(e.value, {}, "policy.json", "retrain it")}
    for line in got.values():
        assert not LEAKS.search(line), line
    assert got["hidden[0]"] == "hidden[0]: got true (a boolean); expected a whole number (fix: write a whole number, " \
                               "not true; or retrain it)"
    assert got["hidden[1]"] == 'hidden[1]: got "64" (a string); expected a whole number (fix: write the number ' \
                               "without quotes: 64; or retrain it)"
    assert got["masked"] == 'masked: got 1 (a number); expected true or false (fix: write true, not 1: "masked": ' \
                            "true; or retrain it)"
    assert got["seed"] == 'seed: required field missing (fix: add the field "seed"; or retrain it)'


def test_instances_keep_their_messages(tmp_path):
    """The instance's wording (msgs28) is unchanged by the move."""
    doc = json.loads(LENET.read_text())
    doc["devices"][2]["memory"] = "1073741824"
    with pytest.raises(InstanceError) as e:
        load_instance(_write(tmp_path, doc, "bad.json"))
    assert str(e.value.problems[0]) == ('devices[2].memory: got "1073741824" (a string); expected bytes of memory, a '
                                        'number in (0, 1e+15] (fix: write the number without quotes: "memory": '
                                        "1073741824)")


# --- a profile's own checks (beyond its schema): the value its shapes imply, the layers to name ---
# before: 'fix: regenerate the file with ...' alone; "'conv9' is not a layer of the profile (fix: name earlier
# layers of this file)"; Python's quotes (['ReLU1', 'ReLU1'])
@pytest.mark.parametrize("mutate,line", [
    (lambda d: d["layers"][3].update(beta=7),
     "layers[3].beta: 7 B but out_shape [8, 8] of 4-byte values is 256 B (fix: set \"beta\": 256" + REGEN + ")"),
    (lambda d: d["layers"][3].update(mults_per_segment=5),
     "layers[3].mults_per_segment: 5 but kh*kw*(C_out/g)*H*W = 25*16*64 = 25600 (MODEL.md section 9) (fix: set "
     "\"mults_per_segment\": 25600" + REGEN + ")"),
    (lambda d: d["layers"][1].update(mults_per_segment=5),
     "layers[1].mults_per_segment: an elementwise layer other than a depthwise convolution has 0 multiplications and "
     "0 weight bytes (MODEL.md section 2) (fix: set \"mults_per_segment\": 0 and \"weight_bytes_per_segment\": 0"
     + REGEN + ")"),
    (lambda d: d["layers"][2].update(inputs=["conv9"]),
     'layers[2].inputs: "conv9" is not a layer of the profile (fix: did you mean "conv1"? name earlier layers of this '
     'file ("conv1", "ReLU1"), e.g. "inputs": ["conv1"])'),
    (lambda d: d["layers"][2].update(inputs=["ReLU1", "ReLU1"]),
     'layers[2].inputs: ["ReLU1", "ReLU1"] names a layer twice (fix: name each input layer once: "inputs": ["ReLU1"])'),
])
def test_profile_consistency_problems_give_the_value_to_write(tmp_path, capsys, mutate, line):
    bad = _write(tmp_path, _profile(mutate), "net.profile.json")
    with pytest.raises(ProfileFileError) as e:
        load_profile_file(bad)
    assert line in [str(p) for p in e.value.problems], e.value
