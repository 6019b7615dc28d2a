"""break43: a new library user builds an instance in code, solves it with every method, evaluates,
saves and loads, and feeds the API wrong values.

1. An :class:`~optdist.Assignment` built in code with Python lists per layer (or float arrays)
   reached the evaluator's arrays: "'list' object has no attribute 'shape'" (AttributeError) or
   numpy's "Cannot cast array data from dtype('float64')"; now a TypeError naming
   ``owners[r][k]``, what it is and the fix (``optdist.evaluate`` and ``solve(warm_start=...)``).
2. ``Assignment.load(path, inst)`` (the order ``SolveResult.load`` takes) was pathlib's "expected str,
   bytes or os.PathLike object, not Instance"; now a TypeError naming the call to make. A result
   file given to ``Assignment.load`` was told to "give ... the --out of `optdist solve`", which it
   is; now it says it is a result file and how its placement is read.
3. ``optdist.METHODS["mine"] = "mymod:solve_mine"`` (a method of one's own: the README shows none)
   was taken, then ``optdist.solve(inst, method="mine")`` a bare ``KeyError: 'mine'`` in
   ``check_method_options``; the registry is read-only now, its refusal naming the fix.
4. README's ``optdist.load_instance("instances/paper/lenet-1x10-tau0.8.json")`` run from a folder
   of one's own said only "instance file not found"; now the fix names the bundled instance of
   that name (``optdist.instance.bundled_instance``), also through ``optdist.solve`` and the CLI.
5. A ``--method defended`` result of an instance without a ``defence`` entry (distribution alone,
   scored under the plain limits), evaluated on that very instance, warned "the defence it records
   is ignored ... (fix: evaluate on the instance the result was solved on)" (``optdist.evaluate``
   and ``optdist evaluate``); now nothing is said: nothing is ignored. A defence that was chosen
   is still said to be ignored (tests/test_fixd30.py).
6. ``optdist.solve(inst, formulation="tite")`` (and ``optdist.milp.build(inst, "tite")``) said
   "unknown formulation "tite"; choose one of ('auto', ...)": a Python tuple, no fix; now the close
   match and the choices, quoted, as the bench spec's formulations say them.
7. ``gymnasium.make("optdist/DistPrivacy-v0", instance=doc)`` with an instance document (a dict,
   which ``optdist.solve`` and ``optdist.evaluate`` take) said only "... not dict"; now the fix
   (``optdist.instance.parse(doc)``).
8. ``optdist.generate.generate`` (the document ``optdist.solve`` takes) with no positive request
   count (``{"lenet": 0}`` or ``{}``) was numpy's "attempt to get argmin of an empty sequence",
   ``requests=["lenet"]`` an AttributeError, ``seed="a"`` or ``-1`` numpy's SeedSequence errors;
   each now names the argument and the fix (the CLI refused the first already).
9. ``optdist.profiles.write_profile_file(path, profile)`` (swapped) was pathlib's "expected str,
   bytes or os.PathLike object, not Profile"; now a TypeError naming the call to make. And
   ``optdist.profile_module(net, (1, 28.5, 28))`` was traced as (1, 28, 28) without a word; now
   refused as the other shapes that are no sizes are.
10. ``optdist.solvers.register("x", "Highs")`` said '"'Highs'" is not a subclass ... (fix: give the
    class, not an instance ...)': quoted twice (``json_text(repr(...))``, as vplug42 found
    elsewhere) and the fix of an instance; now 'str "Highs"', 'class dict', 'an instance of Highs'
    (its fix: ``register("x", Highs)``), each with its fix.
11. ``res.evaluation.stages(inst, None)`` (or 1.5, a set) was "'NoneType' object is not iterable";
    now a TypeError saying what ``requests`` takes, with examples of the instance's ids.
12. ``Instance.node_index("zz")`` was "tuple.index(x): x not in tuple"; ``inst.profile(9)``,
    ``limit``, ``segment_seconds``, ``request_class`` of an index past the requests a bare
    IndexError, of a request id ("r1") "tuple indices must be integers"; now ValueErrors naming the
    instance, its range and the fix (the index of the id given).
13. ``optdist.tracing.measure_module(other_net, profile)`` with a module of other sizes under the
    same layer names (8 maps where the profile has 4) recorded its times for the profile without a
    word; now a TraceError naming the layer that differs and the fix. Swapped arguments were
    torch's AttributeError, ``repeats="3"`` "'<=' not supported"; ``Profile.with_measured("rpi4",
    [1e-3, ...])`` an AttributeError in the copy's checks: each now names the call and the fix.
14. ``optdist.solve(inst, method="defended", max_combinations=0)`` said "1 defence combinations >
    max_combinations 0: restrict the 'cuts', ... of the instance's defence entries", as if the
    entries were at fault; now the option, its range and the default.
15. ``optdist.profile_module(net, shape, 5)`` said "the traced profile is inconsistent (...); please
    report the module", as if optdist had a bug; ``name=""`` fell back to the class name unsaid.
    Both are now refused naming ``name`` and the fix.
16. ``examples/byon/write_images.py`` without its arguments, or with ``0`` or ``abc``, was an
    IndexError, ZeroDivisionError or ValueError traceback; now a usage line naming the argument and
    the fix (exit 2). (100000 wrote the set's 3000 as if asked: now refused, nothing written.)
17. The RL environment's ``remove_devices([99])`` was numpy's "index 99 is out of bounds", a
    device id a ValueError of ``int()``, and a source's index took the camera away without a word;
    now a ValueError naming the range of device indices (message only: optdist/rl).
"""

