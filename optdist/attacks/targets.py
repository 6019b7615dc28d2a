"""Target models: train a zoo CNN on its dataset (CPU) and keep its weights.

Weights live in ``<weights_dir>/<name>.pt`` (a ``state_dict`` only, read back with
``torch.load(..., weights_only=True)``) next to ``<name>.json`` (test accuracy, data, epochs,
seed). A state dict whose float32 size would pass :data:`MAX_WEIGHTS_BYTES` is stored in
float16 (the CIFAR-CNN's fc1 alone is 4 MB) and widened again on load.

Targets: ``lenet`` (zoo LeNet on MNIST), ``cifar`` (zoo CIFAR-CNN on the bundled natural
patches, or a user's CIFAR-10), ``orlvgg`` (a small VGG-style net for 64x64 grayscale ORL
faces: blocks of 3x3 convs 16-16, 32-32, 64-64, 64-64 with 2x2 max pools, fc 1024-256-40).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from optdist import zoo
from optdist.attacks import datasets
from optdist.checkpoint import CheckpointError, load_state_dict, one_line, read_state_dict
from optdist.io import atomic_write_bytes, atomic_write_json
from optdist.jsonfile import quoted, text_of, value_text
from optdist.names import closest
from optdist.paths import MODELS_DIR
from optdist.profiles import Profile

log = logging.getLogger(__name__)

MAX_WEIGHTS_BYTES = 4_500_000


def orl_vgg(num_classes: int = 40) -> nn.Sequential:
    """Small VGG-style net for 1x64x64 faces (4 conv blocks, fc 1024-256-num_classes)."""
    blocks = [[16, 16], [32, 32], [64, 64], [64, 64]]
    return nn.Sequential(OrderedDict(zoo._conv_blocks(1, blocks) + zoo._fc_head([1024, 256, num_classes])))


@dataclass(frozen=True)
class TargetSpec:
    """A trainable target: builder (given the number of classes), default data, schedule and attacked layers."""

    name: str
    build: Callable[[int], nn.Sequential]
    input_shape: tuple[int, int, int]
    data: str
    epochs: int
    layers: tuple[str, ...]
    lr: float = 1e-3
    batch: int = 64


TARGETS: dict[str, TargetSpec] = {
    "lenet": TargetSpec("lenet", lambda n: zoo.build("lenet", n), (1, 28, 28), "mnist", 5, ("conv1", "ReLU2")),
    "cifar": TargetSpec(
        "cifar", lambda n: zoo.build("cifar", n), (3, 32, 32), "natural", 6, ("ReLU11", "ReLU22", "ReLU32")
    ),
    "orlvgg": TargetSpec("orlvgg", orl_vgg, (1, 64, 64), "orl", 80, ("ReLU11", "ReLU22", "ReLU32"), batch=32),
}


def spec(name: str) -> TargetSpec:
    if name not in TARGETS:
        close = closest(name, sorted(TARGETS))
        raise KeyError(f"unknown target {text_of(name)} (fix: {f'did you mean {text_of(close)}? ' if close else ''}"
                       f"choose from {quoted(sorted(TARGETS))}; your own network: optdist calibrate --module MOD:BUILDER)")
    return TARGETS[name]


@dataclass(frozen=True)
class ZooNetwork:
    """A zoo target (:data:`TARGETS`) with ``num_classes`` outputs, cut at its ``nn.Sequential`` layer names."""

    target: str
    num_classes: int

    def build(self) -> nn.Module:
        return spec(self.target).build(self.num_classes)

    def head(self, net: nn.Module, layer: str) -> nn.Module:
        """``net`` up to and including layer ``layer``."""
        return zoo.split_at(net, layer)[0]

    def maps(self, layer: str, z: torch.Tensor) -> int:
        """P of the attacked tensor ``z``: its channels (N, P, h, w), or 1 for an fc layer's (N, F) vector
        (one map, as the profile counts it)."""
        return int(z.shape[1]) if z.ndim == 4 else 1


def attackable_layers(name: str) -> dict[str, int]:
    """The layers of zoo target ``name`` that ``optdist calibrate --layers`` attacks, with their map
    counts P: with a zoo profile (lenet, cifar) its layers, whose P the target's tensors must match;
    without one (orlvgg) the layers giving maps (N, P, h, w) and the fc layers (one map). Found by
    one forward pass of an untrained net, before a target is trained."""
    from optdist.profiles import available_cnns, load_profile

    target = spec(name)
    net = target.build(2).eval()
    x = torch.zeros((1, *target.input_shape))
    shapes: dict[str, tuple[int, ...]] = {}
    kinds: dict[str, type] = {}
    with torch.no_grad():
        for child, module in net.named_children():
            x = module(x)
            shapes[child], kinds[child] = tuple(x.shape), type(module)
    if name in available_cnns():
        layers = {la.name: la.out_maps for la in load_profile(name).layers if la.name in shapes}
        for la, P in layers.items():
            got = shapes[la][1] if len(shapes[la]) == 4 else 1
            if got != P:  # a zoo profile out of step with the target's builder: a bug, said before training
                raise ValueError(f"target {name}: layer {la} gives {got} maps but its profile says {P}")
        return layers
    return {k: (v[1] if len(v) == 4 else 1) for k, v in shapes.items() if len(v) == 4 or kinds[k] is nn.Linear}


@dataclass(frozen=True)
class UserNetwork:
    """A user's network: the builder ``module`` (``pkg.mod:builder`` or ``file.py:builder``, as
    ``optdist profile --module`` takes it) and its traced ``profile`` (MODEL.md sections 2 and 9),
    cut at the profile's layer names by :func:`optdist.tracing.head_at` (DAG layers included)."""

    module: str
    profile: Profile

    def build(self) -> nn.Module:
        """A fresh module from the builder (its own initial weights), in eval mode."""
        from optdist.tracing import build_module

        return build_module(self.module).eval()

    def head(self, net: nn.Module, layer: str) -> nn.Module:
        """``net`` cut after profile layer ``layer`` (its output tensor, e.g. a residual ``add``)."""
        from optdist.tracing import head_at

        if layer not in {la.name for la in self.profile.layers}:
            raise ValueError(f"--layers: {self.profile.cnn} has no layer {text_of(layer)}; its layers: "
                             f"{quoted(la.name for la in self.profile.layers)} (optdist profile PROFILE lists them)")
        return head_at(net, self.profile, layer)

    def maps(self, layer: str, z: torch.Tensor) -> int:
        """P of layer ``layer``'s output ``z``: the profile's ``out_maps`` (1 for an fc layer's (N, F) vector)."""
        return self.profile.layers[self.profile.index(layer)].out_maps


