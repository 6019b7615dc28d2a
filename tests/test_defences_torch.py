"""Torch parts: the mechanism on tensors, the multi-exit CNN, DeepSloth, and smoke runs of the sweeps."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from optdist.defences import dp, dp_measure, multiexit  # noqa: E402

torch.set_num_threads(1)


def test_torch_laplace_matches_closed_form():
    gen = torch.Generator().manual_seed(0)
    n = dp_measure.laplace_like(torch.zeros(400_000, dtype=torch.float64), 3.0, gen)
    assert float(n.var()) == pytest.approx(2 * 9.0, rel=0.02)
    assert float(n.abs().mean()) == pytest.approx(3.0, rel=0.01)
    assert torch.isfinite(n).all()


def test_torch_clip_equals_numpy_and_plain_split_is_untouched():
    z = torch.randn(5, 3, 4, 4, generator=torch.Generator().manual_seed(1)) * 3
    gen = torch.Generator().manual_seed(0)
    clipped = dp_measure.privatize(z, 2.0, float("inf"), gen).numpy()
    np.testing.assert_allclose(clipped, dp.clip_rescale(z.numpy(), 2.0), rtol=1e-6)
    assert dp_measure.privatize(z, 2.0, None, gen) is z
    noisy = dp_measure.privatize(z, 2.0, 4.0, gen) - dp_measure.clip_rescale(z, 2.0)
    assert 0 < float(noisy.abs().mean()) < 3.0  # b = 1


def test_multiexit_cost_profile_closed_form():
    net = multiexit.MultiExitCNN()
    macs, feats = net.cost_profile()
    assert len(macs) == net.n_outputs == 6 and macs == sorted(macs)
    assert macs[0] == 28 * 28 * 8 * 1 * 9 + 8 * 16 * 10  # conv1 + IC1 (4x4 pooled, linear)
    assert macs[1] - macs[0] == 28 * 28 * 16 * 8 * 9 + 16 * 16 * 10  # conv2 runs at 28x28, then pools
    assert feats[:2] == [4 * 8 * 28 * 28, 4 * 16 * 14 * 14]
    assert macs[-1] - macs[-2] == 32 * 7 * 7 * 128 + 128 * 10


def test_early_exit_and_threshold_rule():
    # 3 outputs (2 ICs + final), 3 samples, 2 classes
    probs = torch.tensor(
        [
            [[0.9, 0.1], [0.6, 0.4], [0.5, 0.5]],
            [[0.2, 0.8], [0.3, 0.7], [0.55, 0.45]],
            [[0.1, 0.9], [0.1, 0.9], [0.4, 0.6]],
        ]
    )
    idx, pred = multiexit.early_exit(probs, 0.7)
    np.testing.assert_array_equal(idx, [0, 1, 2])
    np.testing.assert_array_equal(pred, [0, 1, 1])
    y = np.array([0, 1, 1])
    assert multiexit.pick_threshold(probs, y, [1, 2, 3], rad_pct=5) == pytest.approx(0.6)


def test_deepsloth_stays_in_budget_and_flattens_exits():
    torch.manual_seed(0)
    net = multiexit.MultiExitCNN().eval()
    x = torch.rand(8, 1, 28, 28)
    xa = multiexit.deepsloth_linf(net, x, eps=0.1, steps=5, step=0.02)
    assert float((xa - x).abs().max()) <= 0.1 + 1e-6 and xa.min() >= 0 and xa.max() <= 1

    def loss(v):
        return float(sum(-o.log_softmax(1).mean(1).sum() for o in net(v)[:-1]))

    with torch.no_grad():
        assert loss(xa) < loss(x)
    assert all(p.requires_grad for p in net.parameters())


def _mnist_or_skip():
    from optdist.attacks import datasets

    try:
        datasets.load("mnist")
    except FileNotFoundError as e:
        pytest.skip(f"MNIST not installed: {e}")


@pytest.mark.slow
def test_cli_smoke_runs(tmp_path, monkeypatch):
    _mnist_or_skip()
    from optdist import cli, zoo
    from optdist.defences import defq_measure

    monkeypatch.setattr(dp_measure, "load_target", lambda cfg: (zoo.build("lenet").eval(), {"test_accuracy": None}))
    real = defq_measure.load_or_train_multiexit
    cache = tmp_path / "cache"
    monkeypatch.setattr(defq_measure, "load_or_train_multiexit", lambda cfg, ds: real(cfg, ds, cache))
    assert cli.main(["dp-sweep", "--quick", "--layers", "ReLU2", "--eps", "10", "--out", str(tmp_path / "dp")]) == 0
    res = json.loads((tmp_path / "dp" / "results.json").read_text())
    assert [r["mode"] for r in res["layers"]["ReLU2"]["rows"]] == ["plain", "clip", "dp"]
    assert (tmp_path / "dp" / "dp_sweep.png").stat().st_size > 0
    assert cli.main(["defq-eval", "--quick", "--attack-eps", "0.1", "--out", str(tmp_path / "dq")]) == 0
    res = json.loads((tmp_path / "dq" / "results.json").read_text())
    assert {r["defence"] for r in res["results"]} == {"none", "DefQ[20,60]", "DefQ[20,100]", "JPEG-luma"}
    for r in res["results"]:
        assert sum(r["exit_dist"]) == pytest.approx(1.0) and 0 <= r["efficacy"] <= 1
    assert (tmp_path / "dq" / "defq_exits.png").exists() and "DefQ" in (tmp_path / "dq" / "results.md").read_text()