from __future__ import annotations

import numpy as np
import pytest

import optdist
from optdist.assignment import Assignment
from tests.conftest import LENET_1X4


@pytest.fixture(scope="module")
def lenet():
    inst = optdist.load_instance(LENET_1X4)
    return inst, optdist.solve(inst, method="greedy").assignment


@pytest.mark.parametrize("layer, what", [([3], "list [3]"), (np.array([3.0]), "dtype float64"),
                                         (np.array([[3]]), "shape (1, 1)")])
def test_assignment_owners_of_another_kind_named(lenet, layer, what):
    inst, asg = lenet
    owners = [[layer, *asg.owners[0][1:]]]
    for call, run in (("optdist.evaluate", lambda a: optdist.evaluate(inst, a)),
                      ("optdist.solve(warm_start=...)", lambda a: optdist.solve(inst, method="milp", warm_start=a))):
        with pytest.raises(TypeError, match=r"Assignment's owners\[0\]\[0\] is .*not a 1-D numpy array of integer node "
                                            r"indices .*\(fix: .*np.asarray\(owners, dtype=np.int64\)") as e:
            run(Assignment(owners))
        assert str(e.value).startswith(call) and what in str(e.value)
    with pytest.raises(TypeError, match=r"owners\[0\] is dict .*not None \(rejected\) or a list"):
        optdist.evaluate(inst, Assignment([{"conv1": [0]}]))
    ok = [[a.astype(np.int32) for a in asg.owners[0]]]  # any integer dtype numpy casts safely is taken
    assert optdist.evaluate(inst, Assignment(ok)).objective == optdist.evaluate(inst, asg).objective


def test_assignment_load_swapped_or_given_a_result(lenet, tmp_path):
    inst, asg = lenet
    path = asg.save(inst, tmp_path / "a.json")
    with pytest.raises(TypeError, match=r"Assignment.load\(inst, path\) takes the Instance first.*got str .* and "
                                        r"Instance \"lenet-1x4-tau0.8\" \(fix: Assignment.load\(inst, \"assignment.json\"\)"):
        Assignment.load(str(path), inst)
    assert Assignment.load(inst, path).owners[0][1].tolist() == asg.owners[0][1].tolist()
    optdist.solve(inst, method="greedy").save(inst, tmp_path / "r.json")
    with pytest.raises(ValueError, match=r"this is a result file .*not an assignment file \(fix: take its placement with "
                                         r"optdist.SolveResult.load\(path, inst\).assignment") as e:
        Assignment.load(inst, tmp_path / "r.json")
    assert "the --out of `optdist solve`" not in str(e.value)


