"""Derive layer profiles by walking the PyTorch zoo modules (needs torch).

Shapes come from a real forward pass with hooks; counts follow MODEL.md section 2.
Folding: ``Flatten`` and any element-wise module after an ``nn.Linear`` join that fc layer.
"""

from __future__ import annotations

import json

import torch
from torch import nn

from optdist import zoo
from optdist.io import atomic_write_text
from optdist.profiles import BYTES_PER_VALUE, Layer, Profile, profile_path

_ELEMENTWISE = (nn.ReLU, nn.MaxPool2d, nn.AvgPool2d, nn.BatchNorm2d, nn.Dropout, nn.Sigmoid, nn.Tanh)


def derive_profile(cnn: str) -> Profile:
    """Walk ``zoo.build(cnn)`` with a forward pass and return its profile."""
    net = zoo.build(cnn)
    shapes: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {}
    hooks = []
    for name, mod in net.named_children():
        hooks.append(
            mod.register_forward_hook(
                lambda m, inp, out, name=name: shapes.__setitem__(name, (tuple(inp[0].shape[1:]), tuple(out.shape[1:])))
            )
        )
    with torch.no_grad():
        net(zoo.example_input(cnn))
    for h in hooks:
        h.remove()

    b = BYTES_PER_VALUE
    layers: list[Layer] = []
    prev_out_maps = zoo.ZOO[cnn].input_shape[0]
    for name, mod in net.named_children():
        in_shape, out_shape = shapes[name]
        if isinstance(mod, nn.Conv2d):
            kh, kw = mod.kernel_size
            c_out, h, w = out_shape
            layers.append(
                Layer(
                    name=name,
                    kind="conv",
                    segments=mod.in_channels,
                    mults_per_segment=kh * kw * c_out * h * w,
                    weight_bytes_per_segment=kh * kw * c_out * b,
                    in_maps=mod.in_channels,
                    out_maps=c_out,
                    out_shape=(h, w),
                    beta=h * w * b,
                    torch_modules=(name,),
                )
            )
        elif isinstance(mod, nn.Linear):
            layers.append(
                Layer(
                    name=name,
                    kind="fc",
                    segments=1,
                    mults_per_segment=mod.in_features * mod.out_features,
                    weight_bytes_per_segment=mod.in_features * mod.out_features * b,
                    in_maps=prev_out_maps,
                    out_maps=1,
                    out_shape=(mod.out_features,),
                    beta=mod.out_features * b,
                    torch_modules=(name,),
                )
            )
        elif isinstance(mod, nn.Flatten):
            continue  # folded into the next fc
        elif isinstance(mod, _ELEMENTWISE):
            if layers and layers[-1].kind == "fc":  # e.g. the ReLU after fc1: fold it
                last = layers[-1]
                layers[-1] = Layer(**{**last.__dict__, "torch_modules": (*last.torch_modules, name)})
                continue
            c, h, w = out_shape
            layers.append(
                Layer(
                    name=name,
                    kind="elementwise",
                    segments=c,
                    mults_per_segment=0,
                    weight_bytes_per_segment=0,
                    in_maps=in_shape[0],
                    out_maps=c,
                    out_shape=(h, w),
                    beta=h * w * b,
                    torch_modules=(name,),
                )
            )
        else:
            raise TypeError(f"{cnn}: cannot profile module {name!r} of type {type(mod).__name__}")
        prev_out_maps = layers[-1].out_maps
    return Profile(cnn=cnn, input_shape=zoo.ZOO[cnn].input_shape, layers=tuple(layers))


def write_profile(cnn: str) -> Profile:
    """Derive and cache the profile of ``cnn`` under ``models/profiles/``."""
    prof = derive_profile(cnn)
    atomic_write_text(profile_path(cnn), json.dumps(prof.to_json(), indent=1) + "\n")
    return prof
