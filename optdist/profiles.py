"""Layer profiles (MODEL.md sections 2 and 9), read from profile files without torch.

A profile lists the placeable layers of a CNN in one topological order (the stage order), each
with its input layers (MODEL.md section 9: a chain, or a DAG with residual additions, channel
concatenation and branches). Layer 1 reads the network input and layer L is the output; both
run on the source. For layer k:

=============  ==========================  ====================================  ==========================
kind           segments ``P_k``            mults per segment ``c_k``             weight bytes ``m_k``
=============  ==========================  ====================================  ==========================
conv           input channels ``C_in``     ``kh*kw*(C_out/g)*H_out*W_out``       ``kh*kw*(C_out/g)*b``
elementwise    maps ``C``                  0 (depthwise conv: ``kh*kw*H*W``)     0 (depthwise: ``kh*kw*b``)
fc             1                           ``n_in*n_out``                        ``n_in*n_out*b``
add            maps ``C`` (every input     0                                     0
               has C maps of one shape)
concat         sum of the inputs' maps     0                                     0
=============  ==========================  ====================================  ==========================

with ``b = 4`` bytes and ``g`` the convolution's ``groups`` (1 for a plain conv, MODEL.md
section 9). ``kind`` is the layer's data-movement rule (section 4): a depthwise convolution
(``groups = C_in = C_out``) leaves each map complete on its owner, so it moves data like an
elementwise layer and has kind ``elementwise`` with ``op = "conv2d"`` (section 9's table).
The output of layer k is ``out_maps`` maps of ``beta`` bytes each (fc: one vector,
``out_maps = 1`` and ``beta = n_out*b``). An ``add`` layer's map p is the sum of map p of
every input; a ``concat`` layer's maps are its inputs' maps one after the other (input q starts
at the offset ``sum`` of the maps of inputs ``0..q-1``); global pooling is an ``elementwise``
layer with 1x1 output maps.

Profile files (``optdist-profile/2``, JSON; ``/1`` files without ``op``/``groups``/``kernel``/
``inputs`` are still read) are written by :func:`optdist.tracing.profile_module` /
``optdist profile --module`` and read strictly by :func:`load_profile_file`: every count is
re-derived from the shapes, kernel and groups, and a file that disagrees is a
:class:`ProfileFileError` naming the file, the field and the fix. The zoo's profiles are such
files under ``models/profiles/`` (built by the same tracer, :mod:`optdist.profiling`).

Measured times (MODEL.md section 9, optional): ``measured_seconds`` maps a device type (a
catalog ``type`` of :mod:`optdist.devices`) to :class:`MeasuredTimes`, the seconds one segment
of each layer takes on that device (``seconds_per_segment``, one non-negative finite number per
layer) and how they were measured (machine, torch version, repeats, date). On a node of that
type they replace ``c_k / e_j`` in the compute time ``tc = owned_k(j) * c_k / e_j`` (MODEL.md
section 5, :meth:`optdist.instance.Instance.segment_seconds`); compute capacity (section 6)
stays counted in multiplications. ``optdist profile --module ... --measure TYPE`` records them
(:func:`optdist.tracing.measure_module`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from optdist.io import atomic_write_json
from optdist.jsonfile import (MiB, DocumentError, Problem, Schema, not_an_object, quoted, read_json, schema_problems,
                              text_of, value_text)
from optdist.names import closest
from optdist.paths import MODELS_DIR

BYTES_PER_VALUE = 4
LayerKind = Literal["conv", "elementwise", "fc", "add", "concat"]
WHOLE_MAP_KINDS = ("elementwise", "add", "concat")  # each owner holds complete output maps (section 9)
FORMAT = "optdist-profile/2"
FORMATS = ("optdist-profile/1", FORMAT)
MAX_PROFILE_BYTES = 16 * MiB
MAX_COUNT = 10**15  # largest segment count, multiplication count or byte count in a profile
MAX_SECONDS = 1e6  # largest measured seconds per segment (11.6 days: anything more is a unit mistake)
MAX_REPEATS = 10**6  # most timed runs a measured-times table records (optdist profile --repeats)


@dataclass(frozen=True)
class Layer:
    """One placeable layer of a CNN (see module docstring for the symbols).

    ``op`` is the torch operation the layer stands for (``conv2d``, ``linear``, ``relu``,
    ``maxpool2d``, ``adaptive_avg_pool2d``, ...), ``groups`` the convolution's groups (1
    otherwise), ``kernel`` its ``(kh, kw)`` (empty otherwise); ``torch_modules`` names the
    modules (or functional graph nodes) folded into the layer.
    """

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
    op: str = ""
    groups: int = 1
    kernel: tuple[int, ...] = ()

    @property
    def total_mults(self) -> int:
        return self.segments * self.mults_per_segment

    @property
    def total_weight_bytes(self) -> int:
        return self.segments * self.weight_bytes_per_segment

    @property
    def out_bytes(self) -> int:
        return self.out_maps * self.beta

    @property
    def is_depthwise(self) -> bool:
        """A depthwise convolution (MODEL.md section 9): ``groups = C_in = C_out``."""
        return self.op == "conv2d" and self.kind == "elementwise"


@dataclass(frozen=True)
class MeasuredTimes:
    """Measured seconds per segment of every layer on one device type (MODEL.md section 9).

    ``seconds_per_segment[k]`` (seconds, length L) replaces ``c_k / e_j`` on nodes of the type;
    ``machine``, ``torch``, ``repeats`` and ``date`` (ISO 8601) say how it was measured.
    """

    seconds_per_segment: tuple[float, ...]
    machine: str = ""
    torch: str = ""
    repeats: int = 1
    date: str = ""


@dataclass(frozen=True)
class Profile:
    """The layers of one CNN in stage order, its input shape (C, H, W) and its graph.

    ``graph[k]`` = the indices of layer k's input layers (MODEL.md section 9), all ``< k``; empty
    for a chain (``in(k) = (k-1,)``, ``in(0) = ()``): a graph equal to the chain is stored empty,
    so a chain profile compares equal however it was built.
    """

    cnn: str
    input_shape: tuple[int, ...]
    layers: tuple[Layer, ...]
    graph: tuple[tuple[int, ...], ...] = ()
    measured: tuple[tuple[str, MeasuredTimes], ...] = ()

    def __post_init__(self) -> None:
        graph = tuple(tuple(int(u) for u in into) for into in self.graph)
        if graph and len(graph) != len(self.layers):
            raise ValueError(f"{self.cnn}: graph has {len(graph)} entries for {len(self.layers)} layers")
        measured = tuple(sorted(dict(self.measured).items()))
        for device_type, times in measured:
            secs = times.seconds_per_segment
            if len(secs) != len(self.layers) or not all(0 <= s <= MAX_SECONDS for s in secs):  # also refuses NaN
                raise ValueError(f"{self.cnn}: measured seconds for {text_of(device_type)} must be {len(self.layers)} numbers "
                                 f"in [0, {MAX_SECONDS:g}], not {list(secs)}")
        object.__setattr__(self, "measured", measured)
        if graph == tuple(((k - 1,) if k else ()) for k in range(len(graph))):
            graph = ()
        object.__setattr__(self, "graph", graph)

    def measured_seconds(self, device_type: str | None) -> tuple[float, ...] | None:
        """Measured seconds per segment of each layer (length L) on ``device_type``, or None if not measured."""
        times = dict(self.measured).get(device_type)
        return None if times is None else times.seconds_per_segment

    def with_measured(self, device_type: str, times: MeasuredTimes) -> Profile:
        """A copy with ``times`` recorded for ``device_type`` (replacing an earlier measurement of that type).

        TypeError for a ``device_type`` that is no non-empty string or ``times`` that is no
        :class:`MeasuredTimes` (a list of seconds was an AttributeError in the copy's checks)."""
        if not isinstance(device_type, str) or not device_type or not isinstance(times, MeasuredTimes):
            raise TypeError(f"Profile.with_measured(device_type, times): got {type(device_type).__name__} "
                            f"{value_text(device_type)} and {type(times).__name__} (fix: a catalog type and the times "
                            "measured on it, e.g. profile.with_measured(\"rpi4\", optdist.tracing.measure_module(module, "
                            "profile)))")
        return Profile(self.cnn, self.input_shape, self.layers, self.graph,
                       tuple({**dict(self.measured), device_type: times}.items()))

    @property
    def is_chain(self) -> bool:
        """True when every layer reads the layer before it (sections 1-8)."""
        return not self.graph

    def inputs(self, k: int) -> tuple[int, ...]:
        """``in(k)``: indices of the layers whose output layer k reads (``(k-1,)`` in a chain)."""
        if not 0 <= k < self.n_layers:
            raise IndexError(f"{self.cnn} has layers 0..{self.n_layers - 1}, not {k}")
        if self.graph:
            return self.graph[k]
        return () if k == 0 else (k - 1,)

    @property
    def n_layers(self) -> int:
        return len(self.layers)

    @property
    def n_segments(self) -> int:
        return sum(layer.segments for layer in self.layers)

    @property
    def total_mults(self) -> int:
        return sum(layer.total_mults for layer in self.layers)

    def index(self, name: str) -> int:
        for k, layer in enumerate(self.layers):
            if layer.name == name:
                return k
        raise KeyError(f"{self.cnn} has no layer {text_of(name)}; layers: {quoted(la.name for la in self.layers)}")

    def to_json(self) -> dict:
        """The ``optdist-profile/2`` document; ``inputs`` names each layer's input layers."""
        layers = []
        for k, la in enumerate(self.layers):
            d = {**asdict(la), "out_shape": list(la.out_shape), "torch_modules": list(la.torch_modules),
                 "kernel": list(la.kernel), "inputs": [self.layers[u].name for u in self.inputs(k)]}
            layers.append(d)
        doc = {
            "format": FORMAT,
            "cnn": self.cnn,
            "input_shape": list(self.input_shape),
            "bytes_per_value": BYTES_PER_VALUE,
            "layers": layers,
        }
        if self.measured:
            doc["measured_seconds"] = {t: {**asdict(m), "seconds_per_segment": list(m.seconds_per_segment)}
                                       for t, m in self.measured}
        return doc

    @classmethod
    def from_json(cls, data: dict, where: str = "profile") -> Profile:
        """Parse and check a profile document; raises :class:`ProfileFileError`."""
        return parse_profile(data, where)

    def table(self):  # -> pandas.DataFrame
        """The profile as a table (one row per layer; a column of measured seconds per segment per device type)."""
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "k": k + 1,
                    "layer": la.name,
                    **({} if self.is_chain else {"inputs": ", ".join(self.layers[u].name for u in self.inputs(k))}),
                    "kind": la.kind,
                    "op": la.op + (f" g={la.groups}" if la.groups != 1 else ""),
                    "P": la.segments,
                    "c (mult/seg)": la.mults_per_segment,
                    "m (B/seg)": la.weight_bytes_per_segment,
                    "in maps": la.in_maps,
                    "out maps": la.out_maps,
                    "out shape": "x".join(map(str, la.out_shape)),
                    "beta (B/map)": la.beta,
                    **{f"s/seg on {t}": m.seconds_per_segment[k] for t, m in self.measured},
                }
                for k, la in enumerate(self.layers)
            ]
        )