def test_methods_registry_is_read_only_naming_the_fix(lenet):
    from optdist.instance import ReadOnlyError

    before = dict(optdist.METHODS)
    for change in (lambda m: m.__setitem__("mine", "mymod:solve_mine"), lambda m: m.update(mine="mymod:f"),
                   lambda m: m.pop("greedy")):
        with pytest.raises(ReadOnlyError, match=r"optdist.METHODS \(the registry of optdist's own methods\) is read-only "
                                                r"\(fix: .*optdist.evaluate\(inst, asg\).*optdist.solvers.register"):
            change(optdist.METHODS)
    assert dict(optdist.METHODS) == before
    assert optdist.solve(lenet[0], method="greedy").evaluation.feasible


def test_missing_relative_instance_names_the_bundled_one(tmp_path, monkeypatch):
    from optdist.paths import INSTANCES_DIR

    monkeypatch.chdir(tmp_path)
    for given in ("instances/tiny/lenet-1x4-tau0.8.json", "tiny/lenet-1x4-tau0.8.json"):
        for load in (optdist.load_instance, optdist.solve):
            with pytest.raises(FileNotFoundError) as e:
                load(given)
            assert str(e.value) == (f"{given}: instance file not found (fix: a relative path is read from the working "
                                    f"folder, {tmp_path}; the bundled instance of that name is "
                                    f"{INSTANCES_DIR / 'tiny' / 'lenet-1x4-tau0.8.json'}: give that path)")
    with pytest.raises(FileNotFoundError) as e:  # no bundled instance of that name: the plain message
        optdist.load_instance("instances/tiny/nope.json")
    assert str(e.value) == "instances/tiny/nope.json: instance file not found"


def test_defended_result_without_defence_entry_evaluates_without_a_false_warning(lenet, tmp_path, caplog, capsys):
    from optdist.cli import main as cli_main

    inst = lenet[0]
    res = optdist.solve(inst, method="defended")
    assert {c["mode"] for c in res.extra["defence"].values()} == {"distribute"}
    res.save(inst, tmp_path / "d.json")
    caplog.clear()
    for placement in (res, tmp_path / "d.json"):
        assert optdist.evaluate(inst, placement).objective == res.objective
    assert not [r for r in caplog.records if "ignored" in r.getMessage()], caplog.text
    assert cli_main(["evaluate", str(LENET_1X4), str(tmp_path / "d.json"), "--requests", "0"]) == 0
    out = capsys.readouterr()
    assert "ignored" not in out.out + out.err and "feasible True" in out.out


def test_unknown_formulation_names_the_close_match(lenet):
    from optdist.milp import build

    inst = lenet[0]
    with pytest.raises(ValueError) as e:
        optdist.solve(inst, formulation="tite")
    assert str(e.value) == ('unknown formulation "tite" (fix: did you mean "tight"? choose from "auto", "decomposed", '
                            '"compact", "per-map", "tight")')
    with pytest.raises(ValueError) as e:
        build(inst, "permap")
    assert str(e.value) == 'unknown formulation "permap" (fix: did you mean "per-map"? choose from "compact", "per-map", "tight")'


def test_rl_env_given_an_instance_document_names_the_fix():
    gymnasium = pytest.importorskip("gymnasium")
    import json

    import optdist.rl  # noqa: F401 (registers the environment)

    doc = json.loads(LENET_1X4.read_text())
    with pytest.raises(TypeError, match=r"not dict \(fix: e.g. instance=optdist.load_instance\(path\) .*an instance "
                                        r"document \(a dict\) is one after optdist.instance.parse\(doc\)\)"):
        gymnasium.make("optdist/DistPrivacy-v0", instance=doc)
    from optdist.instance import parse

    env = gymnasium.make("optdist/DistPrivacy-v0", instance=parse(doc, str(LENET_1X4), LENET_1X4))
    assert env.reset(seed=0)[0].shape == env.observation_space.shape


