"""Layer profiles: hand-computed values, and the cache equals what torch derives."""

import pytest

from optdist.profiles import load_profile


def test_lenet_hand_values():
    p = load_profile("lenet")
    assert [la.name for la in p.layers] == ["conv1", "ReLU1", "pool1", "conv2", "ReLU2", "pool2", "fc1", "fc2", "fc3"]
    conv1, conv2, fc1 = p.layers[0], p.layers[3], p.layers[6]
    assert (conv1.segments, conv1.mults_per_segment) == (1, 5 * 5 * 8 * 24 * 24) == (1, 115200)
    assert (conv2.segments, conv2.mults_per_segment) == (8, 5 * 5 * 16 * 8 * 8)
    assert conv2.weight_bytes_per_segment == 5 * 5 * 16 * 4
    assert (fc1.kind, fc1.segments, fc1.mults_per_segment, fc1.in_maps) == ("fc", 1, 256 * 120, 16)
    assert p.layers[5].beta == 4 * 4 * 4  # pool2: 16 maps of 4x4 floats
    assert p.n_segments == 60  # MODEL.md section 7: 60 segments per LeNet request


def test_cifar_layers_and_segments():
    p = load_profile("cifar")
    assert p.n_layers == 17  # the paper's "17 layers"
    assert p.layers[p.index("ReLU22")].segments == 128
    assert p.layers[p.index("fc1")].mults_per_segment == 2048 * 512


@pytest.mark.parametrize(
    "cnn,blocks,fcs",
    [
        ("vgg16", [[64, 64], [128, 128], [256] * 3, [512] * 3, [512] * 3], [8192, 4096, 4096, 196]),
        ("vgg19", [[64, 64], [128, 128], [256] * 4, [512] * 4, [512] * 4], [8192, 4096, 4096, 40]),
    ],
)
def test_vgg_total_multiplications(cnn, blocks, fcs):
    expected, c, side = 0, 3, 128
    for widths in blocks:
        for w in widths:
            expected += 3 * 3 * c * w * side * side
            c = w
        side //= 2
    expected += sum(a * b for a, b in zip(fcs, fcs[1:]))
    assert sum(la.total_mults for la in load_profile(cnn).layers) == expected


@pytest.mark.parametrize("cnn", ["micro", "lenet", "cifar", "vgg16", "vgg19"])
def test_cached_profile_matches_torch(cnn):
    pytest.importorskip("torch")
    from optdist.profiling import derive_profile

    assert derive_profile(cnn) == load_profile(cnn)


def test_unknown_cnn_names_the_fix():
    with pytest.raises(KeyError, match="known CNNs"):
        load_profile("resnet")