class ProfileFileError(DocumentError):
    """An invalid profile file; ``problems`` lists every problem found."""

    kind = "profile"


# ----------------------------------------------------------------------------- file format
_STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
_Count = Field(ge=0, le=MAX_COUNT)


class _LayerSpec(BaseModel):
    model_config = _STRICT

    name: str = Field(min_length=1)
    kind: LayerKind
    segments: int = Field(ge=1, le=MAX_COUNT)
    mults_per_segment: int = _Count
    weight_bytes_per_segment: int = _Count
    in_maps: int = Field(ge=1, le=MAX_COUNT)
    out_maps: int = Field(ge=1, le=MAX_COUNT)
    out_shape: list[int] = Field(min_length=1, max_length=2)
    beta: int = Field(ge=1, le=MAX_COUNT)
    torch_modules: list[str] = Field(default_factory=list)
    op: str = ""
    groups: int = Field(default=1, ge=1, le=MAX_COUNT)
    kernel: list[int] = Field(default_factory=list, max_length=2)
    inputs: list[str] | None = None


class _MeasuredSpec(BaseModel):
    model_config = _STRICT

    seconds_per_segment: list[Annotated[float, Field(ge=0, le=MAX_SECONDS)]] = Field(
        min_length=1, description="seconds one segment of each layer takes on this device type (one per layer, in order)")
    machine: str = Field(default="", description="the machine measured (e.g. platform.node() and CPU)")
    torch: str = Field(default="", description="torch version used")
    repeats: int = Field(default=1, ge=1, le=MAX_REPEATS, description="timed runs per layer (the median is kept)")
    date: str = Field(default="", description="when measured, ISO 8601 UTC")


