"""Inverse networks, scoring, target weights: small but real training runs."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skimage")

from optdist import zoo
from optdist.attacks import calibrate, datasets, inversion, targets

pytestmark = pytest.mark.learn


@pytest.fixture(scope="module")
def mnist():
    return datasets.load("mnist")


@pytest.mark.parametrize(
    ("z_shape", "out_shape"),
    [
        ((8, 24, 24), (1, 28, 28)),  # LeNet conv1
        ((16, 8, 8), (1, 28, 28)),  # LeNet ReLU2
        ((16, 4, 4), (1, 28, 28)),  # LeNet pool2
        ((64, 32, 32), (3, 32, 32)),  # CIFAR ReLU11
        ((128, 8, 8), (3, 32, 32)),  # CIFAR ReLU32
        ((32, 32, 32), (1, 64, 64)),  # ORL VGG ReLU22
    ],
)
def test_decoder_reaches_the_image_shape(z_shape, out_shape):
    z = torch.randn(3, *z_shape)
    assert tuple(inversion.decoder(z, out_shape)(z).shape) == (3, *out_shape)


def test_map_counts_and_subsets():
    assert calibrate.map_counts(8) == [8, 4, 2, 1]
    assert calibrate.map_counts(16, (8, 4)) == [16, 8, 4]  # P is always measured
    assert calibrate.map_counts(8, (16, 2)) == [8, 2]
    rng = np.random.default_rng(0)
    subs = calibrate.choose_subsets(16, 4, 3, rng)
    assert len(set(subs)) == 3 and all(len(s) == 4 and len(set(s)) == 4 for s in subs)
    assert calibrate.choose_subsets(3, 2, 5, rng) == [(0, 1), (0, 2), (1, 2)]
    assert calibrate.choose_subsets(8, 8, 3, rng) == [tuple(range(8))]


def test_score_ssim_and_psnr():
    rng = np.random.default_rng(0)
    imgs = np.zeros((4, 1, 28, 28), np.uint8)
    imgs[:, :, 8:20, 10:18] = 200  # a bar on black, like a digit
    exact = imgs / 255.0
    ssim, psnr = inversion.score(exact, imgs)
    assert np.allclose(ssim, 1.0) and np.allclose(psnr, 100.0)
    noisy = exact + rng.normal(0, 0.05, exact.shape)  # MSE 0.0025 -> 26 dB
    ssim_n, psnr_n = inversion.score(noisy, imgs)
    assert np.all(ssim_n < 0.7) and np.allclose(psnr_n, 26.0, atol=0.5)  # noise on black costs SSIM


def test_lenet_target_train_save_load(tmp_path, mnist):
    torch.manual_seed(0)
    net, meta = targets.train(targets.spec("lenet"), mnist, epochs=1, samples=2000, progress=False)
    assert meta["test_accuracy"] > 0.4 and meta["data_spec"] == "mnist" and meta["epochs"] == 1
    pt = targets.save(net, meta, "lenet", tmp_path)
    assert pt.stat().st_size < 250_000
    back, meta2 = targets.load("lenet", tmp_path)
    assert meta2["test_accuracy"] == meta["test_accuracy"] and meta2["stored_dtype"] == "torch.float32"
    x = targets.to_float(mnist["test"].x[:8])
    assert torch.equal(back(x), net.eval()(x))


def test_big_state_dict_is_stored_in_float16(tmp_path):
    net = zoo.build("cifar")
    pt = targets.save(net, {"num_classes": 10}, "cifar", tmp_path)
    assert pt.stat().st_size < 5_000_000  # float32 would be ~6.4 MB
    back, meta = targets.load("cifar", tmp_path)
    assert meta["stored_dtype"] == "torch.float16"
    w = net.state_dict()["fc1.weight"]
    assert torch.allclose(back.state_dict()["fc1.weight"], w, atol=1e-3)


def test_missing_weights_say_how_to_train(tmp_path):
    with pytest.raises(FileNotFoundError, match="optdist train-target lenet"):
        targets.load("lenet", tmp_path)


def test_inversion_from_more_maps_is_better(mnist):
    """conv1 of a (briefly) trained LeNet: 8 maps invert better than 1, and well above chance."""
    torch.manual_seed(0)
    net, _ = targets.train(targets.spec("lenet"), mnist, epochs=1, samples=1000, progress=False)
    head, _ = zoo.split_at(net, "conv1")
    adv, test = mnist["attack"].subset(1000, 1), mnist["test"].subset(100, 2)
    z, zt = inversion.features(head, adv.x), inversion.features(head, test.x)
    got = {}
    for m in (8, 1):
        g = inversion.train_inverse(z[:, :m], adv.x, epochs=2, seed=0)
        ssim, _ = inversion.score(inversion.reconstruct(g, zt[:, :m]), test.x)
        got[m] = ssim.mean()
    assert got[8] > 0.6 and got[8] > got[1]
