"""vgg40: benchmarks/online/decisions.py ran every row (LeNet, CIFAR, VGG16, VGG19, each policy:
minutes) or, with --quick, LeNet only; a before / after comparison of the VGG rows ran them all.
``--instances`` and ``--policies`` now choose the rows (printed; files only with --out)."""

from __future__ import annotations

import hashlib

import pytest

from .conftest import ROOT, load_script

HERE = ROOT / "benchmarks" / "online"


@pytest.fixture
def decisions():
    return load_script("benchmarks/online/decisions.py")


def _digest() -> tuple[str, ...]:
    return tuple(hashlib.sha256((HERE / f).read_bytes()).hexdigest() for f in ("decisions.csv", "decisions.md"))


@pytest.mark.parametrize("args, said", [
    (["--instances", "vgg16"], "--instances vgg16: not one of this benchmark's (fix: give some of 'lenet-10x10-tau0.8'"),
    (["--policies", "dqn"], "--policies dqn: not one of this benchmark's (fix: give some of 'masked', 'paper', "
                            "'pretrained mix-70')"),
    (["--quick", "--instances", "vgg16-250x70-tau0.6"], "--quick with --instances: --quick is LeNet only"),
    (["--instances", "lenet-10x10-tau0.8", "--policies", "pretrained mix-70"],
     "'pretrained mix-70' runs on the VGG loads only, none of which is selected"),
])
def test_a_selection_that_names_no_row_exits_2_before_training(decisions, monkeypatch, capsys, args, said):
    monkeypatch.setattr(decisions, "train", lambda *a, **k: pytest.fail("trained before refusing"))
    with pytest.raises(SystemExit) as e:
        decisions.main(args)
    assert e.value.code == 2 and said in capsys.readouterr().err


@pytest.mark.slow
def test_instances_and_policies_run_only_those_rows(decisions, tmp_path, capsys):
    """The paper agent on LeNet only: one row, printed without --out (the committed table kept),
    written with it, its command naming the selection."""
    before = _digest()
    assert decisions.main(["--instances", "lenet-10x10-tau0.8", "--policies", "paper"]) == 0
    printed = capsys.readouterr().out
    assert _digest() == before and "| lenet-10x10-tau0.8 | paper" in printed and "| masked" not in printed
    assert decisions.main(["--instances", "lenet-10x10-tau0.8", "--policies", "paper", "--out", str(tmp_path)]) == 0
    assert _digest() == before
    md = (tmp_path / "decisions.md").read_text()
    assert "decisions.py --instances lenet-10x10-tau0.8 --policies paper`" in md
    csv = (tmp_path / "decisions.csv").read_text().splitlines()
    assert len(csv) == 2 and csv[1].startswith("lenet-10x10-tau0.8,paper,") and csv[1].endswith(",True")


def test_slow_requests_refuses_fewer_than_two_requests_before_training(monkeypatch, capsys):
    mod = load_script("benchmarks/online/slow_requests.py")
    monkeypatch.setattr(mod, "train", lambda *a, **k: pytest.fail("trained before refusing"))
    for n, said in (("1", "--requests 1 is out of range (fix: give a whole number of requests >= 2"),
                    ("11", "--requests 11: lenet-10x10-tau0.8 has 10 requests (fix: give 2 to 10")):
        with pytest.raises(SystemExit) as e:
            mod.main(["--instance", "lenet-10x10-tau0.8", "--requests", n])
        assert e.value.code == 2 and said in capsys.readouterr().err


@pytest.mark.slow
def test_slow_requests_counts_each_request_and_restores_decide(capsys):
    """benchmarks/online/slow_requests.py (vgg40): per request the rounds, states and lone segments
    of the paper agent, the warm-up left out; optdist.rl.decide as it was afterwards."""
    mod = load_script("benchmarks/online/slow_requests.py")
    from optdist.rl import decide
    before = (decide.RequestPlacer, decide.layer_states, decide.decide_segment, decide.decide_layer)
    assert mod.main(["--instance", "lenet-10x10-tau0.8", "--requests", "3"]) == 0
    out = capsys.readouterr().out
    assert (decide.RequestPlacer, decide.layer_states, decide.decide_segment, decide.decide_layer) == before
    assert "lenet-10x10-tau0.8, paper agent (300 episodes, seed 0), first 3 requests" in out
    lines = [x for x in out.splitlines() if x.startswith("request ") and " rounds, " in x]
    assert sorted(x.split(":")[0] for x in lines) == ["request 0", "request 1", "request 2"]
    assert all(" states, " in x and " segments alone, " in x for x in lines)
