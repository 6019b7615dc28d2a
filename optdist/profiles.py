"""Layer profiles of the zoo CNNs (MODEL.md section 2), loaded without torch.

A profile lists the placeable layers of a CNN. For layer k:

=============  ==========================  ===============================  =====================
kind           segments ``P_k``            mults per segment ``c_k``        weight bytes ``m_k``
=============  ==========================  ===============================  =====================
conv           input channels ``C_in``     ``kh*kw*C_out*H_out*W_out``      ``kh*kw*C_out*b``
elementwise    maps ``C``                  0                                0
fc             1                           ``n_in*n_out``                   ``n_in*n_out*b``
=============  ==========================  ===============================  =====================

with ``b = 4`` bytes. The output of layer k is ``out_maps`` maps of ``beta`` bytes each
(fc: one vector, ``out_maps = 1`` and ``beta = n_out*b``). Profiles are derived from the
PyTorch modules by :mod:`optdist.profiling` and cached as JSON in ``models/profiles/``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from optdist.paths import MODELS_DIR

BYTES_PER_VALUE = 4
LayerKind = Literal["conv", "elementwise", "fc"]


@dataclass(frozen=True)
class Layer:
    """One placeable layer of a CNN (see module docstring for the symbols)."""

    name: str
    kind: LayerKind
    segments: int
    mults_per_segment: int
    weight_bytes_per_segment: int
    in_maps: int
    out_maps: int
    out_shape: tuple[int, ...]
    beta: int
    torch_modules: tuple[str, ...] = ()

    @property
    def total_mults(self) -> int:
        return self.segments * self.mults_per_segment

    @property
    def total_weight_bytes(self) -> int:
        return self.segments * self.weight_bytes_per_segment

    @property
    def out_bytes(self) -> int:
        return self.out_maps * self.beta


@dataclass(frozen=True)
class Profile:
    """The ordered layers of one CNN plus its input shape."""

    cnn: str
    input_shape: tuple[int, int, int]
    layers: tuple[Layer, ...]

    @property
    def n_layers(self) -> int:
        return len(self.layers)

    @property
    def n_segments(self) -> int:
        return sum(layer.segments for layer in self.layers)

    def index(self, name: str) -> int:
        for k, layer in enumerate(self.layers):
            if layer.name == name:
                return k
        raise KeyError(f"{self.cnn} has no layer {name!r}; layers: {[la.name for la in self.layers]}")

    def to_json(self) -> dict:
        return {
            "format": "optdist-profile/1",
            "cnn": self.cnn,
            "input_shape": list(self.input_shape),
            "bytes_per_value": BYTES_PER_VALUE,
            "layers": [
                {**asdict(la), "out_shape": list(la.out_shape), "torch_modules": list(la.torch_modules)}
                for la in self.layers
            ],
        }

    @classmethod
    def from_json(cls, data: dict) -> Profile:
        layers = tuple(
            Layer(**{**la, "out_shape": tuple(la["out_shape"]), "torch_modules": tuple(la.get("torch_modules", ()))})
            for la in data["layers"]
        )
        return cls(cnn=data["cnn"], input_shape=tuple(data["input_shape"]), layers=layers)

    def table(self):  # -> pandas.DataFrame
        """The profile as a table (one row per layer)."""
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "k": k + 1,
                    "layer": la.name,
                    "kind": la.kind,
                    "P": la.segments,
                    "c (mult/seg)": la.mults_per_segment,
                    "m (B/seg)": la.weight_bytes_per_segment,
                    "in maps": la.in_maps,
                    "out maps": la.out_maps,
                    "out shape": "x".join(map(str, la.out_shape)),
                    "beta (B/map)": la.beta,
                }
                for k, la in enumerate(self.layers)
            ]
        )


def profile_path(cnn: str) -> Path:
    return MODELS_DIR / "profiles" / f"{cnn}.json"


def available_cnns() -> list[str]:
    return sorted(p.stem for p in (MODELS_DIR / "profiles").glob("*.json"))


@cache
def load_profile(cnn: str) -> Profile:
    """Load the cached profile of zoo CNN ``cnn`` (no torch needed)."""
    path = profile_path(cnn)
    if not path.exists():
        raise KeyError(
            f"unknown CNN {cnn!r}: no profile at {path}; known CNNs: {available_cnns()}. "
            "Add a network to optdist/zoo.py and run `optdist profile NAME --rebuild`."
        )
    return Profile.from_json(json.loads(path.read_text()))