class _ProfileSpec(BaseModel):
    model_config = _STRICT

    format: Literal["optdist-profile/1", "optdist-profile/2"]
    cnn: str = Field(min_length=1)
    input_shape: list[int] = Field(min_length=1, max_length=3)
    bytes_per_value: Literal[4] = BYTES_PER_VALUE
    layers: list[_LayerSpec] = Field(min_length=2)
    measured_seconds: dict[str, _MeasuredSpec] = Field(
        default_factory=dict, description="device type -> measured seconds per segment of each layer (MODEL.md "
        "section 9); replaces c_k / e_j on nodes of that type")


def profile_json_schema() -> dict:
    """The JSON Schema of profile files (structure only: :func:`parse_profile` also checks the counts)."""
    return _ProfileSpec.model_json_schema()


_REGEN = "regenerate the file with `optdist profile --module pkg.mod:builder --input C,H,W --out FILE`"
_REMEASURE = "re-measure with `optdist profile --module pkg.mod:builder --input C,H,W --measure TYPE --out FILE`"
_FIXES = {
    "format": f"set \"format\": \"{FORMAT}\"",
    "seconds_per_segment": f"give one measured time per layer in seconds, each a number in [0, {MAX_SECONDS:g}], "
    "e.g. [0.0012, 0.0003]",
    "repeats": f"give the number of timed runs as a whole number in [1, {MAX_REPEATS}], e.g. \"repeats\": 20",
}
_COUNT = "a whole number in [{lo}, {hi:g}]"