@pytest.mark.parametrize("args, kwargs, error, said", [
    (({"lenet": 0}, {"rpi3": 4}), {}, ValueError, r'requests \{"lenet": 0\} has no positive count \(fix: .*requests=\{"lenet": 10\}'),
    (({}, {"rpi3": 4}), {}, ValueError, r"requests \{\} has no positive count"),
    ((["lenet"], {"rpi3": 4}), {}, TypeError, r'requests is \["lenet"\], not a mapping .*\(fix: e.g. requests=\{"lenet": 10\}'),
    (({"lenet": 1}, "rpi3"), {}, TypeError, r'devices is "rpi3", not a mapping .*\(fix: e.g. devices=\{"rpi3": 10\}'),
    (({"lenet": 1}, {"rpi3": 4}), {"seed": "a"}, ValueError, r'seed "a" is not a whole number >= 0 \(fix: e.g. seed=0\)'),
    (({"lenet": 1}, {"rpi3": 4}), {"seed": -1}, ValueError, r"seed -1 is not a whole number >= 0"),
])
def test_generate_from_python_names_the_argument(args, kwargs, error, said):
    from optdist.generate import generate

    with pytest.raises(error, match=said):
        generate("g", *args, 0.6, **kwargs)
    assert optdist.solve(generate("g", {"lenet": 1, "cifar": 0}, {"rpi3": 4}, 0.6, sources=1, seed=np.int64(3)),
                         method="greedy").evaluation.feasible


def test_profile_write_swapped_and_fractional_input_shape(tmp_path):
    torch = pytest.importorskip("torch")
    from optdist.profiles import load_profile_file, write_profile_file
    from optdist.tracing import TraceError

    net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(4 * 26 * 26, 10))
    with pytest.raises(TraceError, match=r"input shape \[1, 28.5, 28\] is not a sequence of sizes \(fix: e.g. "
                                         r"input_shape=\(3, 32, 32\)\)"):
        optdist.profile_module(net, (1, 28.5, 28), "mine")
    prof = optdist.profile_module(net, (1, 28.0, np.int64(28)), "mine")
    assert prof.input_shape == (1, 28, 28)
    with pytest.raises(TypeError, match=r"write_profile_file\(profile, path\) takes the Profile first.*got str .* and "
                                        r"Profile \"mine\" \(fix: write_profile_file\(profile, \"mynet.profile.json\"\)"):
        write_profile_file(str(tmp_path / "p.json"), prof)
    assert not (tmp_path / "p.json").exists()
    assert load_profile_file(write_profile_file(prof, tmp_path / "p.json")) == prof


def test_register_names_what_it_was_given_once():
    from optdist import solvers
    from optdist.solvers.highs import Highs

    for given, said in (("Highs", 'str "Highs" is not a subclass of optdist.solvers.Solver (fix: give the class of '
                                  'your adapter, e.g. class Mine(Solver): ...)'),
                        (Highs(), 'an instance of Highs is not a subclass of optdist.solvers.Solver (fix: give the '
                                  'class, not an instance: register("x", Highs))'),
                        (dict, "class dict is not a subclass"), (None, "None is not a subclass")):
        with pytest.raises(ValueError) as e:
            solvers.register("x", given)
        assert str(e.value).startswith('register("x", ...): ') and said in str(e.value), str(e.value)
        assert "'" not in str(e.value)
    assert "x" not in solvers.ADAPTERS


@pytest.mark.parametrize("requests, shown", [(None, "None"), (1.5, "float 1.5"), ({"r1"}, "set {'r1'}")])
def test_stages_of_a_request_selection_of_another_type(lenet, requests, shown):
    inst, asg = lenet
    ev = optdist.evaluate(inst, asg)
    with pytest.raises(TypeError) as e:
        ev.stages(inst, requests)
    assert str(e.value) == (f'requests is {shown}; it takes "all", request ids joined by commas, one id or 0-based index, '
                            'or a list of them (fix: e.g. "r1", 0 or ["r1"])')
    assert list(ev.stages(inst, ("r1",))) == ["r1"]


def test_instance_accessors_name_the_request_or_node(lenet):
    inst = lenet[0]
    with pytest.raises(ValueError) as e:
        inst.node_index("rpi3-9")
    assert str(e.value) == ('node "rpi3-9": no such node in "lenet-1x4-tau0.8" (its 5 nodes: rpi3-1 ... cam1) (fix: did you '
                            'mean "rpi3-3"? give a device or source id of the instance)')
    assert inst.node_index("cam1") == 4
    for method in (inst.profile, inst.limit, inst.segment_seconds, inst.request_class):
        with pytest.raises(ValueError) as e:
            method(1)
        assert str(e.value) == 'request index 1: "lenet-1x4-tau0.8" has requests 0..0 (fix: give a 0-based request index)'
        with pytest.raises(ValueError, match=r'request index "r1": .* \(fix: give a 0-based request index, e.g. 0 for '
                                             r'request "r1"\)'):
            method("r1")
        method(np.int64(0))


