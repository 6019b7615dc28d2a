"""The CNN zoo as real PyTorch modules (needs the ``learn`` extra).

Every network is an ``nn.Sequential`` whose children carry the paper's layer names
(``conv11``, ``ReLU11``, ``pool1``, ``fc1`` ...). Layer profiles (segments, multiplications,
weight bytes, output shapes) are derived from these modules by :mod:`optdist.profiling`,
never typed by hand. A ReLU after an fc layer and the flatten before the first fc are
folded into the fc layer (the paper counts LeNet as 9 layers: 2 conv, 2 ReLU, 2 pool, 3 fc).

Architectures: LeNet and CIFAR-CNN follow He et al. (ACSAC'19, public code); VGG16/VGG19
follow Simonyan & Zisserman with 128x128x3 inputs (5 pools -> 4x4x512 = 8192 fc inputs).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn

from optdist.jsonfile import json_text, quoted


@dataclass(frozen=True)
class ZooEntry:
    """A zoo network: builder, input shape (C, H, W), number of classes and its dataset."""

    name: str
    input_shape: tuple[int, int, int]
    num_classes: int
    dataset: str
    description: str


ZOO: dict[str, ZooEntry] = {
    "micro": ZooEntry("micro", (1, 8, 8), 4, "synthetic", "4-layer test CNN: conv 1-2 k3, ReLU, conv 2-3 k3, fc 48-4"),
    "lenet": ZooEntry("lenet", (1, 28, 28), 10, "MNIST", "LeNet: conv 1-8 k5, conv 8-16 k5, fc 256-120-84-10"),
    "cifar": ZooEntry(
        "cifar", (3, 32, 32), 10, "CIFAR-10", "CIFAR-CNN: 6 conv 3x3 (64,64,128,128,128,128), fc 2048-512-10"
    ),
    "vgg16": ZooEntry("vgg16", (3, 128, 128), 196, "Stanford Cars", "VGG16 on 128x128x3, fc 8192-4096-4096-196"),
    "vgg19": ZooEntry("vgg19", (3, 128, 128), 40, "CelebA", "VGG19 on 128x128x3, fc 8192-4096-4096-40"),
}


def _conv_blocks(in_ch: int, blocks: list[list[int]]) -> list[tuple[str, nn.Module]]:
    layers: list[tuple[str, nn.Module]] = []
    c = in_ch
    for b, widths in enumerate(blocks, start=1):
        for i, w in enumerate(widths, start=1):
            layers.append((f"conv{b}{i}", nn.Conv2d(c, w, kernel_size=3, padding=1)))
            layers.append((f"ReLU{b}{i}", nn.ReLU()))
            c = w
        layers.append((f"pool{b}", nn.MaxPool2d(2)))
    return layers


def _fc_head(sizes: list[int]) -> list[tuple[str, nn.Module]]:
    layers: list[tuple[str, nn.Module]] = [("flatten", nn.Flatten())]
    for i in range(len(sizes) - 1):
        layers.append((f"fc{i + 1}", nn.Linear(sizes[i], sizes[i + 1])))
        if i < len(sizes) - 2:
            layers.append((f"fc{i + 1}_relu", nn.ReLU()))
    return layers


def micro() -> nn.Sequential:
    """A 4-layer CNN small enough for brute-force enumeration of placements (tests only)."""
    return nn.Sequential(
        OrderedDict(
            [
                ("conv1", nn.Conv2d(1, 2, kernel_size=3)),
                ("ReLU1", nn.ReLU()),
                ("conv2", nn.Conv2d(2, 3, kernel_size=3)),
                *_fc_head([48, 4]),
            ]
        )
    )


def lenet() -> nn.Sequential:
    """LeNet for 28x28x1 MNIST (He et al.): 9 placeable layers, 60 segments."""
    return nn.Sequential(
        OrderedDict(
            [
                ("conv1", nn.Conv2d(1, 8, kernel_size=5)),
                ("ReLU1", nn.ReLU()),
                ("pool1", nn.MaxPool2d(2)),
                ("conv2", nn.Conv2d(8, 16, kernel_size=5)),
                ("ReLU2", nn.ReLU()),
                ("pool2", nn.MaxPool2d(2)),
                *_fc_head([256, 120, 84, 10]),
            ]
        )
    )


def cifar() -> nn.Sequential:
    """CIFAR-CNN for 32x32x3 (He et al.): 17 placeable layers."""
    return nn.Sequential(OrderedDict(_conv_blocks(3, [[64, 64], [128, 128], [128, 128]]) + _fc_head([2048, 512, 10])))


def vgg16(num_classes: int = 196) -> nn.Sequential:
    """VGG16 (configuration D) on 128x128x3."""
    blocks = [[64, 64], [128, 128], [256] * 3, [512] * 3, [512] * 3]
    return nn.Sequential(OrderedDict(_conv_blocks(3, blocks) + _fc_head([8192, 4096, 4096, num_classes])))


def vgg19(num_classes: int = 40) -> nn.Sequential:
    """VGG19 (configuration E) on 128x128x3."""
    blocks = [[64, 64], [128, 128], [256] * 4, [512] * 4, [512] * 4]
    return nn.Sequential(OrderedDict(_conv_blocks(3, blocks) + _fc_head([8192, 4096, 4096, num_classes])))


_BUILDERS = {"micro": micro, "lenet": lenet, "cifar": cifar, "vgg16": vgg16, "vgg19": vgg19}


def build(name: str, num_classes: int | None = None) -> nn.Sequential:
    """Build zoo network ``name`` (untrained). ``num_classes`` overrides the default head."""
    if name not in _BUILDERS:
        raise KeyError(f"unknown CNN {json_text(name)}; the zoo has {quoted(sorted(_BUILDERS))}")
    entry = ZOO[name]
    if num_classes is None or num_classes == entry.num_classes:
        return _BUILDERS[name]() if name in ("micro", "lenet", "cifar") else _BUILDERS[name](entry.num_classes)
    if name in ("vgg16", "vgg19"):
        return _BUILDERS[name](num_classes)
    net = _BUILDERS[name]()
    last = [k for k, _ in net.named_children()][-1]
    old = getattr(net, last)
    setattr(net, last, nn.Linear(old.in_features, num_classes))
    return net


def split_at(net: nn.Sequential, layer: str) -> tuple[nn.Sequential, nn.Sequential]:
    """Split ``net`` after child ``layer``: (head producing that tensor, tail consuming it)."""
    names = [k for k, _ in net.named_children()]
    if layer not in names:
        raise KeyError(f"layer {json_text(layer)} not in network; layers are {quoted(names)}")
    cut = names.index(layer) + 1
    children = list(net.named_children())
    return nn.Sequential(OrderedDict(children[:cut])), nn.Sequential(OrderedDict(children[cut:]))


def example_input(name: str, batch: int = 1) -> torch.Tensor:
    """A zero input of the network's shape, for shape inference."""
    return torch.zeros((batch, *ZOO[name].input_shape))