def _count(what: str, lo: int = 0) -> str:
    return f"{what}, {_COUNT.format(lo=lo, hi=MAX_COUNT)}"


_LAYER = ('{"name": "conv1", "kind": "conv", "segments": 1, "mults_per_segment": 115200, "weight_bytes_per_segment": '
          '800, "in_maps": 1, "out_maps": 8, "out_shape": [24, 24], "beta": 2304, "op": "conv2d", "kernel": [5, 5], '
          '"inputs": []}')
_TIMES = '{"seconds_per_segment": [0.0012, 0.0003], "machine": "rpi4", "torch": "2.3.0", "repeats": 20}'
_EXPECTED = {
    "format": ('"optdist-profile/2" (or "optdist-profile/1")', f'"{FORMAT}"'),
    "cnn": ("the network's name, a non-empty string", '"mynet"'),
    "input_shape": ("the input's shape C, H, W, a list of 1 to 3 whole numbers", "[1, 28, 28]"),
    "input_shape[]": ("a size, a positive whole number", "28"),
    "bytes_per_value": ("4, the bytes of a float32 value", "4"),
    "layers": ("a list of at least two layers (the first and last run on the source), each an object", f"[{_LAYER}, ...]"),
    "layers[]": ("a layer, an object of its name, kind, counts and shapes", _LAYER),
    "layers[].name": ("a non-empty string, unique among the layers", '"conv1"'),
    "layers[].kind": ('"conv", "elementwise", "fc", "add" or "concat" (MODEL.md sections 2 and 9)', '"conv"'),
    "layers[].segments": (_count("the layer's segments P_k", 1), "8"),
    "layers[].mults_per_segment": (_count("multiplications per segment c_k"), "25600"),
    "layers[].weight_bytes_per_segment": (_count("weight bytes per segment m_k"), "1600"),
    "layers[].in_maps": (_count("the input maps", 1), "8"),
    "layers[].out_maps": (_count("the output maps", 1), "16"),
    "layers[].out_shape": ("the shape of one output map, a list of 1 or 2 whole numbers (H, W; fc: n_out)", "[8, 8]"),
    "layers[].out_shape[]": ("a size, a whole number", "8"),
    "layers[].beta": (_count("bytes per output map beta", 1), "256"),
    "layers[].torch_modules": ("a list of the torch modules folded into the layer (strings)", '["conv2"]'),
    "layers[].torch_modules[]": ("a torch module's name (a string)", '"conv2"'),
    "layers[].op": ('the torch operation, a string such as "conv2d", "linear", "relu" or "maxpool2d"', '"conv2d"'),
    "layers[].groups": (_count("the convolution's groups", 1), "1"),
    "layers[].kernel": ("a convolution's kernel [kh, kw] (empty for other layers), a list of at most 2 whole numbers",
                        "[5, 5]"),
    "layers[].kernel[]": ("a kernel size, a whole number", "5"),
    "layers[].inputs": ("the names of the layer's input layers, a list of strings ([] for the first layer)", '["pool1"]'),
    "layers[].inputs[]": ("an earlier layer's name (a string)", '"pool1"'),
    "measured_seconds": ("an object mapping each device type to its measured times", f'{{"rpi4": {_TIMES}}}'),
    "measured_seconds.*": ("a device type's measured times, an object", _TIMES),
    "measured_seconds.*.seconds_per_segment": (f"seconds per segment of each layer, a list of numbers in "
                                               f"[0, {MAX_SECONDS:g}], one per layer", "[0.0012, 0.0003]"),
    "measured_seconds.*.seconds_per_segment[]": (f"seconds, a number in [0, {MAX_SECONDS:g}]", "0.0012"),
    "measured_seconds.*.machine": ("a string naming the machine measured", '"rpi4 (Cortex-A72)"'),
    "measured_seconds.*.torch": ("the torch version used, a string", '"2.3.0"'),
    "measured_seconds.*.repeats": (f"the timed runs per layer, a whole number in [1, {MAX_REPEATS}]", "20"),
    "measured_seconds.*.date": ("when measured, an ISO 8601 string", '"2026-01-05T12:00:00Z"'),
}
_SCHEMA = Schema(
    "the profile", expected=_EXPECTED, maps=("measured_seconds",), fixes=_FIXES,
    objects={"": (_ProfileSpec, "the profile"), "layers[]": (_LayerSpec, "a layer"),
             "measured_seconds.*": (_MeasuredSpec, "a device type's measured times")},
    lists={"input_shape": "number", "layers": "object", "layers[].out_shape": "number", "layers[].kernel": "number",
           "layers[].torch_modules": "string", "layers[].inputs": "string",
           "measured_seconds.*.seconds_per_segment": "number"},
    quotable=frozenset({"cnn", "layers[].name", "layers[].torch_modules[]", "layers[].inputs[]",
                        "measured_seconds.*.machine", "measured_seconds.*.torch"}),
    nullable=frozenset({"layers[].inputs"}),
    also=lambda place: f"; or {_REMEASURE if place.startswith('measured_seconds') else _REGEN}")