def test_measure_module_of_another_network_and_with_measured_of_a_list():
    torch = pytest.importorskip("torch")
    from optdist.tracing import TraceError, measure_module

    def net(maps):
        return torch.nn.Sequential(torch.nn.Conv2d(1, maps, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                                   torch.nn.Linear(maps * 26 * 26, 10))

    prof = optdist.profile_module(net(4), (1, 28, 28), "mine")
    with pytest.raises(TraceError, match=r'mine: the module does not trace to the profile\'s layers \(layer "0" differs\).*'
                                         r'\(fix: measure the module the profile was traced from'):
        measure_module(net(8), prof, repeats=1, warmup=0)
    with pytest.raises(TypeError, match=r"measure_module\(module, profile\) takes the torch module, then its profile; "
                                        r"got Profile and Sequential"):
        measure_module(prof, net(4))
    with pytest.raises(ValueError, match=r'repeats must be a whole number .* not "3" and 3 \(fix: e.g. repeats=20'):
        measure_module(net(4), prof, repeats="3")
    times = measure_module(net(4), prof, repeats=1, warmup=0)
    assert prof.with_measured("rpi4", times).measured_seconds("rpi4") == times.seconds_per_segment
    with pytest.raises(TypeError, match=r'Profile.with_measured\(device_type, times\): got str "rpi4" and list \(fix: '):
        prof.with_measured("rpi4", [1e-3] * 3)


@pytest.mark.parametrize("value, shown", [(0, "0"), (-3, "-3"), (2.5, "2.5"), ("8", '"8"')])
def test_defended_max_combinations_out_of_range(lenet, value, shown):
    with pytest.raises(ValueError) as e:
        optdist.solve(lenet[0], method="defended", max_combinations=value)
    assert str(e.value) == (f"method defended: max_combinations = {shown} is not a whole number >= 1 (fix: e.g. "
                            "max_combinations=256, the default)")


@pytest.mark.parametrize("name, shown", [(5, "5"), ("", '""'), ("  ", '"  "')])
def test_profile_module_name_that_is_no_name(name, shown):
    torch = pytest.importorskip("torch")
    from optdist.tracing import TraceError

    net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(4 * 26 * 26, 10))
    with pytest.raises(TraceError) as e:
        optdist.profile_module(net, (1, 28, 28), name)
    assert str(e.value) == (f'name {shown} is no network name (fix: a non-empty string, e.g. name="mynet", or leave it '
                            'out for the class name, "sequential")')
    assert optdist.profile_module(net, (1, 28, 28)).cnn == "sequential"


@pytest.mark.parametrize("args, said", [([], "the following arguments are required: folder, n"),
                                        (["imgs", "0"], "n 0: give a whole number >= 1 (fix: e.g. python write_images.py imgs 400)"),
                                        (["imgs", "abc"], 'argument n: "abc" is no whole number (fix: e.g. python write_images.py imgs 400)')])
def test_byon_write_images_arguments(tmp_path, args, said):
    import subprocess
    import sys

    from tests.conftest import ROOT

    run = subprocess.run([sys.executable, str(ROOT / "examples" / "byon" / "write_images.py"), *args], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and said in run.stderr and "Traceback" not in run.stderr, run.stderr
    assert not (tmp_path / "imgs").exists()


@pytest.mark.parametrize("devices", [[99], [4], ["rpi3-1"]])
def test_rl_env_remove_devices_names_the_range(devices):
    pytest.importorskip("gymnasium")
    from optdist.rl.env import DistPrivacyEnv

    env = DistPrivacyEnv(LENET_1X4)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"remove_devices: .* is not a list of device indices \(fix: give indices in "
                                         r"\[0, 4\), e.g. \[0, 1\]; the sources, indices 4 on, stay\)"):
        env.remove_devices(devices)
    assert env.active.all()
    env.remove_devices([1])
    assert env.active.tolist() == [True, False, True, True, True]
