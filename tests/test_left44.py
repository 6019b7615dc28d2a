"""left44: small defects the last sessions left, each with a test that fails on the old code.

1. Privacy tables keyed by a CNN the instance does not have. ``optdist.generate.generate(...,
   privacy={"LeNet": "paper"})`` for lenet's requests made an instance with no privacy limit for lenet (a
   CNN missing from the dict was taken as None): a key that is no CNN of the requests, or a CNN without a
   key, is a ValueError naming it, the requests' CNNs and the fix. An instance file's ``privacy.LeNet``
   was already refused, but its fix listed the zoo alone, with no "did you mean" for a name that differs in
   case: it names the requests' CNNs and offers "lenet", as ``optdist generate --privacy LeNet=paper`` does
   now. ``optdist validate`` of a table whose "cnn" is
   "LeNet" says the zoo CNN it may mean. (A zoo CNN's table that no request uses is still read and kept:
   no network is left without its table by it, and MODEL.md section 6 keys tables by CNN only.)
2. ``Assignment.load(inst, b"a.json")`` (a bytes path, which ``open`` takes) was told "takes the Instance
   first, then the path" as if the arguments were swapped; ``SolveResult.load(b"r.json", inst)`` was
   pathlib's TypeError. Both read the file (any reader through ``optdist.jsonfile.read_json`` does); a real
   swap keeps its message.
3. ``optdist.profile_module(net, shape, "my/net")`` (and ``optdist profile --module ... --name "my net"``)
   made a profile named so, a name that later becomes file names (``runs/attacks/my/net``) and the key of
   ``--requests``/``--privacy`` pairs: a network name holds only letters, digits, _, - and . (a letter, digit
   or _ first; ``optdist.names.unsafe_network_name``), the error names them, the name and a safe one.
4. ``optdist bench`` said a GLPK profile's unused seed (once, where the sweep starts: left43) again on
   every resume, also when every GLPK run was recorded: only runs still to do count now.
5. ``optdist.tracing.measure_module`` traced the module twice (``profile_module`` to check it against the
   profile, then ``torch.fx.symbolic_trace`` again to time it): it times the graph it checked.
"""

from __future__ import annotations

import re

import pytest

from optdist.cli import main
from tests.conftest import LENET_1X4, ROOT, requires_solver

from .test_fix39 import MICRO
from .test_fix40 import micro_spec

# --- 1. privacy keyed by a CNN the instance does not have -------------------------------------------------------


def test_generate_refuses_privacy_keyed_by_a_cnn_requests_do_not_have():
    from optdist.generate import generate

    with pytest.raises(ValueError) as e:
        generate("t", {"lenet": 3}, {"rpi3": 3}, 0.6, privacy={"LeNet": "paper"})
    assert str(e.value) == ('generate: privacy has a table for "LeNet", which is no CNN of requests (those are "lenet") '
                            '(fix: did you mean "lenet"? key each table by a CNN of requests, e.g. privacy={"lenet": '
                            '"paper"}, or give one table for every CNN, e.g. privacy="paper")')
    with pytest.raises(ValueError) as e:
        generate("t", {"lenet": 3, "micro": 1}, {"rpi3": 3}, 0.6, privacy={"lenet": "paper"})
    assert str(e.value) == ('generate: privacy has no table for "micro", a CNN of requests (its requests would run with '
                            'no privacy limit) (fix: add it, e.g. privacy={"lenet": "paper", "micro": "synthetic"}; None '
                            "for no privacy limit)")
    doc = generate("t", {"lenet": 3, "micro": 0}, {"rpi3": 3}, 0.6, privacy={"lenet": None, "micro": "synthetic"})
    assert doc["privacy"] == {"lenet": None}  # None: no limit, said; a CNN of no request may keep its key


def test_generate_flag_privacy_in_another_case_offers_the_cnn(capsys):
    assert main(["generate", "--name", "t", "--requests", "lenet=3", "--devices", "rpi3=3", "--tau", "0.6",
                 "--privacy", "LeNet=paper"]) == 2
    assert capsys.readouterr().err == ('optdist generate: error: --privacy names "LeNet", which --requests does not (fix: '
                                       'did you mean "lenet"? give tables for the CNNs of --requests: lenet)\n')


def test_an_instance_privacy_key_in_another_case_names_the_requests_cnns(tmp_path, capsys):
    import json

    from optdist.instance import InstanceError, load_instance

    doc = json.loads(LENET_1X4.read_text())
    doc["privacy"] = {"lenet": "paper", "LeNet": "calibrated"}
    path = tmp_path / "i.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InstanceError) as e:
        load_instance(path)
    assert str(e.value) == (
        f"{path}: 1 problem(s) in the instance:\n  - privacy.LeNet: unknown CNN \"LeNet\": the instance's requests use "
        '"lenet" (fix: did you mean "lenet"? key each table by the CNN it is for, e.g. "privacy": {"lenet": "paper"} '
        '(the zoo\'s CNNs: "cifar", "lenet", "micro", "vgg16", "vgg19"), or remove the entry)')
    table = json.loads((ROOT / "models/privacy/lenet-paper.json").read_text())
    (tmp_path / "t.json").write_text(json.dumps({**table, "cnn": "LeNet"}))
    assert main(["validate", str(tmp_path / "t.json")]) == 0
    assert '(fix: set "cnn": "lenet" if the table is the zoo CNN\'s; else give that profile file too' in capsys.readouterr().out