def _graph_problems(spec: _ProfileSpec) -> tuple[list[list[int]], list[Problem]]:
    """Each layer's input indices and the graph's problems (MODEL.md section 9).

    Layers are listed in topological order: layer 1 alone reads the network input, every other
    layer names earlier layers as ``inputs`` (one; two or more for ``add`` and ``concat``), and
    every layer but the last feeds a later one (the last is the network's output).
    """
    problems: list[Problem] = []
    index: dict[str, int] = {}
    graph: list[list[int]] = []
    for k, la in enumerate(spec.layers):
        p = f"layers[{k}].inputs"
        names = la.inputs if la.inputs is not None else ([spec.layers[k - 1].name] if k else [])
        into: list[int] = []
        for name in names:
            if name in index:
                into.append(index[name])
            elif name == la.name:  # was '"relu" comes at or after "relu"'
                earlier = spec.layers[k - 1].name if k else None
                problems.append(Problem(p, f"{text_of(name)}: a layer cannot be its own input",
                                        f"name the layers whose outputs {text_of(la.name)} reads, e.g. \"inputs\": "
                                        f"[{text_of(earlier)}]" if earlier is not None else
                                        'remove it: the first layer reads the network\'s input, "inputs": []'))
            elif any(other.name == name for other in spec.layers[k:]):
                problems.append(Problem(p, f"{text_of(name)} comes at or after {text_of(la.name)}", "list the layers in a topological "
                                        "order (every layer after its inputs, the stage order of MODEL.md section 9)"))
            else:
                earlier = [other.name for other in spec.layers[:k]]
                close = closest(name, earlier)
                problems.append(Problem(p, f"{text_of(name)} is not a layer of the profile",
                                        (f"did you mean {text_of(close)}? " if close else "")
                                        + f"name earlier layers of this file ({quoted(earlier[-6:])}), e.g. "
                                        f"\"inputs\": [{text_of(close or (earlier[-1] if earlier else ''))}]"))
        if len(set(names)) != len(names):
            problems.append(Problem(p, f"[{quoted(names)}] names a layer twice", f"name each input layer once: \"inputs\": "
                                    f"[{quoted(dict.fromkeys(names))}]"))
        if k == 0 and names:
            problems.append(Problem(p, f"[{quoted(names)}], but the first layer reads the network input", "set \"inputs\": []"))
        elif k and not names:
            problems.append(Problem(p, "empty, but only the first layer reads the network input", "name the layers "
                                    "whose output this layer reads (one network input, read by the first layer), e.g. "
                                    f"\"inputs\": [{text_of(spec.layers[k - 1].name)}]"))
        elif la.kind in ("add", "concat") and len(names) < 2:
            problems.append(Problem(p, f"a{'n' if la.kind == 'add' else ''} {la.kind} layer merges two or more "
                                    f"input layers, not [{quoted(names)}]", "name every merged layer, e.g. \"inputs\": [\"a\", \"b\"], or use \"kind\": \"elementwise\""))
        elif la.kind not in ("add", "concat") and len(names) > 1:
            problems.append(Problem(p, f"a{'n' if la.kind != 'conv' else ''} {la.kind} layer reads one input layer, not "
                                    f"[{quoted(names)}]; only \"add\" and \"concat\" layers merge several (a DAG, MODEL.md section 9)",
                                    f"name its one input layer, e.g. \"inputs\": [{text_of(names[0])}], or insert an \"add\" or \"concat\" layer"))
        index[la.name] = k
        graph.append(into)
    used = {u for into in graph for u in into}
    for k, la in enumerate(spec.layers[:-1]):
        if k not in used:
            problems.append(Problem(f"layers[{k}]", f"the output of {text_of(la.name)} is not an input of any later layer",
                                    "every layer but the last must feed a later layer (the last layer is the "
                                    "network's output): remove the layer or name it in a later layer's inputs"))
    return graph, problems


def _to(**values: int) -> str:
    """The fix of counts a profile file contradicts: the values its shapes imply (``set "beta": 256; or regenerate ...``)."""
    return "set " + " and ".join(f'"{f}": {v}' for f, v in values.items()) + "; or " + _REGEN


