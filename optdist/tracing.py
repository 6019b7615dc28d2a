"""Profiles from any chain-shaped torch module, traced with torch.fx (MODEL.md sections 2 and 9).

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
===========================  ===============================================================

Anything else raises :class:`TraceError` naming the graph node and its operation. Residual
additions and channel concatenation (and any branch, a node whose input is not the previous
node's output) make the network a DAG: section 9 defines them, but optdist's placement
methods take chains only so far (issue 13 item 3), so they are a :class:`TraceError` too.
Needs torch (the ``learn`` extra).
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import operator
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp, TensorMetadata

from optdist.profiles import BYTES_PER_VALUE, Layer, Profile

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
    "Dropout, Identity"
)


class TraceError(ValueError):
    """A module that cannot be profiled: the message names the graph node, its operation and the fix."""


def _op_name(node: fx.Node, modules: dict[str, nn.Module]) -> str:
    if node.op == "call_module":
        return f"{type(modules[node.target]).__name__} (module {node.target!r})"
    if node.op == "call_function":
        return f"function {getattr(node.target, '__module__', None)}.{getattr(node.target, '__name__', node.target)}"
    if node.op == "call_method":
        return f"tensor method .{node.target}()"
    return f"{node.op} {node.target!r}"


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


def _shape(node: fx.Node) -> tuple[int, ...] | None:
    meta = node.meta.get("tensor_meta")
    return tuple(int(d) for d in meta.shape[1:]) if isinstance(meta, TensorMetadata) else None


def profile_module(module: nn.Module, input_shape: Sequence[int], name: str | None = None) -> Profile:
    """The profile of chain-shaped ``module`` on inputs of ``input_shape`` ``(C, H, W)``.

    ``name`` is the profile's CNN name (default: the module's class name, lower case). Shapes
    come from one forward pass of a zero batch of one through the traced graph (eval mode).
    Raises :class:`TraceError` for an operation with no rule (naming the node and the
    operation), a branch, residual add or concat (a DAG: not yet supported end to end), or a
    module torch.fx cannot trace. Source: MODEL.md sections 2 and 9.
    """
    shape = tuple(int(d) for d in input_shape)
    if not shape or any(d < 1 for d in shape):
        raise TraceError(f"input shape {list(input_shape)} must be positive sizes, e.g. 3,32,32")
    cnn = name or type(module).__name__.lower()
    was_training = module.training
    module.eval()
    try:
        try:
            gm = fx.symbolic_trace(module)
        except Exception as e:  # fx raises many kinds (TraceError, TypeError, NotImplementedError, ...)
            raise TraceError(f"{cnn}: torch.fx cannot trace the module ({type(e).__name__}: {e}); write forward() "
                             "without data-dependent control flow") from None
        try:
            with torch.no_grad():
                ShapeProp(gm).propagate(torch.zeros((1, *shape)))
        except Exception as e:
            e = e.__cause__ or e  # ShapeProp wraps the module's own error
            raise TraceError(f"{cnn}: a forward pass on input shape {list(shape)} failed ({type(e).__name__}: {e}); "
                             "check --input (C,H,W without the batch)") from None
        return Profile(cnn=cnn, input_shape=shape, layers=_layers(gm, cnn, shape))
    finally:
        module.train(was_training)


def _layers(gm: fx.GraphModule, cnn: str, input_shape: tuple[int, ...]) -> tuple[Layer, ...]:
    modules = dict(gm.named_modules())
    calls: dict[str, int] = {}
    for node in gm.graph.nodes:
        if node.op == "call_module":
            calls[node.target] = calls.get(node.target, 0) + 1
    b = BYTES_PER_VALUE
    layers: list[Layer] = []
    tip: fx.Node | None = None  # the node whose output the chain carries
    flat_maps: int | None = None  # maps before a pending flatten (folded into the next fc)
    last_created = False  # the last kept node created (or folded into) layers[-1]

    def fail(node: fx.Node, why: str) -> TraceError:
        where = node.target if node.op == "call_module" else node.name  # a module by its path, as layers are named
        return TraceError(f"{cnn}: node {where!r} ({_op_name(node, modules)}): {why}")

    for node in gm.graph.nodes:  # a merge names the DAG best: report it before the branch that feeds it
        if _classify(node, modules)[0] == "merge":
            raise fail(node, "a residual addition, concatenation or product of tensors makes the network a DAG "
                             "(MODEL.md section 9); optdist's placement methods support chain networks only so far "
                             "(issue 13 item 3)")
    for node in gm.graph.nodes:
        if node.op == "placeholder":
            if tip is not None:
                raise fail(node, "a second network input; profile a module with one input tensor")
            tip = node
            continue
        if node.op == "output":
            if node.args[0] is not tip:
                raise fail(node, "the network's output is not the last operation's output (several outputs, "
                                 "or a branch): only chain networks are supported so far (issue 13 item 3)")
            break
        if node.op == "get_attr":
            raise fail(node, f"uses a parameter or buffer directly; use a module instead. Supported: {SUPPORTED}")
        cat, op = _classify(node, modules)
        if cat == "shape":
            continue
        if cat == "other":
            raise fail(node, f"no profiling rule for this operation (MODEL.md section 9). Supported: {SUPPORTED}")
        data = [n for n in node.all_input_nodes if _shape(n) is not None or n is tip]
        if len(data) != 1 or data[0] is not tip:
            raise fail(node, f"takes {[n.name for n in data]} instead of the previous operation's output "
                             f"{tip.name!r}: a branch makes the network a DAG; chain networks only so far (issue 13 item 3)")
        in_shape, out_shape = _shape(tip) or input_shape, _shape(node)
        if out_shape is None:
            raise fail(node, "does not produce a tensor")
        tip = node
        label = node.target if node.op == "call_module" and calls[node.target] == 1 else node.name
        if cat == "drop":
            continue
        if cat == "flatten":
            if len(out_shape) != 1 or flat_maps is not None:
                raise fail(node, f"reshapes {list(in_shape)} to {list(out_shape)}; only a flatten to (N, features) "
                                 "before a Linear is supported")
            flat_maps = layers[-1].out_maps if layers else input_shape[0]
            last_created = False
            continue
        if cat == "linear":
            mod = modules[node.target]
            if len(in_shape) != 1:
                raise fail(node, f"applied to a {len(in_shape) + 1}-D tensor {list(in_shape)}; flatten it first")
            in_maps = flat_maps if flat_maps is not None else (layers[-1].out_maps if layers else input_shape[0])
            n = mod.in_features * mod.out_features
            layers.append(Layer(label, "fc", 1, n, n * b, in_maps, 1, (mod.out_features,), mod.out_features * b,
                                (label,), "linear"))
            flat_maps, last_created = None, True
            continue
        if flat_maps is not None:
            raise fail(node, "between a flatten and the Linear after it; only Dropout may stand there")
        if cat in ("act", "bn1d") and layers and layers[-1].kind == "fc" and last_created:
            last = layers[-1]
            layers[-1] = Layer(**{**last.__dict__, "torch_modules": (*last.torch_modules, label)})
            continue
        if cat == "bn1d":
            raise fail(node, "BatchNorm1d is supported right after a Linear only")
        if cat == "bn" and layers and layers[-1].op == "conv2d" and last_created:
            last = layers[-1]
            layers[-1] = Layer(**{**last.__dict__, "torch_modules": (*last.torch_modules, label)})
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
            layers.append(Layer(label, kind, c_in, c, m, c_in, c_out, hw, math.prod(hw) * b, (label,), op, g, (kh, kw)))
        else:  # act, pool, mean, bn: per-map operations, no multiplications (section 2)
            if out_shape[0] != c_in:
                raise fail(node, f"changes the number of maps {c_in} -> {out_shape[0]}; per-map operations keep them")
            layers.append(Layer(label, "elementwise", c_in, 0, 0, c_in, c_in, hw, math.prod(hw) * b, (label,), op))
        last_created = True
    if len(layers) < 2:
        raise TraceError(f"{cnn}: {len(layers)} placeable layer(s); a network needs at least two (the first and "
                         "the last run on the source)")
    return tuple(layers)


def load_builder(spec: str) -> Callable[[], nn.Module]:
    """The callable named by ``"pkg.mod:attr"`` or ``"path/to/file.py:attr"``.

    ``attr`` may be a function or class returning an ``nn.Module``, or a module instance (then
    it is returned as is). The current folder is importable, as for ``python -m``. Raises
    ``ValueError`` naming the problem.
    """
    if ":" not in spec:
        raise ValueError(f"--module {spec!r}: write MODULE:BUILDER, e.g. mynets:small_cnn or path/to/file.py:Net")
    where, attr = spec.rsplit(":", 1)
    try:
        if where.endswith(".py"):
            path = Path(where)
            if not path.is_file():
                raise ValueError(f"--module {spec!r}: file {where} not found")
            mod_spec = importlib.util.spec_from_file_location(path.stem, path)
            mod = importlib.util.module_from_spec(mod_spec)
            mod_spec.loader.exec_module(mod)
        else:
            if "" not in sys.path and "." not in sys.path:
                sys.path.insert(0, "")
            mod = importlib.import_module(where)
    except ValueError:
        raise
    except Exception as e:  # the user's module failed to import
        raise ValueError(f"--module {spec!r}: cannot import {where} ({type(e).__name__}: {e})") from None
    if not hasattr(mod, attr):
        raise ValueError(f"--module {spec!r}: {where} has no attribute {attr!r}")
    obj = getattr(mod, attr)
    if isinstance(obj, nn.Module):
        return lambda: obj
    if not callable(obj):
        raise ValueError(f"--module {spec!r}: {attr} is neither an nn.Module nor a callable returning one")
    return obj


def profile_builder(spec: str, input_shape: Sequence[int], name: str | None = None) -> Profile:
    """:func:`profile_module` of the module that ``load_builder(spec)()`` returns (CLI entry)."""
    builder = load_builder(spec)
    try:
        module = builder()
    except Exception as e:
        raise ValueError(f"--module {spec!r}: calling {spec.rsplit(':', 1)[1]}() failed ({type(e).__name__}: {e}); "
                         "it must take no arguments") from None
    if not isinstance(module, nn.Module):
        raise ValueError(f"--module {spec!r}: returned {type(module).__name__}, not a torch.nn.Module")
    return profile_module(module, input_shape, name or spec.rsplit(":", 1)[1].lower())