def _profile_mismatch(traced: Profile, given: Profile) -> str | None:
    """The first difference between the traced profile and a profile file (names, ops, shapes, inputs), or None."""
    rows = [[(la.name, la.op, la.out_maps, la.out_shape, tuple(p.layers[u].name for u in p.inputs(k)))
             for k, la in enumerate(p.layers)] for p in (traced, given)]
    for k, (a, b) in enumerate(zip(*rows)):
        if a != b:
            said = [f"{text_of(r[0])} ({r[1]}, {r[2]} maps of {list(r[3])}, inputs [{quoted(r[4])}])" for r in (b, a)]
            return f"layer {k + 1} is {said[0]} in the file but the module traces to {said[1]}"
    if len(rows[0]) != len(rows[1]):
        return f"the file has {len(rows[1])} layers, the module traces to {len(rows[0])}"
    return None


def load_user_network(
    module: str,
    input_shape: tuple[int, ...] | None = None,
    profile_file: str | Path | None = None,
    weights: str | Path | None = None,
    seed: int = 0,
) -> tuple[UserNetwork, nn.Module, dict[str, Any]]:
    """The user's network, its module in eval mode (weights loaded) and a provenance record.

    The module is traced with :func:`optdist.tracing.profile_module` on ``input_shape`` (default:
    the profile file's); a ``profile_file`` must match the trace layer by layer, so table rows
    carry its layer names and its network name. ``weights``: a ``state_dict`` file read with
    ``torch.load(..., weights_only=True)`` and loaded strictly; without one the builder's initial
    weights (after ``torch.manual_seed(seed)``) are attacked. Raises ValueError / FileNotFoundError
    naming the file and the fix.
    """
    from optdist.profiles import load_profile_file
    from optdist.tracing import TraceError, build_module, profile_module

    given = load_profile_file(profile_file) if profile_file is not None else None
    if input_shape is None:
        if given is None:
            raise ValueError(f"--module {text_of(module)}: give the input shape (--input C,H,W) or the profile file (--profile)")
        input_shape = given.input_shape
    if given is not None and tuple(input_shape) != tuple(given.input_shape):
        raise ValueError(f"--input {list(input_shape)} differs from {profile_file}'s input_shape {list(given.input_shape)}; "
                         "drop --input (the profile file gives it)")
    torch.manual_seed(seed)
    net = build_module(module).eval()
    record: dict[str, Any] = {"module": module, "input_shape": list(input_shape)}
    if weights is not None:
        path = Path(weights)
        if not path.exists():
            raise FileNotFoundError(f"--weights {path}: no such file; save one with torch.save(net.state_dict(), PATH)")
        state = read_state_dict(path, f"--weights {path}")
        check_finite(state, f"--weights {path}", "give finite weights, e.g. the state_dict of a trained network")
        try:
            net.load_state_dict(state)
        except RuntimeError as e:
            raise ValueError(f"--weights {path}: does not fit {module} ({e}); give the weights of this network") from None
        record["weights"] = str(path)
        record["weights_sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    else:
        record["weights"] = f"none: the builder's initial weights (torch.manual_seed({seed}))"
    try:  # by the builder's name: a profile file's "cnn" is checked where calibrate names its files
        traced = profile_module(net, input_shape, module.rsplit(":", 1)[1].lower(), flag="--input")
    except TraceError as e:
        if given is None:
            raise
        raise ValueError(f"{profile_file}: not the profile of {module}: tracing {module} on the file's input_shape "
                         f"{list(input_shape)} fails ({str(e).partition('; check --input')[0]}); give this network's "
                         f"profile file (optdist profile --module {module} --input C,H,W --out FILE)") from None
    if given is not None:
        diff = _profile_mismatch(traced, given)
        if diff:
            raise ValueError(f"{profile_file}: not the profile of {module}: {diff}; re-run optdist profile --module "
                             f"{module} --input {','.join(map(str, input_shape))} --out {profile_file}")
        record["profile"] = str(profile_file)
    return UserNetwork(module, given or traced), net.eval(), record


class NonFiniteWeights(ValueError):
    """:func:`check_finite`'s error: ``where`` (the weights file), ``problem`` (the tensor and its
    count of NaN or inf values) and ``fix``, kept apart for :func:`load_or_train` to give its own."""

    def __init__(self, where: str, problem: str, fix: str) -> None:
        super().__init__(f"{where}: {problem} (fix: {fix})")
        self.where, self.problem, self.fix = where, problem, fix


class UnreadableTarget(ValueError):
    """:func:`load`'s error for a stored target file (weights or sidecar, a plain file) that cannot
    be read as one: not a PyTorch file, cut short, pickled objects (never unpickled), damaged
    metadata, or weights of another network. ``where``, ``problem`` and ``fix`` are kept apart for
    :func:`load_or_train`, which trains the target again over it with ``force`` (tidy31: before,
    only NaN/inf weights were, and an unreadable file said "delete ..." even with --force)."""

    def __init__(self, where: str, problem: str, fix: str) -> None:
        super().__init__(f"{where}: {problem}; {fix}")
        self.where, self.problem, self.fix = where, problem, fix


def check_finite(state: dict[str, Any], where: str, fix: str) -> None:
    """:class:`NonFiniteWeights` (a ValueError) naming ``where`` (the weights file), the first tensor
    holding NaN or inf values and ``fix``: such weights make every attacked feature, hence every
    SSIM, NaN, found only after the attacks as a table that cannot be written."""
    for key, value in state.items():
        if isinstance(value, torch.Tensor) and value.is_floating_point() and not bool(torch.isfinite(value).all()):
            bad = int((~torch.isfinite(value)).sum())
            what = "NaN" if bool(torch.isnan(value).any()) else "infinite"
            raise NonFiniteWeights(where, f"tensor {text_of(key)} holds {bad} {what} value(s) of {value.numel()}", fix)


def weights_paths(name: str, weights_dir: str | Path | None = None) -> tuple[Path, Path]:
    """(``<dir>/<name>.pt``, ``<dir>/<name>.json``); the default dir is ``models/weights``."""
    d = Path(weights_dir) if weights_dir is not None else MODELS_DIR / "weights"
    return d / f"{name}.pt", d / f"{name}.json"


def to_float(x: np.ndarray) -> torch.Tensor:
    """uint8 images -> float32 tensor in [0, 1]."""
    return torch.from_numpy(x).float().div_(255.0)


def check_shape(ds: datasets.Dataset, target: TargetSpec) -> None:
    """Raises ValueError naming --data and the fix unless ``ds``'s images (C, H, W) are the input
    shape of ``target``."""
    if ds.shape != target.input_shape:
        raise ValueError(f"--data: {ds.name} images are {ds.shape}; target {target.name} needs {target.input_shape} "
                         f"(fix: give --data of such images, e.g. its own --data {target.data}, or leave --data out)")


@torch.no_grad()
def accuracy(net: nn.Module, split: datasets.Split, batch: int = 500) -> float:
    """Top-1 accuracy of ``net`` on ``split``."""
    net.eval()
    correct = 0
    for i in range(0, len(split), batch):
        pred = net(to_float(split.x[i : i + batch])).argmax(1)
        correct += int((pred == torch.from_numpy(split.y[i : i + batch])).sum())
    return correct / len(split)


def train(
    target: TargetSpec,
    ds: datasets.Dataset,
    epochs: int | None = None,
    seed: int = 0,
    samples: int | None = None,
    progress: bool = True,
) -> tuple[nn.Sequential, dict[str, Any]]:
    """Train ``target`` on ``ds['train']`` (cross-entropy, Adam); returns (net, metadata).

    Random horizontal flips augment RGB and face data (not digits). Raises ValueError when
    ``epochs`` or ``samples`` is given and below 1 (an untrained net would be saved as the target).
    """
    check_shape(ds, target)
    for name, value in (("epochs", epochs), ("samples", samples)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"target {name} = {value_text(value)}: give a whole number >= 1 (or leave it out for the default)")
    epochs = target.epochs if epochs is None else epochs
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = target.build(ds.num_classes)
    opt = torch.optim.Adam(net.parameters(), lr=target.lr)
    train_split = ds["train"].subset(samples, seed)
    x, y = to_float(train_split.x), torch.from_numpy(train_split.y)
    flip = ds.name not in ("mnist", "mnist-idx")
    t0 = time.perf_counter()
    bar = tqdm(total=epochs * len(x), desc=f"train {target.name}", unit="img", disable=not progress, leave=False)
    for _ in range(epochs):
        net.train()
        order = torch.from_numpy(rng.permutation(len(x)))
        for i in range(0, len(x), target.batch):
            idx = order[i : i + target.batch]
            xb = x[idx]
            if flip:
                mask = torch.from_numpy(rng.random(len(idx)) < 0.5)
                xb = torch.where(mask[:, None, None, None], xb.flip(-1), xb)
            loss = nn.functional.cross_entropy(net(xb), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            bar.update(len(idx))
            bar.set_postfix(loss=f"{loss.item():.3f}")
    bar.close()
    meta = {
        "target": target.name,
        "num_classes": ds.num_classes,
        "input_shape": list(target.input_shape),
        "dataset": ds.name,
        "data_spec": ds.spec or ds.name,
        "data": ds.source,
        "train_samples": len(x),
        "test_samples": len(ds["test"]),
        "epochs": epochs,
        "seed": seed,
        "optimizer": f"Adam lr={target.lr} batch={target.batch}",
        "test_accuracy": round(accuracy(net, ds["test"]), 4),
        "train_seconds": round(time.perf_counter() - t0, 1),
        "torch": torch.__version__,
    }
    return net, meta


def save(net: nn.Module, meta: dict[str, Any], name: str, weights_dir: str | Path | None = None) -> Path:
    """Write the state dict (float16 if float32 would pass MAX_WEIGHTS_BYTES) and the JSON sidecar."""
    pt, sidecar = weights_paths(name, weights_dir)
    state = {k: v.detach().clone() for k, v in net.state_dict().items()}
    if sum(v.numel() * 4 for v in state.values()) > MAX_WEIGHTS_BYTES:
        state = {k: v.half() for k, v in state.items()}
    buf = io.BytesIO()
    torch.save(state, buf)
    data = buf.getvalue()
    atomic_write_bytes(pt, data)
    atomic_write_json(sidecar, {**meta, "weights": pt.name, "stored_dtype": str(next(iter(state.values())).dtype),
                                "weights_sha256": hashlib.sha256(data).hexdigest()})
    return pt


def check_sha256(pt: Path, sidecar: Path, meta: dict[str, Any], fix: str) -> bool:
    """Whether ``sidecar`` (its metadata ``meta``) records the sha256 of ``pt``: True if it records
    it and it matches, False if it records none (a sidecar written before the field existed: its
    test accuracy is not tied to these weights); :class:`UnreadableTarget` naming both files and
    ``fix`` if it records another (the weights were damaged or replaced after the sidecar was
    written, so its ``test_accuracy`` is not theirs), or a recorded value that is not a sha256."""
    recorded = meta.get("weights_sha256")
    if recorded is None:
        return False
    if not (isinstance(recorded, str) and len(recorded) == 64 and all(c in "0123456789abcdef" for c in recorded)):
        raise UnreadableTarget(str(sidecar), f'"weights_sha256": {value_text(recorded)} is not a sha256 (64 lower-case '
                               f"hex digits) of {pt.name}", fix)
    actual = hashlib.sha256(pt.read_bytes()).hexdigest()
    if actual != recorded:
        raise UnreadableTarget(str(pt), f"its sha256 {actual[:16]}... differs from the {recorded[:16]}... that {sidecar} "
                               "records (\"weights_sha256\"): these are not the weights the sidecar describes (damaged or "
                               "replaced since), so its test_accuracy is not theirs", fix)
    return True


def load(name: str, weights_dir: str | Path | None = None) -> tuple[nn.Sequential, dict[str, Any]]:
    """The trained target ``name`` in eval mode, and its sidecar metadata, from ``weights_dir``
    (None: models/weights). The sidecar's ``weights_sha256`` must be the .pt's (:func:`check_sha256`;
    a sidecar without one: ``meta["weights_sha256"]`` None, for the caller to measure the accuracy).
    A missing file is a FileNotFoundError, a damaged one a ValueError,
    naming it and the fix: the `optdist train-target NAME` command that writes it, with
    ``--weights-dir`` when ``weights_dir`` is given (the default folder is not the one read)."""
    pt, sidecar = weights_paths(name, weights_dir)
    train = f"`optdist train-target {name}{'' if weights_dir is None else f' --weights-dir {weights_dir}'}`"
    if not pt.exists() or not sidecar.exists():
        raise FileNotFoundError(f"no trained target {text_of(name)} at {pt}: run {train}")
    fix = f"delete {pt} and {sidecar} and run {train}"

    def unreadable(where: Path, problem: str) -> ValueError:  # a folder in a file's place: no retraining over it
        if not where.is_file():
            return ValueError(f"{where}: {problem}; {fix}")
        return UnreadableTarget(str(where), problem, fix)

    try:
        meta = json.loads(sidecar.read_text())
        classes = int(meta["num_classes"])
    except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError) as e:
        raise unreadable(sidecar, f"damaged target metadata ({type(e).__name__}: {e})") from None
    net = spec(name).build(classes)
    try:
        state = load_state_dict(pt)
    except CheckpointError as e:
        raise unreadable(pt, e.reason) from None
    check_finite(state, str(pt), fix)
    try:
        net.load_state_dict({k: v.float() for k, v in state.items()})
    except RuntimeError as e:
        raise unreadable(pt, f"does not fit target {text_of(name)} ({one_line(e)})") from None
    if not check_sha256(pt, sidecar, meta, fix):
        meta = {**meta, "weights_sha256": None}  # said: the sidecar does not vouch for these weights
    return net.eval(), meta


def load_or_train(
    name: str,
    weights_dir: str | Path | None = None,
    data: str | None = None,
    epochs: int | None = None,
    seed: int = 0,
    samples: int | None = None,
    progress: bool = True,
    force: bool = False,
) -> tuple[nn.Sequential, dict[str, Any]]:
    """Load target ``name``, training and saving it first if its weights are missing.

    One of the two files without the other (e.g. a user's ``lenet.pt`` without ``lenet.json``),
    weights holding NaN or inf values, or a file that cannot be read as a target (:class:`UnreadableTarget`:
    cut short, not a PyTorch file, damaged sidecar, another network's weights) is refused before any
    training, naming it and the fix, unless ``force``: then the target is trained again and replaces
    it (said on stderr, naming the file). Nothing is unpickled (weights_only=True).
    """
    try:
        return load(name, weights_dir)
    except FileNotFoundError:
        pass
    except (NonFiniteWeights, UnreadableTarget) as e:
        if not force:
            pt, sidecar = weights_paths(name, weights_dir)
            raise type(e)(e.where, e.problem, f"give --force to train target {name} again and replace {pt} and "
                          f"{sidecar}, or {e.fix}") from None
        log.warning("%s: %s: --force: training target %s again to replace it", e.where, e.problem, name)
        return _train_and_save(name, weights_dir, data, epochs, seed, samples, progress)
    orphan = [p for p in weights_paths(name, weights_dir) if p.exists()]
    if orphan and not force:
        pt, sidecar = weights_paths(name, weights_dir)
        have, lack = (pt, sidecar) if orphan[0] == pt else (sidecar, pt)
        raise ValueError(
            f"{have} exists without {lack}, so target {text_of(name)} cannot be loaded; training it would replace "
            f"{have} (fix: put its {'sidecar ' if lack == sidecar else 'weights '}{lack} next to it (as "
            f"`optdist train-target {name}` writes it), give another --weights-dir, or give --force to train the "
            "target and replace it)"
        )
    return _train_and_save(name, weights_dir, data, epochs, seed, samples, progress)


def _train_and_save(name: str, weights_dir: str | Path | None, data: str | None, epochs: int | None, seed: int,
                    samples: int | None, progress: bool) -> tuple[nn.Sequential, dict[str, Any]]:
    """:func:`load_or_train`'s training: target ``name`` trained on ``data`` (default: its own
    dataset), saved in ``weights_dir`` (replacing what is there), in eval mode, and its metadata."""
    target = spec(name)
    ds = datasets.load(data or target.data, target.input_shape)
    net, meta = train(target, ds, epochs, seed, samples, progress)
    save(net, meta, name, weights_dir)
    return net.eval(), meta
