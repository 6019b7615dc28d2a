"""break43's Python-API errors, tried as a library user would (vbreak43): what still broke.

1. A numpy value in an error message was numpy's repr ("seed np.int64(-1)", "requests
   {'lenet': np.int32(0)}", "remove_devices: array([ True, False])"): :func:`optdist.jsonfile.json_text`
   writes numpy scalars and arrays as the JSON of the values they hold.
2. ``Instance.profile/limit/segment_seconds/request_class`` took -1 as the last request (Python's
   convention) while refusing -2 with "has requests 0..N-1 (fix: give a 0-based request index)",
   and :func:`optdist.evaluate.request_index` refuses every negative one; ``True`` was request 1,
   and ``np.True_`` a TypeError of the error message itself ("Object of type bool is not JSON
   serializable"). Now each is the ValueError naming the range.
3. ``optdist.solve(solver_options="presolve=off")`` showed a Python dict (``{'presolve': 'off'}``)
   and no "(fix: ...)".
4. ``DistPrivacyEnv.reset(options=...)`` ignored an unknown key (``{"restrat": True}``: no
   restart, unsaid) and a list was an AttributeError.
5. ``Assignment.save`` of a hand-built Assignment that optdist.evaluate refuses wrote another
   placement (a node index -1: the last source; a bool array: nodes 1 and 0) or a file that
   ``Assignment.load`` refuses (too few requests).
6. ``Evaluation.stages(inst, np.array([0, 1]))`` or ``range(2)``, read before break43, became its
   TypeError "requests is ndarray array([0, 1]); it takes ..."; ``[np.True_]`` was a TypeError of
   the message itself.
(``examples/byon/write_images.py imgs abc``: its "(fix: ...)": tests/test_break43.py.)
"""

from __future__ import annotations

import numpy as np
import pytest

import optdist
from optdist.assignment import Assignment
from tests.conftest import ROOT

TWO = ROOT / "instances" / "tiny" / "lenet-2x4-tight.json"  # two requests, 4 devices, 2 sources


@pytest.fixture(scope="module")
def two():
    inst = optdist.load_instance(TWO)
    return inst, optdist.solve(inst, method="greedy").assignment


def test_numpy_values_in_messages_read_as_json():
    from optdist.generate import generate
    from optdist.jsonfile import json_text, value_text

    assert (value_text(np.int64(-1)), json_text(np.True_), json_text(np.array([True, False])),
            json_text({"a": np.int32(0)})) == ("-1", "true", "[true, false]", '{"a": 0}')
    with pytest.raises(ValueError) as e:
        generate("g", {"lenet": 2}, {"rpi3": 3}, 0.8, sources=1, seed=np.int64(-1))
    assert str(e.value) == "generate: seed -1 is not a whole number >= 0 (fix: e.g. seed=0)"


@pytest.mark.parametrize("accessor", ["profile", "limit", "segment_seconds", "request_class"])
@pytest.mark.parametrize("r, shown", [(-1, "-1"), (True, "true"), (np.True_, "true"), (2, "2")])
def test_instance_accessors_take_0_based_indices_only(two, accessor, r, shown):
    inst, _ = two
    with pytest.raises(ValueError) as e:
        getattr(inst, accessor)(r)
    assert str(e.value) == f'request index {shown}: "lenet-2x4-tight" has requests 0..1 (fix: give a 0-based request index)'
    assert getattr(inst, accessor)(np.int64(1)) is not None  # numpy integers as before


def test_solver_options_of_another_type_name_the_fix():
    with pytest.raises(ValueError) as e:
        optdist.solve(TWO, solver_options="presolve=off")
    assert str(e.value) == ('solver_options must be a mapping of option name to value, not str "presolve=off" '
                            '(fix: e.g. solver_options={"presolve": "off"})')


def test_rl_env_reset_reads_its_options_or_refuses_them(two):
    pytest.importorskip("gymnasium")
    from optdist.rl.env import DistPrivacyEnv

    env = DistPrivacyEnv(two[0])
    env.reset(seed=0)
    env.step(int(np.flatnonzero(env.action_masks())[0]))
    st, rp = env._st, env._rp  # the layer episode under way, of the first request's placer
    fix = '(fix: options={"restart": True} restarts the simulation, or leave options out)'
    for options, kind, said in [({"restrat": True}, ValueError, 'reset: options ["restrat"] unknown: this environment '
                                 'reads only "restart" '),
                                ({"restart": 1}, ValueError, 'reset: options "restart" is 1, not true or false '),
                                ([("restart", True)], TypeError, 'reset: options is list [["restart", true]], not a mapping ')]:
        with pytest.raises(kind) as e:
            env.reset(options=options)
        assert str(e.value) == said + fix
    assert env._st is st  # a refusal changed nothing
    env.reset(options={})  # what Stable-Baselines3's VecEnv passes: the next layer, no restart
    assert env._st is not st and env._rp is rp
    env.reset(options={"restart": True})  # the simulation anew: a placer of the first request again
    assert env._rp is not rp


@pytest.mark.parametrize("change, kind", [(lambda a: a.astype(bool), TypeError), (lambda a: a * 0 - 1, ValueError)])
def test_assignment_save_refuses_what_evaluate_refuses(two, tmp_path, change, kind):
    inst, asg = two
    bad = Assignment([[change(a) for a in own] for own in asg.owners])
    with pytest.raises(kind, match="^Assignment.save: the Assignment"):
        bad.save(inst, tmp_path / "a.json")
    with pytest.raises(ValueError, match=r"it places 1 request, this one has 2\)"):
        Assignment(asg.owners[:1]).save(inst, tmp_path / "a.json")
    assert not (tmp_path / "a.json").exists()
    asg.save(inst, tmp_path / "a.json")
    assert optdist.evaluate(inst, Assignment.load(inst, tmp_path / "a.json")).objective == optdist.evaluate(inst, asg).objective


def test_stages_of_a_range_or_numpy_array_as_before(two):
    inst, asg = two
    ev = optdist.evaluate(inst, asg)
    for requests in (np.array([1, 0]), np.array(["r2", "r1"]), range(1, -1, -1), np.flatnonzero([True, True])[::-1]):
        assert list(ev.stages(inst, requests)) == ["r2", "r1"]
    with pytest.raises(ValueError, match='^request true: no such request in "lenet-2x4-tight"'):
        ev.stages(inst, [np.True_])
