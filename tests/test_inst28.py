"""inst28: instance messages a fresh user met. A quoted number is answered with its unquoted text
only when that text is JSON and in range; a number past float range is out of range; validate
reports the problems of meaning next to the type problems; defence options written without their
CNN say that defence maps each CNN to its options; names and keys are shown as typed, escaped
where they could not be read; the JSON syntax hint fits the syntax error."""

from __future__ import annotations

import json

import pytest

from optdist.cli import main
from optdist.instance import InstanceError, load_instance
from tests.conftest import ROOT

LENET = ROOT / "instances" / "paper" / "lenet-1x10-tau0.6.json"


def _write(tmp_path, mutate=None, text=None, name="bad.json"):
    path = tmp_path / name
    if text is None:
        doc = json.loads(LENET.read_text())
        mutate(doc)
        text = json.dumps(doc, indent=1, ensure_ascii=False)
    path.write_text(text, encoding="utf-8")
    return path


def _problems(path) -> list[str]:
    with pytest.raises(InstanceError) as e:
        load_instance(path)
    return [str(p) for p in e.value.problems]


# --- item 1: "write the number without quotes" only with valid, in-range JSON --------------------

MEM = "devices[0].memory: got {} (a string); expected bytes of memory, a number in (0, 1e+15] (fix: {})"
MEM_EG = 'e.g. "memory": 1073741824 for 1 GiB'


@pytest.mark.parametrize("typed, fix", [
    ("1_000", f"write one number, without quotes, {MEM_EG}"),  # before: fix "memory": 1_000 (invalid JSON)
    ("5.", f"write one number, without quotes, {MEM_EG}"),  # before: "memory": 5.
    ("\u0663", f"write one number, without quotes, {MEM_EG}"),  # before: "memory": ٣
    ("-5", f"write a number in that range, without quotes, {MEM_EG}"),  # before: "memory": -5 (out of range)
    ("2e15", f"write a number in that range, without quotes, {MEM_EG}"),
    (" 1e9 ", 'write the number without quotes: "memory": 1e9'),  # valid and in range: still offered
])
def test_a_quoted_number_is_offered_unquoted_only_when_valid_json_and_in_range(tmp_path, typed, fix):
    path = _write(tmp_path, lambda d: d["devices"][0].update(memory=typed))
    assert _problems(path) == [MEM.format(json.dumps(typed, ensure_ascii=False), fix)]


def test_a_quoted_tau_out_of_range_gets_the_example(tmp_path):
    """Before: fix 'write the number without quotes: "tau": -0.6', whose following gave the next error."""
    path = _write(tmp_path, lambda d: d.update(tau="-0.6"))
    assert _problems(path) == ['tau: got "-0.6" (a string); expected the tolerated SSIM of an inversion attack, a '
                               'number in (0, 1] (fix: write a number in that range, without quotes, e.g. "tau": 0.6)']


def test_an_integer_past_float_range_is_out_of_range(tmp_path):
    """Before: '... (a number); expected ... (fix: write one number, without quotes, ...)' of a number."""
    path = _write(tmp_path, text=LENET.read_text().replace('"type": "rpi3"', '"type": "rpi3", "memory": 1' + "0" * 400, 1))
    [p] = _problems(path)
    assert p.startswith("devices[0].memory: got 1000000"), p
    assert p.endswith("(401 characters), out of range; expected bytes of memory, a number in (0, 1e+15] "
                      "(fix: give the memory in bytes as a number in (0, 1e+15], e.g. 1073741824 for 1 GiB)"), p


# --- item 2: validate reports the problems of meaning next to the type problems ------------------

UNKNOWN_TYPE = 'devices[0].type: unknown device type "zz"'


def _validate(capsys, path) -> str:
    assert main(["validate", str(path)]) == 1
    return capsys.readouterr().out