# --- 2. a bytes path -----------------------------------------------------------------------------------------------


def test_a_bytes_path_is_read_as_open_reads_it(tmp_path):
    import optdist
    from optdist.assignment import Assignment
    from optdist.result import SolveResult

    inst = optdist.load_instance(LENET_1X4)
    res = optdist.solve(inst, method="greedy")
    res.assignment.save(inst, tmp_path / "a.json")
    res.save(inst, tmp_path / "r.json")

    class BytesPath:  # an os.PathLike whose path is bytes, as open takes it
        def __fspath__(self):
            return bytes(tmp_path / "a.json")

    for path in (bytes(tmp_path / "a.json"), BytesPath()):
        assert Assignment.load(inst, path).to_json(inst) == res.assignment.to_json(inst)
    assert SolveResult.load(bytes(tmp_path / "r.json"), inst).objective == res.objective
    with pytest.raises(FileNotFoundError, match=f"^{re.escape(str(tmp_path / 'b.json'))}: assignment file not found$"):
        Assignment.load(inst, bytes(tmp_path / "b.json"))  # named as text, not b'...'
    with pytest.raises(TypeError, match="takes the Instance first, then the path of an assignment file; got bytes"):
        Assignment.load(bytes(tmp_path / "a.json"), inst)  # swapped

# --- 3. a network name that is no safe name -------------------------------------------------------------------------

RULE = ("is no safe network name: a network's name becomes file names and a key of NAME=VALUE pairs (--requests, "
        "--privacy, --networks), so it holds only letters, digits, _, - and . (a letter, digit or _ first; at most 200 bytes) (fix: ")


@pytest.mark.parametrize("name, example", [("my/net", "my-net"), ("my net", "my-net"), ("..", "mynet"),
                                           ("a,b=c", "a-b-c"), ("res\u200bnet", "res-net"), (".net", "net")])
def test_profile_module_refuses_a_name_that_is_no_safe_name(name, example):
    torch = pytest.importorskip("torch")
    from optdist.jsonfile import text_of
    from optdist.tracing import TraceError, profile_module

    net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU())
    with pytest.raises(TraceError) as e:
        profile_module(net, (1, 6, 6), name)
    assert str(e.value) == f'name {text_of(name)} {RULE}name="{example}")'
    assert profile_module(net, (1, 6, 6), "Réseau_2.v-1").cnn == "Réseau_2.v-1"  # letters of any script


def test_profile_module_flag_name_that_is_no_safe_name(tmp_path, capsys):
    pytest.importorskip("torch")
    out = tmp_path / "p.json"
    assert main(["profile", "--module", f"{ROOT / 'examples/byon/mynets.py'}:lenet_32_64", "--input", "1,28,28",
                 "--name", "my/net", "--out", str(out)]) == 2
    assert capsys.readouterr().err == f'optdist profile: error: --name "my/net" {RULE}--name my-net)\n'
    assert not out.exists()


# --- 4. a GLPK profile's seed, not said again for recorded runs ---------------------------------------------------


@requires_solver("glpk")
def test_a_resumed_sweep_says_a_glpk_seed_only_for_runs_to_do(tmp_path, capsys):
    profile = tmp_path / "glpk-seed.toml"
    profile.write_text('name = "glpk-seed"\nsolver = "glpk"\ndescription = "GLPK, seeded"\n\n[options]\nseed = 4\n')
    spec = micro_spec(tmp_path, [str(profile)])
    note = f"optdist: {spec}: solver profile {profile}: solver glpk takes no seed (seed 4 given"
    counts = []
    for args in (["--no-progress"], ["--no-progress"], ["--dry-run"]):
        assert main(["bench", str(spec), *args]) == 0
        counts.append(capsys.readouterr().err.count(note))
    spec.write_text(spec.read_text().replace(f'"{MICRO}"', f'"{MICRO}", "{ROOT / "instances/tiny/micro-2x2-tau0.6.json"}"'))
    assert main(["bench", str(spec), "--dry-run"]) == 0  # a run on a new instance is to do: said once
    counts.append(capsys.readouterr().err.count(note))
    assert counts == [1, 0, 0, 1]


# --- 5. measure_module traces once -------------------------------------------------------------------------------


def test_measure_module_traces_the_module_once():
    """A trace calls ``forward`` once (with proxies; the timed runs go through the graph, not ``forward``):
    before, two calls."""
    torch = pytest.importorskip("torch")
    from torch import nn

    from optdist.tracing import measure_module, profile_module

    class Counted(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.fc, self.calls = nn.Conv2d(1, 2, 3), nn.Linear(2 * 4 * 4, 3), 0

        def forward(self, x):
            self.calls += 1
            return self.fc(torch.flatten(torch.relu(self.conv(x)), 1))

    net = Counted()
    prof = profile_module(net, (1, 6, 6), "counted")
    net.calls = 0
    times = measure_module(net, prof, repeats=2, warmup=1)
    assert net.calls == 1 and len(times.seconds_per_segment) == prof.n_layers
