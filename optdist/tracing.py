"""Profiles from torch modules (chains and DAGs), traced with torch.fx (MODEL.md sections 2 and 9).

:func:`profile_module` traces ``module`` with ``torch.fx.symbolic_trace``, runs a zero input of
``input_shape`` through the graph to get every tensor's shape (``ShapeProp``), and maps each
graph node to a placeable layer by the rules below. Counts use ``b = 4`` bytes per value.

Supported operations (modules, ``torch.nn.functional`` / ``torch`` functions and tensor methods):

===========================  ===============================================================
operation                    becomes
===========================  ===============================================================
``Conv2d`` (any stride,      kind ``conv``, ``C_in`` segments, ``c = kh*kw*(C_out/g)*H*W``,
padding, dilation, groups)   ``m = kh*kw*(C_out/g)*b``; a depthwise conv (``g = C_in = C_out``)
                             has kind ``elementwise`` (maps stay whole), ``c = kh*kw*H*W``,
                             ``m = kh*kw*b`` (section 9)
``Linear``                   kind ``fc``, one segment, ``c = n_in*n_out``, ``m = c*b``; the
                             flatten/view before it and element-wise ops after it fold into it
``ReLU``, ``ReLU6``,         kind ``elementwise`` (``C`` segments, ``c = m = 0``); folded into
``LeakyReLU``, ``ELU``,      an fc layer they follow
``SELU``, ``CELU``, ``GELU``,
``SiLU``, ``Mish``,
``Hardswish``,
``Hardsigmoid``,
``Hardtanh``, ``Sigmoid``,
``Tanh``, ``Softplus``
``MaxPool2d``, ``AvgPool2d``  kind ``elementwise``, output ``H_out x W_out`` per map
``AdaptiveAvgPool2d``,       kind ``elementwise`` (global pooling when the output is 1x1, also
``AdaptiveMaxPool2d``,       ``x.mean((2, 3))``)
``mean`` over H and W
``BatchNorm2d``              folded into the convolution right before it (section 9), else an
                             ``elementwise`` layer; ``BatchNorm1d`` folds into the fc before it
``Flatten``, ``flatten``,    folded into the next ``Linear`` (must produce ``(N, features)``)
``view``, ``reshape``
``Dropout``, ``Identity``,   dropped (inference)
``contiguous``, ``size``
``x + y`` (``+``, ``+=``,    kind ``add`` (residual sum of two or more tensors of one shape),
``torch.add``, ``.add``)     ``C`` segments, ``c = m = 0``; ``x + constant`` is ``elementwise``
``torch.cat(..., dim=1)``    kind ``concat`` (channels), segments = the sum of the inputs' maps
===========================  ===============================================================

Branches are allowed: an operation may read any earlier operation's output, and several may
read the same one (the profile records each layer's ``inputs``, MODEL.md section 9); layers are
numbered in the graph's order, a topological order. Only the first operation may read the
network input (layer 1 runs on the source), the network returns one tensor (the last layer's
output), and every layer must lead to it. A BatchNorm folds into the convolution before it, and
an activation into the Linear before it, only when nothing else reads that convolution's or
Linear's output. Anything else (a product of tensors, ``torch.stack``, a concatenation along
another dim, ...) raises :class:`TraceError` naming the graph node and its operation.
Needs torch (the ``learn`` extra).

:func:`measure_module` times each layer of a profiled module on this machine (MODEL.md section
9, measured times): the traced graph runs node by node (``torch.fx.Interpreter``), each node's
wall time (``time.perf_counter``) is added to the layer it belongs to (the layer whose
``torch_modules`` names it: a folded BatchNorm or activation counts with its convolution or
Linear; dropped and reshaping operations, which compute nothing, are not timed), and the median
over ``repeats`` runs after ``warmup`` untimed runs, divided by the layer's segments, is the
layer's seconds per segment.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import math
import operator
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp, TensorMetadata

from optdist.jsonfile import text_of, value_text
from optdist.names import NETWORK_NAME_CHARS, unsafe_network_name
from optdist.options import is_whole
from optdist.profiles import BYTES_PER_VALUE, MAX_REPEATS, Layer, MeasuredTimes, Profile, ProfileFileError, parse_profile

_ACTIVATION_MODULES = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU, nn.Mish, nn.Hardswish,
    nn.Hardsigmoid, nn.Hardtanh, nn.Sigmoid, nn.Tanh, nn.Softplus,
)
_POOL_MODULES = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
_DROPPED_MODULES = (nn.Dropout, nn.Dropout2d, nn.Identity)
_ACTIVATION_FUNCTIONS = {
    F.relu: "relu", torch.relu: "relu", F.relu6: "relu6", F.leaky_relu: "leaky_relu", F.elu: "elu",
    F.selu: "selu", F.celu: "celu", F.gelu: "gelu", F.silu: "silu", F.mish: "mish", F.hardswish: "hardswish",
    F.hardsigmoid: "hardsigmoid", F.hardtanh: "hardtanh", torch.sigmoid: "sigmoid", F.sigmoid: "sigmoid",
    torch.tanh: "tanh", F.tanh: "tanh", F.softplus: "softplus",
}
_POOL_FUNCTIONS = {
    F.max_pool2d: "maxpool2d", F.avg_pool2d: "avgpool2d", F.adaptive_avg_pool2d: "adaptive_avg_pool2d",
    F.adaptive_max_pool2d: "adaptive_max_pool2d",
}
_ACTIVATION_METHODS = {"relu": "relu", "relu_": "relu", "sigmoid": "sigmoid", "tanh": "tanh"}
_MERGES = {operator.add, operator.iadd, torch.add, torch.cat, torch.concat, torch.stack, operator.mul, torch.mul}
_MERGE_METHODS = {"add", "add_", "cat", "mul", "mul_"}
SUPPORTED = (
    "Conv2d (groups, depthwise), Linear, ReLU/ReLU6/LeakyReLU/ELU/SELU/CELU/GELU/SiLU/Mish/Hardswish/"
    "Hardsigmoid/Hardtanh/Sigmoid/Tanh/Softplus, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d, "
    "mean over (H, W), BatchNorm2d, BatchNorm1d after Linear, Flatten/flatten/view/reshape before Linear, "
    "Dropout, Identity, residual add of equal tensors (x + y), channel concatenation (torch.cat dim 1)"
)


class TraceError(ValueError):
    """A module that cannot be profiled: the message names the graph node, its operation and the fix."""


def _op_name(node: fx.Node, modules: dict[str, nn.Module]) -> str:
    if node.op == "call_module":
        return f"{type(modules[node.target]).__name__} (module {text_of(str(node.target))})"
    if node.op == "call_function":
        return f"function {getattr(node.target, '__module__', None)}.{getattr(node.target, '__name__', node.target)}"
    if node.op == "call_method":
        return f"tensor method .{node.target}()"
    return f"{node.op} {text_of(str(node.target))}"


def _classify(node: fx.Node, modules: dict[str, nn.Module]) -> tuple[str, str]:
    """(category, op name) of a graph node; category in conv, linear, act, pool, mean, bn, bn1d,
    flatten, drop, shape, merge, other."""
    if node.op == "call_module":
        mod = modules[node.target]
        if isinstance(mod, nn.Conv2d):
            return "conv", "conv2d"
        if isinstance(mod, nn.Linear):
            return "linear", "linear"
        if isinstance(mod, _ACTIVATION_MODULES):
            return "act", type(mod).__name__.lower()
        if isinstance(mod, _POOL_MODULES):
            return "pool", {nn.MaxPool2d: "maxpool2d", nn.AvgPool2d: "avgpool2d", nn.AdaptiveAvgPool2d: "adaptive_avg_pool2d",
                            nn.AdaptiveMaxPool2d: "adaptive_max_pool2d"}[type(mod)]
        if isinstance(mod, nn.BatchNorm2d):
            return "bn", "batchnorm2d"
        if isinstance(mod, nn.BatchNorm1d):
            return "bn1d", "batchnorm1d"
        if isinstance(mod, nn.Flatten):
            return "flatten", "flatten"
        if isinstance(mod, _DROPPED_MODULES):
            return "drop", type(mod).__name__.lower()
        return "other", ""
    if node.op == "call_function":
        t = node.target
        if t in _MERGES:
            return "merge", getattr(t, "__name__", str(t))
        if t in _ACTIVATION_FUNCTIONS:
            return "act", _ACTIVATION_FUNCTIONS[t]
        if t in _POOL_FUNCTIONS:
            return "pool", _POOL_FUNCTIONS[t]
        if t is torch.flatten:
            return "flatten", "flatten"
        if t is torch.mean:
            return "mean", "mean"
        if t in (F.dropout, F.dropout2d):
            return "drop", "dropout"
        if t is getattr and len(node.args) > 1 and node.args[1] == "shape":
            return "shape", "shape"
        return "other", ""
    if node.op == "call_method":
        m = node.target
        if m in _MERGE_METHODS:
            return "merge", m
        if m in _ACTIVATION_METHODS:
            return "act", _ACTIVATION_METHODS[m]
        if m in ("view", "reshape", "flatten"):
            return "flatten", m
        if m == "mean":
            return "mean", "mean"
        if m == "contiguous":
            return "drop", m
        if m in ("size", "dim"):
            return "shape", m
        return "other", ""
    return "other", ""


def _trace_failure(error: Exception, shape: tuple[int, ...]) -> str:
    """What :func:`profile_module` says where ``torch.fx.symbolic_trace`` raised ``error``: raised inside
    torch (fx's limits: control flow on a traced value, ``len`` of one, ...), fx cannot trace the module;
    raised by the module's own code (its ``forward`` raising, e.g. ``raise RuntimeError``), that error
    with the file and line that raised it and a forward pass on input ``shape`` to see it (fix: correct it;
    no rewrite for fx helps there)."""
    import traceback

    frames = traceback.extract_tb(error.__traceback__)
    said = f"{type(error).__name__}: {error}"
    torch_dir = str(Path(torch.__file__).resolve().parent)
    if frames and not str(Path(frames[-1].filename).resolve()).startswith(torch_dir):
        at = frames[-1]
        return (f"its forward raised {said} at {at.filename} line {at.lineno} while torch.fx traced it (fix: the "
                f"error is your module's own; a forward pass in Python, net(torch.zeros(1, {', '.join(map(str, shape))})), "
                "shows its traceback)")
    return f"torch.fx cannot trace the module ({said}); write forward() without data-dependent control flow"


def _shape(node: fx.Node) -> tuple[int, ...] | None:
    meta = node.meta.get("tensor_meta")
    return tuple(int(d) for d in meta.shape[1:]) if isinstance(meta, TensorMetadata) else None


def profile_module(module: nn.Module, input_shape: Sequence[int], name: str | None = None, *,
                   flag: str = "input_shape") -> Profile:
    """The profile (a chain or a DAG, MODEL.md section 9) of ``module`` on inputs of ``input_shape`` ``(C, H, W)``.

    ``name`` is the profile's CNN name (default: the module's class name, lower case; one that is
    no non-empty string, or holds other characters than :data:`optdist.names.NETWORK_NAME_CHARS`, e.g.
    ``my/net`` or ``my net``, is a :class:`TraceError` naming the characters allowed). Shapes
    come from one forward pass of a zero batch of one through the traced graph (eval mode).
    Raises :class:`TraceError` for an operation with no rule (naming the node and the
    operation), a graph section 9 does not cover (a second reader of the network input, a dead
    branch, several outputs), or a module torch.fx cannot trace. Source: MODEL.md sections 2 and 9.
    ``flag``: how the caller gave the input shape, in every fix (the CLI: ``--input``, which gives
    "e.g. --input 3,32,32"; Python: ``input_shape``, "e.g. input_shape=(3, 32, 32)"). A ``module``
    that is no ``torch.nn.Module`` (a module's name as text) is a TypeError saying what is taken.
    """
    if not isinstance(module, nn.Module):
        shown = f"{type(module).__name__} {text_of(module)}" if isinstance(module, str) else type(module).__name__
        raise TypeError(f"profile_module: module is {shown}; it takes a torch.nn.Module (fix: build the network first, e.g. "
                        "optdist.profile_module(MyNet(), (1, 28, 28)); for a builder named as 'pkg.mod:builder' use "
                        "optdist.tracing.profile_builder or `optdist profile --module`)")
    try:
        shape = tuple(int(d) for d in input_shape)
        if not all(is_whole(d) for d in input_shape):  # (1, 28.5, 28) was traced as (1, 28, 28)
            raise ValueError
    except (TypeError, ValueError):  # 42, "1,28,28", (1, "a", 28), (1, 28.5, 28)
        raise TraceError(f"input shape {value_text(input_shape)} is not a sequence of sizes (fix: e.g. "
                         f"{_shape_eg(flag, (3, 32, 32))})") from None
    if not shape or any(d < 1 for d in shape):
        raise TraceError(f"input shape {list(input_shape)} must be positive sizes, e.g. {_shape_eg(flag, (3, 32, 32))}")
    if name is not None and not (isinstance(name, str) and name.strip()):  # 5 was "inconsistent ... please report the module"
        raise TraceError(f"name {value_text(name)} is no network name (fix: a non-empty string, e.g. name=\"mynet\", or "
                         f"leave it out for the class name, {text_of(type(module).__name__.lower())})")
    if name is not None and (example := unsafe_network_name(name)) is not None:  # "a/b" became runs/attacks/a/b
        given, fix = ("--name", f"--name {example}") if flag.startswith("--") else ("name", f"name={text_of(example)}")
        raise TraceError(f"{given} {text_of(name)} is no safe network name: a network's name becomes file names and a "
                         f"key of NAME=VALUE pairs (--requests, --privacy, --networks), so it holds only "
                         f"{NETWORK_NAME_CHARS} (fix: {fix})")
    return _traced(module, shape, name or type(module).__name__.lower(), flag)[1]


def _traced(module: nn.Module, shape: tuple[int, ...], cnn: str, flag: str) -> tuple[fx.GraphModule, Profile]:
    """:func:`profile_module`'s trace of ``module`` on inputs of ``shape`` (checked: positive sizes), named
    ``cnn``: the graph (``torch.fx.symbolic_trace``: one call of ``module.forward``) and the profile made
    from it, so :func:`measure_module` times the graph it checked against its profile without tracing
    again. Raises :class:`TraceError` as :func:`profile_module` says."""
    if not any(module.children()) and type(module).__module__.startswith("torch.nn"):
        kind = type(module).__name__  # traced from the inside: its F.conv2d(x, self.weight) reads parameters
        raise TraceError(f"{cnn}: the network is a single torch.nn.{kind}, a layer rather than a network of layers: "
                         f"return it inside a container, e.g. nn.Sequential(nn.{kind}(...))")
    expected = _expected_input(module, flag)
    was_training = module.training
    module.eval()
    try:
        try:
            gm = fx.symbolic_trace(module)
        except Exception as e:  # fx raises many kinds (TraceError, TypeError, NotImplementedError, ...)
            raise TraceError(f"{cnn}: {_trace_failure(e, shape)}") from None
        if expected is not None and expected[0] is not None and len(shape) != expected[0] and _reads_input(gm):
            # a convolution on the input itself: a batch of one of the wrong rank may pass as an unbatched input
            raise TraceError(f"{cnn}: input shape {list(shape)} has {len(shape)} dimension(s), but {expected[1]}; "
                             f"check {flag} (without the batch)")
        try:
            # ShapeProp prints the module's traceback to stderr before re-raising: keep it off the user's screen
            with torch.no_grad(), contextlib.redirect_stderr(io.StringIO()):
                ShapeProp(gm).propagate(torch.zeros((1, *shape)))
        except Exception as e:
            e = e.__cause__ or e  # ShapeProp wraps the module's own error
            hint = f"; {expected[1]}" if expected is not None else ""
            raise TraceError(f"{cnn}: a forward pass on input shape {list(shape)} failed ({type(e).__name__}: {e}){hint}; "
                             f"check {flag} (C,H,W without the batch)") from None
        layers, graph = _layers(gm, cnn, shape)
        profile = Profile(cnn=cnn, input_shape=shape, layers=layers, graph=graph)
        try:
            parse_profile(profile.to_json(), cnn)  # the file format's own checks, on what was traced
        except ProfileFileError as e:
            raise TraceError(f"{cnn}: the traced profile is inconsistent ({e}); please report the module") from None
        return gm, profile
    finally:
        module.train(was_training)


def _shape_eg(flag: str, dims: tuple[int, ...]) -> str:
    """An input shape as the caller writes it: ``--input 3,32,32`` (a flag) or ``input_shape=(3, 32, 32)``."""
    return f"{flag} {','.join(map(str, dims))}" if flag.startswith("--") else f"{flag}={tuple(dims)}"


def _expected_input(module: nn.Module, flag: str = "--input") -> tuple[int | None, str] | None:
    """What input the network's first weighted layer (in registration order) takes: (its number of
    dimensions without the batch, or None where any will do; the words saying so, e.g. 'its first
    layer conv1 (Conv2d) takes C,H,W with C = 3, e.g. --input 3,32,32'), or None for no such layer."""
    for path, m in module.named_modules():
        if isinstance(m, nn.Conv1d | nn.Conv2d):
            c = m.in_channels
            dims, eg = (2, (c, 64)) if isinstance(m, nn.Conv1d) else (3, (c, 32, 32))
            form = "C,L" if dims == 2 else "C,H,W"
            return dims, f"its first layer {path or 'the network'} ({type(m).__name__}) takes {form} with C = {c}, e.g. {_shape_eg(flag, eg)}"
        if isinstance(m, nn.Linear):
            return None, (f"its first layer {path or 'the network'} (Linear) takes {m.in_features} features (the "
                          "input's last size, or the product of its sizes where the network flattens it first)")
        if isinstance(m, nn.Conv3d):
            return None
    return None


def _reads_input(gm: fx.GraphModule) -> bool:
    """Whether a convolution module reads the network's input tensor itself (no reshaping first)."""
    modules = dict(gm.named_modules())
    return any(u.op == "call_module" and isinstance(modules.get(u.target), nn.Conv1d | nn.Conv2d)
               for n in gm.graph.nodes if n.op == "placeholder" for u in n.users)


def _labels(gm: fx.GraphModule) -> dict[fx.Node, str]:
    """Each graph node's label in a profile's layer names and ``torch_modules``: a module's path when the
    module is called once, else the graph node's name (``relu_1``)."""
    calls: dict[str, int] = {}
    for node in gm.graph.nodes:
        if node.op == "call_module":
            calls[node.target] = calls.get(node.target, 0) + 1
    return {node: node.target if node.op == "call_module" and calls[node.target] == 1 else node.name
            for node in gm.graph.nodes}


def measure_module(module: nn.Module, profile: Profile, repeats: int = 20, warmup: int = 3) -> MeasuredTimes:
    """Seconds per segment of each layer of ``profile`` (``profile_module(module, ...)``) on this machine.

    Runs the traced graph on a random input of the profile's shape (batch of one, eval mode, no
    grad) ``warmup`` times untimed, then ``repeats`` times with each graph node timed by
    ``time.perf_counter`` and charged to its layer (see the module docstring); a layer's time is
    the median over the repeats, divided by its segments ``P_k``. Uses torch's current thread
    count (recorded in ``machine``). Raises ``ValueError`` for ``repeats`` outside
    ``[1, MAX_REPEATS]`` (a profile file holds no more) or ``warmup < 0`` (either no whole number),
    TypeError for a ``module`` or ``profile`` of another type (the arguments swapped), and
    :class:`TraceError` when the module does not trace to ``profile``'s layers (compared layer by
    layer: a module of other sizes under the same layer names was timed without a word). Source:
    MODEL.md section 9 (measured times replace ``c_k / e_j``).
    """
    if not isinstance(module, nn.Module) or not isinstance(profile, Profile):  # swapped: was torch's AttributeError
        raise TypeError(f"measure_module(module, profile) takes the torch module, then its profile; got "
                        f"{type(module).__name__} and {type(profile).__name__} (fix: measure_module(net, "
                        "optdist.profile_module(net, (C, H, W), name)))")
    if not (is_whole(repeats, integral=True) and 1 <= repeats <= MAX_REPEATS
            and is_whole(warmup, integral=True) and warmup >= 0):
        raise ValueError(f"repeats must be a whole number in [1, {MAX_REPEATS:,}] and warmup one >= 0, not "
                         f"{value_text(repeats)} and {value_text(warmup)} (fix: e.g. repeats=20, warmup=3)")
    gm, traced = _traced(module, tuple(profile.input_shape), profile.cnn, "input_shape")
    if (k := next((k for k, (a, b) in enumerate(zip(traced.layers, profile.layers)) if a != b),
                  None if traced.n_layers == profile.n_layers else min(traced.n_layers, profile.n_layers))) is not None:
        # a module of other sizes under the same layer names was timed and its times recorded for this profile
        layer = profile.layers[k].name if k < profile.n_layers else f"past its {profile.n_layers} layers"
        raise TraceError(f"{profile.cnn}: the module does not trace to the profile's layers (layer {text_of(layer)} "
                         "differs): the profile was made from another module (fix: measure the module the profile was "
                         "traced from, or profile this one: optdist.profile_module(module, "
                         f"{tuple(profile.input_shape)}, {text_of(profile.cnn)}))")
    of_label = {label: k for k, la in enumerate(profile.layers) for label in la.torch_modules}
    was_training = module.training
    module.eval()
    try:
        layer_of = {node: of_label[label] for node, label in _labels(gm).items() if label in of_label}
        spent = [0.0] * profile.n_layers

        class _Timed(fx.Interpreter):
            def run_node(self, node: fx.Node):
                t0 = time.perf_counter()
                out = super().run_node(node)
                if node in layer_of:
                    spent[layer_of[node]] += time.perf_counter() - t0
                return out

        runner = _Timed(gm)
        x = torch.randn((1, *profile.input_shape), generator=torch.Generator().manual_seed(0))
        runs = []
        with torch.no_grad():
            for n in range(warmup + repeats):
                spent[:] = [0.0] * profile.n_layers
                runner.run(x)
                if n >= warmup:
                    runs.append(list(spent))
    finally:
        module.train(was_training)
    seconds = tuple(statistics.median(run[k] for run in runs) / la.segments for k, la in enumerate(profile.layers))
    machine = f"{platform.node()} {platform.machine()} {platform.processor()}".strip()
    return MeasuredTimes(seconds, f"{machine}, {torch.get_num_threads()} torch threads", torch.__version__, repeats,
                         datetime.now(UTC).isoformat(timespec="seconds"))


@dataclass(frozen=True)
class _Value:
    """What a graph node's tensor is in the profile: the output of layer ``layer`` (-1: the network
    input), ``flat`` = its maps when flattened for a Linear, ``whole`` = exactly that layer's
    output as produced and read by nothing else on the way (an operation may fold into the layer)."""

    layer: int
    flat: int | None = None
    whole: bool = True


def head_at(module: nn.Module, profile: Profile, layer: str) -> fx.GraphModule:
    """``module`` cut after profile layer ``layer``: input ``(N, C, H, W)`` -> that layer's output tensor.

    ``profile`` is :func:`profile_module` of ``module`` (or a profile file traced from it): the
    layer's output is the tensor of the last graph node folded into it (``torch_modules[-1]``,
    e.g. the BatchNorm after a convolution), so a DAG's ``add`` / ``concat`` layers and branch
    layers are cut like any other (MODEL.md section 9). The head shares ``module``'s parameters.
    Raises ``KeyError`` for an unknown layer (listing the layers) and :class:`TraceError` if
    ``module``'s graph has no node of that name (a profile traced from another module).
    """
    k = profile.index(layer)
    label = profile.layers[k].torch_modules[-1] if profile.layers[k].torch_modules else layer
    gm = fx.symbolic_trace(module)
    cut = [node for node, name in _labels(gm).items() if name == label]
    if len(cut) != 1:
        raise TraceError(f"{profile.cnn}: layer {text_of(layer)} ends at graph node {text_of(label)}, which the module does not "
                         "have: the profile was traced from another module; re-run optdist profile --module")
    graph = fx.Graph()
    env: dict[fx.Node, fx.Node] = {}
    for node in gm.graph.nodes:
        env[node] = graph.node_copy(node, lambda n: env[n])
        if node is cut[0]:
            break
    graph.output(env[cut[0]])
    head = fx.GraphModule(gm, graph)
    head.graph.eliminate_dead_code()  # operations on other branches that the cut tensor does not need
    head.recompile()
    return head.eval()


def _layers(gm: fx.GraphModule, cnn: str, input_shape: tuple[int, ...]) -> tuple[tuple[Layer, ...], tuple[tuple[int, ...], ...]]:
    """The layers of the traced graph in graph order (a topological order) and each one's inputs."""
    modules = dict(gm.named_modules())
    labels = _labels(gm)
    b = BYTES_PER_VALUE
    layers: list[Layer] = []
    graph: list[tuple[int, ...]] = []
    value: dict[fx.Node, _Value] = {}

    def fail(node: fx.Node, why: str) -> TraceError:
        where = node.target if node.op == "call_module" else node.name  # a module by its path, as layers are named
        return TraceError(f"{cnn}: node {text_of(where)} ({_op_name(node, modules)}): {why}")

    def data_inputs(node: fx.Node) -> list[fx.Node]:
        return [n for n in node.all_input_nodes if n in value]

    def readers(node: fx.Node) -> int:  # operations that read the node's tensor (size queries aside)
        return sum(1 for u in node.users if u.op == "output" or _classify(u, modules)[0] != "shape")

    def add_layer(node: fx.Node, layer: Layer, into: Sequence[_Value]) -> None:
        srcs = tuple(dict.fromkeys(v.layer for v in into))
        if -1 in srcs and (layers or len(srcs) > 1):
            raise fail(node, "reads the network input, which only the first operation may read (layer 1 runs on "
                             "the source, MODEL.md section 9): start the network with one operation on the input")
        layers.append(layer)
        graph.append(tuple(u for u in srcs if u >= 0))
        value[node] = _Value(len(layers) - 1)

    def fold(node: fx.Node, src: _Value, label: str) -> None:
        k = src.layer
        last = layers[k]
        layers[k] = Layer(**{**last.__dict__, "torch_modules": (*last.torch_modules, label)})
        value[node] = _Value(k)

    for node in gm.graph.nodes:
        if node.op == "placeholder":
            if value:
                raise fail(node, "a second network input; profile a module with one input tensor")
            value[node] = _Value(-1)
            continue
        if node.op == "output":
            out = node.args[0]
            if not isinstance(out, fx.Node) or out not in value:
                raise fail(node, "the network must return one tensor (not a tuple or a constant)")
            if value[out].layer != len(layers) - 1:  # (a flatten of the last layer's output is that output)
                raise fail(node, f"the network's output {text_of(out.name)} is not the last layer's output: every "
                                 "operation's result must lead to the output (MODEL.md section 9: layer L is the output)")
            break
        if node.op == "get_attr":
            raise fail(node, f"uses a parameter or buffer directly; use a module instead. Supported: {SUPPORTED}")
        cat, op = _classify(node, modules)
        if cat == "shape":
            continue
        if cat == "other":
            final = all(u.op == "output" for u in node.users)
            if final and "softmax" in _op_name(node, modules).lower():  # a classifier's last step: argmax is the same
                raise fail(node, "no profiling rule for a softmax (MODEL.md section 9); as the network's last step it "
                                 "does not change the predicted class (fix: profile the network without it, "
                                 "returning the logits, e.g. the Sequential without its last module)")
            raise fail(node, f"no profiling rule for this operation (MODEL.md section 9). Supported: {SUPPORTED}")
        data = data_inputs(node)
        out_shape = _shape(node)
        if out_shape is None:
            raise fail(node, "does not produce a tensor")
        label = labels[node]
        if cat == "merge":
            _merge(node, op, data, out_shape, label, value, layers, add_layer, fail)
            continue
        if len(data) != 1:
            raise fail(node, f"takes {[n.name for n in data]}: an operation other than add and cat reads one tensor")
        src = value[data[0]]
        in_shape = _shape(data[0]) or input_shape
        if cat == "drop":
            value[node] = _Value(src.layer, src.flat, src.whole and readers(data[0]) == 1)
            continue
        if cat == "flatten":
            if len(out_shape) != 1 or src.flat is not None:
                raise fail(node, f"reshapes {list(in_shape)} to {list(out_shape)}; only a flatten to (N, features) "
                                 "before a Linear is supported")
            value[node] = _Value(src.layer, layers[src.layer].out_maps if src.layer >= 0 else input_shape[0], False)
            continue
        if cat == "linear":
            mod = modules[node.target]
            if len(in_shape) != 1:
                raise fail(node, f"applied to a {len(in_shape) + 1}-D tensor {list(in_shape)}; flatten it first")
            in_maps = src.flat if src.flat is not None else (layers[src.layer].out_maps if src.layer >= 0 else input_shape[0])
            n = mod.in_features * mod.out_features
            add_layer(node, Layer(label, "fc", 1, n, n * b, in_maps, 1, (mod.out_features,), mod.out_features * b,
                                  (label,), "linear"), [src])
            continue
        if src.flat is not None:
            raise fail(node, "between a flatten and the Linear after it; only Dropout may stand there")
        alone = src.layer >= 0 and src.whole and readers(data[0]) == 1  # nothing else reads the layer's output
        if cat in ("act", "bn1d") and alone and layers[src.layer].kind == "fc":
            fold(node, src, label)
            continue
        if cat == "bn1d":
            raise fail(node, "BatchNorm1d is supported right after a Linear only")
        if cat == "bn" and alone and layers[src.layer].op == "conv2d":
            fold(node, src, label)
            continue
        if len(in_shape) != 3 and not (len(in_shape) == 1 and cat == "act"):
            raise fail(node, f"expects (C, H, W) maps, got shape {list(in_shape)}")
        c_in = in_shape[0]
        if cat == "mean":
            if len(out_shape) not in (1, 3) or out_shape[0] != c_in or math.prod(out_shape) != c_in:
                raise fail(node, f"a mean to {list(out_shape)}; only a global mean over H and W is supported")
            op = "global_avg_pool"
        hw = tuple(out_shape[1:]) if len(out_shape) == 3 else (1, 1)
        if cat == "conv":
            mod = modules[node.target]
            kh, kw = mod.kernel_size
            g, c_out = mod.groups, out_shape[0]
            if g == c_in == c_out:  # depthwise: maps stay whole on their owner (section 9)
                c, m, kind = kh * kw * math.prod(hw), kh * kw * b, "elementwise"
            else:
                c, m, kind = kh * kw * (c_out // g) * math.prod(hw), kh * kw * (c_out // g) * b, "conv"
            add_layer(node, Layer(label, kind, c_in, c, m, c_in, c_out, hw, math.prod(hw) * b, (label,), op, g,
                                  (kh, kw)), [src])
        else:  # act, pool, mean, bn: per-map operations, no multiplications (section 2)
            if out_shape[0] != c_in:
                raise fail(node, f"changes the number of maps {c_in} -> {out_shape[0]}; per-map operations keep them")
            add_layer(node, Layer(label, "elementwise", c_in, 0, 0, c_in, c_in, hw, math.prod(hw) * b, (label,), op),
                      [src])
    if len(layers) < 2:
        raise TraceError(f"{cnn}: {len(layers)} placeable layer(s); a network needs at least two (the first and "
                         "the last run on the source) (fix: profile a network of two or more layers, e.g. a Conv2d "
                         "then a Linear)")
    used = {u for into in graph for u in into}
    for k, la in enumerate(layers[:-1]):
        if k not in used:
            raise TraceError(f"{cnn}: the output of layer {text_of(la.name)} ({la.op}) is not used by the network's output "
                             "(a dead branch); remove it from forward()")
    return tuple(layers), tuple(graph)


def _merge(node: fx.Node, op: str, data: list[fx.Node], out_shape: tuple[int, ...], label: str,
           value: dict[fx.Node, _Value], layers: list[Layer], add_layer, fail) -> None:
    """A residual addition (``+``, ``add``) or a channel concatenation (``torch.cat`` on dim 1)
    as an ``add`` / ``concat`` layer (MODEL.md section 9); anything else is a :class:`TraceError`."""
    b = BYTES_PER_VALUE
    if len(out_shape) != 3:
        raise fail(node, f"merges tensors of shape {list(out_shape)}; add and cat are supported on (C, H, W) maps")
    hw = tuple(out_shape[1:])
    srcs = [value[n] for n in data]
    if any(v.flat is not None for v in srcs):
        raise fail(node, "merges a flattened tensor; add and cat are supported on (C, H, W) maps")
    if op in ("add", "add_", "iadd"):
        if node.kwargs.get("alpha", 1) != 1 or (node.op == "call_function" and len(node.args) > 2):
            raise fail(node, "an add with alpha; only x + y is supported")
        if len(data) == 1:  # x + constant: a per-map operation
            add_layer(node, Layer(label, "elementwise", out_shape[0], 0, 0, out_shape[0], out_shape[0], hw,
                                  math.prod(hw) * b, (label,), "add_constant"), srcs)
            return
        if len({v.layer for v in srcs}) != len(srcs):
            raise fail(node, "adds a tensor to itself (2x); only sums of different tensors are supported")
        if any(_shape(n) != out_shape for n in data):
            raise fail(node, f"adds tensors of shapes {[list(_shape(n)) for n in data]}; a residual add needs equal "
                             "shapes (no broadcasting)")
        kind = "add"
    elif op in ("cat", "concat"):
        tensors = node.args[0] if node.args else node.kwargs.get("tensors")
        dim = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim", 0)
        if dim not in (1, -3):
            raise fail(node, f"concatenates along dim {dim}; only channels (dim 1) are supported")
        if not isinstance(tensors, list | tuple) or any(t not in value for t in tensors):
            raise fail(node, "concatenates something other than a list of traced tensors")
        data = list(tensors)
        srcs = [value[n] for n in data]
        if len({v.layer for v in srcs}) != len(srcs):
            raise fail(node, "concatenates a tensor with itself; only distinct tensors are supported")
        kind = "concat"
    else:
        raise fail(node, f"no profiling rule for this merge (MODEL.md section 9 has residual add and channel "
                         f"concatenation). Supported: {SUPPORTED}")
    layers_in = [layers[v.layer].out_maps if v.layer >= 0 else None for v in srcs]
    c = out_shape[0]
    if kind == "concat" and None not in layers_in and sum(layers_in) != c:
        raise fail(node, f"concatenates {layers_in} maps into {c}")
    add_layer(node, Layer(label, kind, c, 0, 0, c, c, hw, math.prod(hw) * b, (label,), op), srcs)


def load_builder(spec: str) -> Callable[[], nn.Module]:
    """The callable named by ``"pkg.mod:attr"`` or ``"path/to/file.py:attr"``.

    ``attr`` may be a function or class returning an ``nn.Module``, or a module instance (then
    it is returned as is). The current folder is importable, as for ``python -m``. Raises
    ``ValueError`` naming the problem.
    """
    where, colon, attr = spec.rpartition(":")
    if not (colon and where.strip() and attr.strip()):  # "mynets", ":build", "mynets:" (importlib: "Empty module name")
        raise ValueError(f"--module {text_of(spec)}: write MODULE:BUILDER, e.g. mynets:small_cnn or path/to/file.py:Net")
    if not where.endswith(".py") and Path(where).is_file():  # e.g. mynets.txt:build: imported as the package "mynets"
        raise ValueError(f"--module {text_of(spec)}: {where} is a file but not a Python file (fix: give a .py file, "
                         "e.g. --module path/to/mynets.py:build, or a module name, e.g. mynets:build)")
    try:
        if where.endswith(".py"):
            path = Path(where)
            if not path.is_file():
                raise ValueError(f"--module {text_of(spec)}: file {where} not found (fix: check the path, "
                                 f"relative to the folder you run in, {Path.cwd()})")
            mod_spec = importlib.util.spec_from_file_location(path.stem, path)
            mod = importlib.util.module_from_spec(mod_spec)
            with _importable(spec):  # its sibling files import, as under `python file.py`
                mod_spec.loader.exec_module(mod)
        else:
            if "" not in sys.path and "." not in sys.path:
                sys.path.insert(0, "")
            mod = importlib.import_module(where)
    except ValueError:
        raise
    except Exception as e:  # the user's module failed to import
        raise ValueError(f"--module {text_of(spec)}: cannot import {where} ({type(e).__name__}: {e}) "
                         f"(fix: {_import_fix(where, e)})") from None
    if not hasattr(mod, attr):
        raise ValueError(f"--module {text_of(spec)}: {where} has no attribute {text_of(attr)} (fix: "
                         f"{_builders_hint(mod, attr)})")
    obj = getattr(mod, attr)
    if isinstance(obj, nn.Module):
        return lambda: obj
    if not callable(obj):
        raise ValueError(f"--module {text_of(spec)}: {attr} is neither an nn.Module nor a callable returning one")
    return obj


def _import_fix(where: str, error: Exception) -> str:
    """The fix :func:`load_builder` gives where importing ``where`` (a module name or a .py file) raised
    ``error``: where the module itself is not found, how to name it; where a module it imports is not
    found, to install that; otherwise the error is in its code (a syntax error: its file and line)."""
    if isinstance(error, ModuleNotFoundError) and not where.endswith(".py") and \
            (error.name is None or where == error.name or where.startswith(f"{error.name}.")):
        return "run in the folder that holds it, or give its file, e.g. --module path/to/mynets.py:build"
    if isinstance(error, ModuleNotFoundError) and error.name:
        return f"{where} imports {error.name}, which is not found: install it, or run in the folder that holds it"
    if isinstance(error, SyntaxError) and error.filename and error.lineno:
        return f"correct the syntax of {error.filename} at line {error.lineno}"
    run = f"python {where}" if where.endswith(".py") else f"python -c 'import {where}'"
    return f"the error is in your module's code: correct it; `{run}` shows its traceback"


def _builders_hint(mod, attr: str) -> str:
    """What a fix says of a builder ``attr`` that module ``mod`` lacks: the close match among the
    functions, classes and modules it defines (``did you mean "lenet_32_64"? ``), and those names."""
    from optdist.names import closest

    own = sorted(n for n, v in vars(mod).items() if not n.startswith("_") and (callable(v) or isinstance(v, nn.Module))
                 and getattr(v, "__module__", mod.__name__) == mod.__name__)
    close = closest(attr, own)
    said = f"did you mean {text_of(close)}? " if close else ""
    more = f", and {len(own) - 10} more" if len(own) > 10 else ""
    return said + (f"it defines {', '.join(map(text_of, own[:10]))}{more}" if own else
                   "name a function, class or nn.Module it defines")


@contextlib.contextmanager
def _importable(spec: str):
    """The folder of a ``file.py:builder`` spec first on ``sys.path`` (``sys.path`` restored after)."""
    where = spec.rsplit(":", 1)[0]
    saved = list(sys.path)
    if where.endswith(".py"):
        sys.path.insert(0, str(Path(where).resolve().parent))
    try:
        yield
    finally:
        sys.path[:] = saved


def build_module(spec: str) -> nn.Module:
    """The ``nn.Module`` that ``load_builder(spec)()`` returns; raises ValueError naming the problem."""
    import inspect

    attr = spec.rsplit(":", 1)[-1]
    with _importable(spec):  # a builder importing a sibling file when called
        builder = load_builder(spec)
        try:
            inspect.signature(builder).bind()
        except TypeError as e:  # it needs arguments
            raise ValueError(f"--module {text_of(spec)}: {attr} cannot be called without arguments ({e}) (fix: give "
                             "a builder that takes none, e.g. def build(): return MyNet(10))") from None
        except ValueError:  # no signature to read (a builtin): calling it says
            pass
        try:
            module = builder()
        except Exception as e:
            raise ValueError(f"--module {text_of(spec)}: {attr}() raised {type(e).__name__}: {e} (fix: the error is "
                             "your builder's own; run it in Python to see its traceback)") from None
    if not isinstance(module, nn.Module):
        raise ValueError(f"--module {text_of(spec)}: returned {type(module).__name__}, not a torch.nn.Module (fix: "
                         "return the network, e.g. def build(): return MyNet())")
    return module


def profile_builder(spec: str, input_shape: Sequence[int], name: str | None = None, measure: str | None = None,
                    repeats: int = 20) -> Profile:
    """:func:`profile_module` of the module ``spec`` names (CLI entry); with ``measure`` (a device type), its
    layers timed on this machine (:func:`measure_module`, ``repeats`` runs) recorded under that type."""
    module = build_module(spec)
    profile = profile_module(module, input_shape, name or spec.rsplit(":", 1)[1].lower(), flag="--input")
    if measure is None:
        return profile
    return profile.with_measured(measure, measure_module(module, profile, repeats))