@pytest.mark.parametrize("mutate, shown", [
    (lambda d: (d.update(tau="x"), d["devices"][0].update(type="zz")),  # /tmp/b28/two_a.json
     ["tau: got \"x\"", UNKNOWN_TYPE]),
    (lambda d: (d.update(tau="x", foo=1), d["devices"][0].update(type="zz"), d["devices"][1].update(memory="y"),
                d["requests"][0].update(cnn=5)),  # many_problems.json
     ["tau: got", "devices[1].memory: got", "requests[0].cnn: got 5", 'foo: unknown field "foo"', UNKNOWN_TYPE]),
    (lambda d: (d["devices"][1].update(memory="y"), d["requests"][0].update(cnn="lenett")),
     ["devices[1].memory: got", 'requests[0].cnn: unknown CNN "lenett"']),
    (lambda d: (d.update(tau="x"), d["requests"][0].update(source="camX")),
     ["tau: got", 'requests[0].source: source "camX" does not exist']),
    (lambda d: (d.update(tau="x"), d["privacy"].update(lenet="papr")),
     ["tau: got", "privacy.lenet: no privacy table 'papr' for lenet"]),
    (lambda d: (d["devices"].__setitem__(0, "rpi3"), d["devices"][1].update(type="zz")),
     ['devices[0]: got "rpi3"', 'devices[1].type: unknown device type "zz"']),
])
def test_validate_reports_meaning_problems_next_to_type_problems(tmp_path, capsys, mutate, shown):
    """Before: only the type problems (tau "x" hid devices[0].type "zz", an unknown CNN, a missing
    source, a wrong privacy table name)."""
    out = _validate(capsys, _write(tmp_path, mutate))
    lines = [line.strip() for line in out.splitlines() if not line.startswith("      fix:")][1:]
    assert len(lines) == len(shown) and all(line.startswith(s) for line, s in zip(lines, shown)), out
    assert f"INVALID, {len(shown)} problem(s)" in out and "note:" not in out


def test_a_stand_in_is_never_reported(tmp_path, capsys):
    """A request whose CNN or source is of the wrong kind, a node whose type is, a privacy entry
    that is: reported once, as a type problem, not again as an unknown CNN/source/type/table."""
    def mutate(d):
        d["requests"][0].update(cnn=5, source=7, id=3)
        d["devices"][0].update(type=4, id=5)
        d["privacy"].update(lenet=1)
        d["devices"][1].pop("type")  # and a meaning problem that stays: no numbers, no type
    out = _validate(capsys, _write(tmp_path, mutate))
    assert "INVALID, 9 problem(s)" in out and "not parsed" not in out and "unknown" not in out, out
    assert "devices[1].memory: missing memory (no catalog type gives it)" in out, out


@pytest.mark.parametrize("wrong", [
    lambda d: d.update(sources="cam1"), lambda d: d["sources"].__setitem__(0, "cam1"),
    lambda d: d["sources"][0].update(id=1), lambda d: d.update(networks=["mynet.json"]),
    lambda d: d.update(devices_catalog=5)])
def test_validate_says_what_it_did_not_check(tmp_path, capsys, wrong):
    """Where nothing stands in for the wrong value (the sources the requests name, networks,
    devices_catalog), the meaning checks wait, and validate says so (no "source does not exist")."""
    out = _validate(capsys, _write(tmp_path, lambda d: (wrong(d), d["devices"][0].update(type="zz"))))
    assert "INVALID, 1 problem(s)" in out and "  note: the checks of meaning (device types, sources, CNNs, privacy " \
        "tables, defences) run once these are fixed: validate again then" in out, out


# --- item 3: defence options written without their CNN ---------------------------------------------

def test_defence_options_without_their_cnn(tmp_path):
    """Before: 'defence.mode: ... (fix: write an object, in braces, e.g. "mode": {"mode": "auto"})'."""
    path = _write(tmp_path, lambda d: d.update(defence={"mode": "foo", "cuts": 3}))
    assert _problems(path) == [
        f'defence.{k}: got {v} ({kind}); expected an object of defence options (fix: "{k}" is a defence option, not a '
        'CNN: "defence" maps each CNN to its options, in braces, e.g. "defence": {"lenet": {"mode": "auto"}})'
        for k, v, kind in (("mode", '"foo"', "a string"), ("cuts", "3", "a number"))]


def test_defence_fixes_are_json(tmp_path):
    """Before: "no request uses CNN 'vgg16' (fix: use one of ['lenet'] or remove the entry)"."""
    path = _write(tmp_path, lambda d: d.update(defence={"vgg16": {"mode": "auto"}}))
    assert _problems(path) == ['defence.vgg16: no request uses CNN "vgg16" (fix: key the options by a CNN of the '
                               'requests ("lenet"), e.g. "defence": {"lenet": {"mode": "auto"}}, or remove the entry)']
    path = _write(tmp_path, lambda d: d.update(defence={"lenet": {"cuts": ["conv9"]}}))
    assert _problems(path) == ['defence.lenet.cuts[0]: "conv9" is not a layer of lenet (fix: use layers of lenet: '
                               '"conv1", "ReLU1", "pool1", "conv2", "ReLU2", "pool2", "fc1", "fc2", "fc3")']