def _layer_problems(k: int, la: _LayerSpec, ins: list[_LayerSpec], input_shape: list[int]) -> list[Problem]:
    """Consistency of layer ``k`` with its shapes and input layers ``ins`` (MODEL.md sections 2, 4, 9)."""
    p, b, out = f"layers[{k}]", BYTES_PER_VALUE, []

    def bad(field: str, msg: str, fix: str = _REGEN) -> None:
        out.append(Problem(f"{p}.{field}", msg, fix))

    if la.kind == "concat":
        fed_maps = sum(u.out_maps for u in ins)
    else:
        fed_maps = ins[0].out_maps if ins else input_shape[0]
    if la.kind in ("add", "concat"):
        _merge_problems(la, ins, fed_maps, bad)
        return out
    if la.in_maps != fed_maps:
        bad("in_maps", f"{la.in_maps} but the previous layer outputs {fed_maps} maps", _to(in_maps=fed_maps))
    if math.prod(la.out_shape) * b != la.beta:
        bad("beta", f"{la.beta} B but out_shape {la.out_shape} of {b}-byte values is {math.prod(la.out_shape) * b} B",
            _to(beta=math.prod(la.out_shape) * b))
    if la.kind == "fc":
        n_in = fed_maps * ((ins[0].beta // b) if ins else math.prod(input_shape[1:]))
        n_out = la.out_shape[0]
        if (la.segments, la.out_maps, len(la.out_shape)) != (1, 1, 1):
            bad("segments", f"an fc layer has 1 segment, 1 output vector and a 1-D out_shape, not "
                f"{la.segments}, {la.out_maps}, {la.out_shape} (MODEL.md section 2)")
        elif la.mults_per_segment != n_in * n_out:
            bad("mults_per_segment", f"{la.mults_per_segment} but n_in*n_out = {n_in}*{n_out} = {n_in * n_out}",
                _to(mults_per_segment=n_in * n_out))
        elif la.weight_bytes_per_segment != n_in * n_out * b:
            bad("weight_bytes_per_segment", f"{la.weight_bytes_per_segment} but n_in*n_out*b = {n_in * n_out * b}",
                _to(weight_bytes_per_segment=n_in * n_out * b))
        return out
    hw = math.prod(la.out_shape)
    if la.op == "conv2d" or la.kind == "conv":
        if len(la.kernel) != 2 or min(la.kernel) < 1:
            if la.op or la.kernel:  # a /1 file's conv layer has no kernel: its counts cannot be re-derived
                bad("kernel", f"a convolution needs its kernel [kh, kw], not {la.kernel}")
            return out
        kk = la.kernel[0] * la.kernel[1]
        g = la.groups
        if la.segments != la.in_maps or la.in_maps % g or la.out_maps % g:
            bad("groups", f"a convolution has one segment per input map and groups dividing C_in and C_out: "
                f"segments {la.segments}, in_maps {la.in_maps}, out_maps {la.out_maps}, groups {g}")
            return out
        depthwise = g == la.in_maps == la.out_maps
        if depthwise != (la.kind == "elementwise"):
            bad("kind", f"kind {text_of(la.kind)} but groups {g} with {la.in_maps} -> {la.out_maps} maps is "
                f"{'a depthwise' if depthwise else 'not a depthwise'} convolution, of kind "
                f"{'elementwise' if depthwise else 'conv'} (MODEL.md section 9)")
        per_map = 1 if depthwise else la.out_maps // g
        if la.mults_per_segment != kk * per_map * hw:
            bad("mults_per_segment", f"{la.mults_per_segment} but kh*kw*(C_out/g)*H*W = "
                f"{kk}*{per_map}*{hw} = {kk * per_map * hw} (MODEL.md section 9)", _to(mults_per_segment=kk * per_map * hw))
        if la.weight_bytes_per_segment != kk * per_map * b:
            bad("weight_bytes_per_segment", f"{la.weight_bytes_per_segment} but kh*kw*(C_out/g)*b = {kk * per_map * b}",
                _to(weight_bytes_per_segment=kk * per_map * b))
        return out
    if la.segments != la.out_maps or la.in_maps != la.out_maps:
        bad("segments", f"an elementwise layer keeps its maps: segments {la.segments}, in_maps {la.in_maps}, "
            f"out_maps {la.out_maps} must be equal")
    if la.mults_per_segment or la.weight_bytes_per_segment:
        bad("mults_per_segment", "an elementwise layer other than a depthwise convolution has 0 multiplications "
            "and 0 weight bytes (MODEL.md section 2)", _to(mults_per_segment=0, weight_bytes_per_segment=0))
    return out


def _merge_problems(la: _LayerSpec, ins: list[_LayerSpec], fed_maps: int, bad: Callable[..., None]) -> None:
    """An ``add`` (equal input tensors, map p = sum of maps p) or ``concat`` (maps one after the other);
    each problem is reported through ``bad(field, message[, fix])``."""
    maps = [u.out_maps for u in ins]
    if any(u.kind == "fc" or len(u.out_shape) != len(la.out_shape) for u in ins) or len(la.out_shape) != 2:
        bad("out_shape", f"{la.kind} merges (C, H, W) maps of equal H x W: inputs' out_shape "
            f"{[u.out_shape for u in ins]} and this layer's {la.out_shape} (MODEL.md section 9)")
    elif any(u.out_shape != la.out_shape for u in ins):
        bad("out_shape", f"{la.out_shape} but the inputs' maps are {[u.out_shape for u in ins]}: "
            f"{la.kind} needs maps of one size")
    if la.kind == "add" and len(set(maps)) > 1:
        bad("in_maps", f"an add sums tensors with equal map counts, not {maps}")
    if la.in_maps != fed_maps:
        bad("in_maps", f"{la.in_maps} but the input layers give {fed_maps} maps"
            + (" (their sum)" if la.kind == "concat" else ""), _to(in_maps=fed_maps))
    if la.segments != la.in_maps or la.out_maps != la.in_maps:
        bad("segments", f"a{'n' if la.kind == 'add' else ''} {la.kind} layer has one segment per map: segments "
            f"{la.segments}, in_maps {la.in_maps}, out_maps {la.out_maps} must be equal")
    if la.mults_per_segment or la.weight_bytes_per_segment:
        bad("mults_per_segment", f"a{'n' if la.kind == 'add' else ''} {la.kind} layer has 0 multiplications and 0 "
            "weight bytes (MODEL.md section 9)", _to(mults_per_segment=0, weight_bytes_per_segment=0))


def parse_profile(data: object, where: str = "profile") -> Profile:
    """Validate a decoded profile document; raises :class:`ProfileFileError` listing every problem."""
    if not isinstance(data, dict):
        raise ProfileFileError(where, [not_an_object(data, "the profile", _REGEN)])
    fmt = data.get("format")
    if isinstance(fmt, str) and fmt.startswith("optdist-") and not fmt.startswith("optdist-profile/"):
        raise ProfileFileError(where, [Problem(  # an instance, privacy table, device catalog, ... given as a profile
            "format", f"{text_of(fmt)} is another kind of optdist file, not a profile ({FORMAT})",
            "give the network's profile file, written by `optdist profile --module pkg.mod:builder --input C,H,W "
            "--out FILE`")])
    try:
        spec = _ProfileSpec.model_validate(data)
    except ValidationError as e:
        raise ProfileFileError(where, schema_problems(e, _SCHEMA)) from None
    problems: list[Problem] = []
    if any(n < 1 for n in spec.input_shape):
        problems.append(Problem("input_shape", f"{spec.input_shape} has a non-positive size", "give C,H,W as positive integers"))
    names: set[str] = set()
    for k, la in enumerate(spec.layers):
        if la.name in names:
            problems.append(Problem(f"layers[{k}].name", f"duplicate layer name {text_of(la.name)}",
                                    f'give every layer a unique name, e.g. "name": {text_of(la.name + "_" + str(k))}'))
        names.add(la.name)
        if spec.format == FORMAT and la.inputs is None:
            problems.append(Problem(f"layers[{k}].inputs", "missing (profile/2 lists each layer's input layers)", _REGEN))
    if problems:
        raise ProfileFileError(where, problems)
    graph, problems = _graph_problems(spec)
    if problems:
        raise ProfileFileError(where, problems)
    for k, la in enumerate(spec.layers):
        problems += _layer_problems(k, la, [spec.layers[u] for u in graph[k]], spec.input_shape)
    for device_type, m in spec.measured_seconds.items():
        if not device_type:
            problems.append(Problem("measured_seconds", "empty device type", "give the device type measured, e.g. \"rpi4\""))
        if len(m.seconds_per_segment) != len(spec.layers):
            problems.append(Problem(f"measured_seconds.{device_type}.seconds_per_segment",
                                    f"{len(m.seconds_per_segment)} times for {len(spec.layers)} layers",
                                    "give one time per layer of the profile, in its order; or re-measure with "
                                    "`optdist profile --module pkg.mod:builder --input C,H,W --measure TYPE --out FILE`"))
    if problems:
        raise ProfileFileError(where, problems)
    layers = tuple(
        Layer(name=la.name, kind=la.kind, segments=la.segments, mults_per_segment=la.mults_per_segment,
              weight_bytes_per_segment=la.weight_bytes_per_segment, in_maps=la.in_maps, out_maps=la.out_maps,
              out_shape=tuple(la.out_shape), beta=la.beta, torch_modules=tuple(la.torch_modules), op=la.op,
              groups=la.groups, kernel=tuple(la.kernel))
        for la in spec.layers
    )
    measured = tuple((t, MeasuredTimes(tuple(m.seconds_per_segment), m.machine, m.torch, m.repeats, m.date))
                     for t, m in spec.measured_seconds.items())
    return Profile(cnn=spec.cnn, input_shape=tuple(spec.input_shape), layers=layers, graph=tuple(map(tuple, graph)),
                   measured=measured)


@cache
def _load_cached(path: str, mtime_ns: int, size: int) -> Profile:
    return parse_profile(read_json(path, MAX_PROFILE_BYTES, ProfileFileError, "profile"), path)


def load_profile_file(path: str | Path) -> Profile:
    """Read and check a profile file (``optdist-profile/1`` or ``/2``).

    Raises ``FileNotFoundError`` for a missing file and :class:`ProfileFileError` (naming the
    file, the JSON path and the fix) for anything else wrong with it. Cached per file version.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: profile file not found")
    st = path.stat()
    return _load_cached(str(path.resolve()), st.st_mtime_ns, st.st_size)


def write_profile_file(profile: Profile, path: str | Path, *, force: bool = False) -> Path:
    """Write ``profile`` atomically as an ``optdist-profile/2`` file (checked by reading it back).

    ``path`` is checked first, as ``optdist profile --out`` checks it: its folder must exist (none
    is created) and an existing file there is replaced only if it is a profile (``force=True``:
    any regular file); each refusal is an :class:`~optdist.io.OutputPathError` (a ValueError)
    naming the path and the fix. Before, an instance file given by mistake was replaced. A
    ``profile`` that is no :class:`Profile` or a ``path`` that is no path (the arguments swapped)
    is a TypeError naming the call to make (was pathlib's "expected str, bytes or os.PathLike
    object, not Profile")."""
    from optdist.io import check_output_file, check_overwritable

    if not isinstance(profile, Profile) or not isinstance(path, (str, os.PathLike)):
        shown = [f"Profile {text_of(v.cnn)}" if isinstance(v, Profile) else f"{type(v).__name__} {value_text(v)}"
                 for v in (profile, path)]
        raise TypeError(f"write_profile_file(profile, path) takes the Profile first, then the path of the file to "
                        f"write; got {shown[0]} and {shown[1]} (fix: write_profile_file(profile, \"mynet.profile.json\"), "
                        "with profile = optdist.profile_module(module, (C, H, W), name))")
    if not force:
        check_output_file(path, "write_profile_file path", "mynet.profile.json")
        check_overwritable(path, FORMATS, "write_profile_file path", override="force=True")
    doc = profile.to_json()
    parse_profile(doc, str(path))
    return atomic_write_json(path, doc)


def is_profile_file(path: str | Path) -> bool:
    """Whether ``path`` is a JSON file declaring a profile format (``optdist-profile/...``)."""
    try:
        doc = read_json(path, MAX_PROFILE_BYTES)
    except (OSError, DocumentError):
        return False
    return isinstance(doc, dict) and str(doc.get("format", "")).startswith("optdist-profile")


def profile_path(cnn: str) -> Path:
    return MODELS_DIR / "profiles" / f"{cnn}.json"


def available_cnns() -> list[str]:
    """The zoo: every profile file under ``models/profiles/`` (``$OPTDIST_MODELS/profiles``)."""
    return sorted(p.stem for p in (MODELS_DIR / "profiles").glob("*.json"))


def zoo_choices() -> str:
    """The zoo's CNNs quoted, as a fix lists them (``"cifar", "lenet", ...``); where there are none
    (``OPTDIST_MODELS`` names a folder without ``profiles/``), that said with its fix. Before, the
    fix read "use one of , or ..."."""
    if names := available_cnns():
        return quoted(names)
    where = f"{MODELS_DIR / 'profiles'}" + (", OPTDIST_MODELS's folder," if os.environ.get("OPTDIST_MODELS") else "")
    return (f"none (the zoo is empty: {where} holds no profile; unset OPTDIST_MODELS, or point it to a folder with "
            "profiles/, privacy/ and weights/ as in models/)")


@cache
def load_profile(cnn: str) -> Profile:
    """Load the profile of zoo CNN ``cnn`` (no torch needed); ``KeyError`` names the zoo."""
    path = profile_path(cnn)
    if not path.exists():
        raise KeyError(
            f"unknown CNN {text_of(cnn)}: no profile at {path}; known CNNs: {zoo_choices()}. "
            "For your own network, write a profile file with `optdist profile --module pkg.mod:builder "
            "--input C,H,W --out NAME.profile.json` and name it in the instance's \"networks\"."
        )
    return load_profile_file(path)
