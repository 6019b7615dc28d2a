"""Measured DP sweep on a trained target (torch): accuracy and attacker SSIM versus epsilon.

For a split after ``layer`` (head = trusted local part, tail = remote part) and each epsilon:

* ``B`` = median ``||f(x)||_inf`` over 100 random training samples (:func:`.dp.calibrate_bound`);
* accuracy of the original tail on privatised test features (Algorithm 1, fresh noise);
* accuracy after *noisy fine-tuning* of the tail (ARDEN-style, best reading of Ryu et al.):
  ``loss = CE(t(x~), y) + CE(t(x~ + n), y)`` with ``n ~ Lap(2B/eps)``, Adam, starting from the
  trained tail, once per epsilon; the undefended and clip-only rows get the same schedule without
  noise, so the loss compares equally trained tails;
* black-box inversion (He et al., :mod:`optdist.attacks.inversion`) by a noise-aware adversary:
  the privacy-table attacker (:class:`~optdist.attacks.attacker.Attacker`: the same images,
  budget, architecture and scored test images as the calibration; :func:`attacker_for` takes
  the one a table records, or the project's calibration attacker if that is stronger) trained
  on privatised features of its own samples and scored by SSIM on privatised features of its
  held-out test images. Without noise (row ``plain``) it is exactly the calibration's all-maps
  attack, so that row reproduces the table's ``m = P`` cell;
* white-box rMLE (the attack of Ryu et al.; He et al.'s regularised MLE): gradient descent on the
  input, ``min_x mean((f(x) - x*)^2) + lambda TV(x)``, ``x`` in [0, 1], scored by SSIM on the
  first ``rmle_samples`` of the same test images.
"""

from __future__ import annotations

import copy
import hashlib
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from optdist import zoo
from optdist.attacks import datasets, inversion, targets
from optdist.attacks.attacker import CALIBRATION, Attacker, for_table
from optdist.defences import dp
from optdist.jsonfile import quoted
from optdist.privacy import resolve_table


@dataclass(frozen=True)
class SweepConfig:
    """Sizes and schedules of one sweep.

    ``eps`` is the noisy grid; the sweep adds ``None`` (plain split) and ``inf`` (clipping only).
    ``attacker``: the black-box adversary (default: the calibration attacker; see :func:`attacker_for`).
    """

    cnn: str = "lenet"
    layers: tuple[str, ...] = ("pool1", "ReLU2")
    eps: tuple[float, ...] = (1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 15.0, 20.0, 30.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 5000.0)
    finetune_samples: int = 10000
    finetune_epochs: int = 1
    finetune_lr: float = 1e-3
    accuracy_samples: int = 10000
    attacker: Attacker = CALIBRATION
    rmle_samples: int = 100
    rmle_steps: int = 200
    rmle_lr: float = 0.05
    rmle_tv: float = 0.01
    seed: int = 0
    threads: int = 1
    weights_dir: str | None = None
    #: the target's training epochs and images where no trained weights are found (None: the
    #: target's defaults); a target shrunk so (``--quick``) is kept in a cache folder of its own
    target_epochs: int | None = None
    target_samples: int | None = None

    def __post_init__(self) -> None:
        """Refuse a target, split layers or a noisy grid the sweep cannot use
        (:class:`SweepConfigError`), before any training or data loading: an unknown layer failed
        after the target was loaded and the progress bar had started; a layer listed twice was
        measured twice (the run's time doubled for it) and its first rows dropped from the result;
        nan, 0 or a negative budget after the first layer's plain and clipped rows."""
        names = layer_names(self.cnn)
        ok = split_layers(self.cnn)
        bad_layers = [la for la in self.layers if la not in ok]
        if bad_layers or not self.layers:
            why = {la: ("is not a layer of " + self.cnn if la not in names else split_refusal(self.cnn, la))
                   for la in bad_layers}
            said = "; ".join(f"{quoted([la])} {w}" for la, w in why.items()) if bad_layers else "no layer given"
            raise SweepConfigError("layers", list(self.layers), f"{said} (fix: give split layers from {quoted(ok)})")
        twice = sorted({la for la in self.layers if self.layers.count(la) > 1}, key=self.layers.index)
        if twice:  # each layer's result is keyed by its name: a repeat measured it again and kept only the last
            raise SweepConfigError("layers", list(self.layers), f"{quoted(twice)} "
                                   f"{'is' if len(twice) == 1 else 'are'} listed more than once "
                                   "(fix: give each split layer once)")
        bad = [e for e in self.eps if not dp.eps_ok(e)]
        if bad:  # an empty grid is allowed: the plain and clipped rows only
            raise SweepConfigError("eps", list(self.eps), f"the noisy grid takes {dp.EPS_RULE} (fix: give "
                                   "e.g. 1 10 100; the sweep adds the plain split and clipping only, eps = inf, itself)")
        twice = sorted({e for e in self.eps if self.eps.count(e) > 1})
        if twice:  # each eps is one row: a repeat measured it again (minutes) and printed it twice
            raise SweepConfigError("eps", list(self.eps), f"{', '.join(f'{e:g}' for e in twice)} "
                                   f"{'is' if len(twice) == 1 else 'are'} given more than once (fix: give each eps once)")


class SweepConfigError(ValueError):
    """A :class:`SweepConfig` field the sweep cannot use: ``field`` (``cnn``, ``layers``, ``eps``),
    its ``value``, and ``reason`` (what is wrong and the fix); ``optdist dp-sweep`` names the flag."""

    def __init__(self, field: str, value: Any, reason: str):
        super().__init__(f"{field} {value}: {reason}")
        self.field, self.value, self.reason = field, value, reason


def layer_names(cnn: str) -> list[str]:
    """The layers of the trainable target ``cnn`` a sweep can split after, in order (the net's
    ``nn.Sequential`` children; built, no weights loaded). Raises :class:`SweepConfigError`
    (field ``cnn``) for a name not in :data:`optdist.attacks.targets.TARGETS`."""
    if cnn not in targets.TARGETS:
        raise SweepConfigError("cnn", cnn, f"not a trainable target (fix: choose from {quoted(sorted(targets.TARGETS))})")
    return [name for name, _ in targets.spec(cnn).build(10).named_children()]  # the class count leaves names alone


def _layer_facts(cnn: str) -> list[tuple[str, bool, bool]]:
    """``(name, maps, trainable_after)`` of each layer of ``cnn``: whether its output is a stack of
    feature maps ``(C, H, W)`` and whether a layer with weights follows it (a zero image through
    the built net; no weights loaded)."""
    layer_names(cnn)  # an unknown cnn: SweepConfigError naming the targets
    net = targets.spec(cnn).build(10)
    x = torch.zeros((1, *targets.spec(cnn).input_shape))
    children = list(net.named_children())
    out = []
    with torch.no_grad():
        for i, (name, layer) in enumerate(children):
            x = layer(x)
            after = any(p.requires_grad for _, rest in children[i + 1:] for p in rest.parameters())
            out.append((name, x.dim() == 4, after))
    return out


def split_layers(cnn: str) -> list[str]:
    """The layers of ``cnn`` a sweep can split after: their output is a stack of feature maps (the
    black-box attacker's decoder and the map statistics read ``(C, H, W)``) and a layer with
    weights follows (the noisy fine-tuning trains the tail). ``flatten`` and the fc layers of
    lenet failed after the target was loaded ("not enough values to unpack"; the last layer:
    "optimizer got an empty parameter list")."""
    return [name for name, maps, after in _layer_facts(cnn) if maps and after]


def split_refusal(cnn: str, layer: str) -> str:
    """Why the sweep cannot split ``cnn`` after its layer ``layer`` (one of :func:`layer_names`)."""
    name, maps, after = next(f for f in _layer_facts(cnn) if f[0] == layer)
    if not after:
        return "has no layer with weights after it (the noisy fine-tuning trains the tail)"
    return "does not output feature maps (C, H, W) (the black-box attacker's decoder inverts maps)"


def laplace_like(x: torch.Tensor, scale: float, gen: torch.Generator) -> torch.Tensor:
    """I.i.d. ``Lap(scale)`` noise shaped like ``x``: ``scale (E1 - E2)``, ``E = -log(1 - U)`` standard exponentials."""
    e = -torch.log1p(-torch.rand((2, *x.shape), generator=gen, dtype=x.dtype))
    return scale * (e[0] - e[1])


def clip_rescale(z: torch.Tensor, bound: float) -> torch.Tensor:
    """Per-sample global rescale ``z / max(1, ||z||_inf / B)`` (Algorithm 1, step 3)."""
    s = z.flatten(1).abs().amax(1).div(bound).clamp_min(1.0)
    return z / s.view(-1, *([1] * (z.dim() - 1)))


def privatize(z: torch.Tensor, bound: float, eps: float | None, gen: torch.Generator) -> torch.Tensor:
    """Algorithm 1 on a batch; ``eps=None``: the plain split (no clipping); ``eps=inf``: clipping only."""
    if eps is None:
        return z
    zt = clip_rescale(z, bound)
    return zt if math.isinf(eps) else zt + laplace_like(zt, dp.laplace_scale(eps, bound), gen)


@torch.no_grad()
def tail_accuracy(tail: nn.Module, z: torch.Tensor, y: torch.Tensor, batch: int = 1000) -> float:
    tail.eval()
    hits = sum(int((tail(z[i : i + batch]).argmax(1) == y[i : i + batch]).sum()) for i in range(0, len(z), batch))
    return hits / len(z)


def noisy_finetune(
    tail: nn.Module,
    z: torch.Tensor,
    y: torch.Tensor,
    bound: float,
    eps: float | None,
    cfg: SweepConfig,
    gen: torch.Generator,
) -> nn.Module:
    """Copy of ``tail`` fine-tuned on clean-and-noisy features: ``CE(t(x~)) + CE(t(privatize(x)))``.

    ``eps=None``/``inf``: the same schedule on plain/clipped features (a noise-free control).
    """
    t = copy.deepcopy(tail).train()
    opt = torch.optim.Adam(t.parameters(), lr=cfg.finetune_lr)
    zt = z if eps is None else clip_rescale(z, bound)
    for _ in range(cfg.finetune_epochs):
        order = torch.randperm(len(zt), generator=gen)
        for i in range(0, len(zt), 64):
            idx = order[i : i + 64]
            zb = zt[idx]
            noisy = zb if eps is None or math.isinf(eps) else zb + laplace_like(zb, dp.laplace_scale(eps, bound), gen)
            loss = nn.functional.cross_entropy(t(zb), y[idx]) + nn.functional.cross_entropy(t(noisy), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return t.eval()


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Mean squared horizontal plus vertical neighbour differences (He et al.'s TV)."""
    return (x[..., 1:, :] - x[..., :-1, :]).pow(2).mean() + (x[..., :, 1:] - x[..., :, :-1]).pow(2).mean()


def rmle(head: nn.Module, target: torch.Tensor, shape: tuple[int, ...], cfg: SweepConfig) -> np.ndarray:
    """White-box rMLE: Adam on ``x = sigmoid(w)`` minimising ``mean((f(x) - x*)^2) + lambda TV(x)``."""
    head.eval()
    w = torch.zeros((len(target), *shape), requires_grad=True)
    opt = torch.optim.Adam([w], lr=cfg.rmle_lr, amsgrad=True)
    for _ in range(cfg.rmle_steps):
        x = torch.sigmoid(w)
        loss = (head(x) - target).pow(2).mean() + cfg.rmle_tv * total_variation(x)
        (g,) = torch.autograd.grad(loss, w)  # only the input is optimised; the head's weights stay untouched
        w.grad = g
        opt.step()
    return torch.sigmoid(w).detach().double().numpy()


def attacker_for(cnn: str, table: str | None = None) -> tuple[Attacker, dict[str, Any]]:
    """The sweep's attacker for comparison with privacy table ``table`` of ``cnn`` (a bundled name or a path).

    :func:`~optdist.attacks.attacker.for_table`: the attacker the table records in its provenance,
    or the calibration attacker where that is stronger (or the table records none). Returns it and
    a JSON-ready note of where it came from. Raises FileNotFoundError / ValueError for a missing or
    invalid table.
    """
    t = None if table is None else resolve_table(cnn, table)
    chosen, rule = for_table(None if t is None else t.provenance)
    recorded = None if t is None else Attacker.from_provenance(t.provenance)
    return chosen, {"privacy_table": None if t is None else f"{cnn}/{t.name} ({table})",
                    "table_attacker": None if recorded is None else recorded.record(), "rule": rule}


def load_target(cfg: SweepConfig) -> tuple[nn.Sequential, dict[str, Any]]:
    """The trained target: the shared ``models/weights`` copy if present, else trained into the
    cache, ``defences-weights``; one trained with ``cfg.target_epochs`` / ``cfg.target_samples``
    (``--quick``: minutes less for a target without bundled weights, e.g. cifar) into
    ``defences-weights-e<epochs>-n<samples>``, so that it never stands in for a fully trained one."""
    try:
        return targets.load(cfg.cnn, cfg.weights_dir)
    except FileNotFoundError:
        shrunk = cfg.target_epochs is not None or cfg.target_samples is not None
        folder = "defences-weights" + (f"-e{cfg.target_epochs}-n{cfg.target_samples}" if shrunk else "")
        # optdist's own cache: a half-written pair there is retrained over (force), not refused
        return targets.load_or_train(cfg.cnn, datasets.cache_dir() / folder, epochs=cfg.target_epochs,
                                     samples=cfg.target_samples, progress=False, force=True)


def sweep_layer(net: nn.Sequential, ds: datasets.Dataset, layer: str, cfg: SweepConfig, bar: tqdm) -> dict[str, Any]:
    """All measurements for one split layer: rows of mode ``plain`` (undefended), ``clip``, then ``dp`` per eps."""
    head, tail = zoo.split_at(net, layer)
    gen = torch.Generator().manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    tr, te = ds["train"], ds["test"]
    z_tr = inversion.features(head, tr.x[: cfg.finetune_samples])
    y_tr = torch.from_numpy(tr.y[: cfg.finetune_samples])
    z_te = inversion.features(head, te.x[: cfg.accuracy_samples])
    y_te = torch.from_numpy(te.y[: cfg.accuracy_samples])
    x_att, x_sc = cfg.attacker.adversary(ds).x, cfg.attacker.scored(ds).x
    z_att, z_sc = inversion.features(head, x_att), inversion.features(head, x_sc)
    x_wb = x_sc[: cfg.rmle_samples]
    bound = dp.calibrate_bound(z_tr.numpy(), rng=rng)
    q = dp.map_mean_square(z_tr[:1000].numpy(), bound) if z_tr.dim() == 4 else None
    rows = []
    for eps in (None, math.inf, *cfg.eps):
        t0 = time.perf_counter()
        mode = "plain" if eps is None else ("clip" if math.isinf(eps) else "dp")
        row: dict[str, Any] = {"mode": mode, "eps": eps if mode == "dp" else None}
        row["acc_noisy"] = tail_accuracy(tail, privatize(z_te, bound, eps, gen), y_te)
        ft = noisy_finetune(tail, z_tr, y_tr, bound, eps, cfg, gen)
        row["acc_finetuned"] = tail_accuracy(ft, privatize(z_te, bound, eps, gen), y_te)
        _, recon = inversion.attack(cfg.attacker, privatize(z_att, bound, eps, gen), x_att, privatize(z_sc, bound, eps, gen))
        ssim, psnr = inversion.score(recon, x_sc)
        row |= {"ssim_blackbox": float(ssim.mean()), "ssim_blackbox_std": float(ssim.std())}
        row["psnr_blackbox"] = float(psnr.mean())
        rec = rmle(head, privatize(z_sc[: len(x_wb)], bound, eps, gen), tuple(x_wb.shape[1:]), cfg)
        ssim_w, psnr_w = inversion.score(rec, x_wb)
        row |= {"ssim_whitebox": float(ssim_w.mean()), "ssim_whitebox_std": float(ssim_w.std())}
        row["psnr_whitebox"] = float(psnr_w.mean())
        if mode == "dp":
            st = dp.noise_stats(eps, bound, tuple(z_tr.shape[-2:]) if z_tr.dim() == 4 else (1, z_tr.shape[-1]), q)
            row["sigma_over_B"] = st["sigma_over_B"]
            if q is not None:
                row["median_map_snr_db"] = float(np.median(st["snr_db"]))
        row["seconds"] = round(time.perf_counter() - t0, 1)
        rows.append(row)
        bar.set_postfix(layer=layer, eps=eps, ssim=f"{row['ssim_blackbox']:.3f}", acc=f"{row['acc_finetuned']:.3f}")
        bar.update(1)
    crest = None if q is None else float(np.median(q)) / bound**2
    return {"layer": layer, "shape": list(z_tr.shape[1:]), "bound": bound, "median_q_over_B2": crest, "rows": rows}


def attack_code_id() -> str:
    """Which version of the attack suite measured the black-box SSIM (it is developed alongside)."""
    src = Path(inversion.__file__).read_bytes()
    return f"optdist/attacks/inversion.py sha256 {hashlib.sha256(src).hexdigest()[:12]}"


def run_sweep(cfg: SweepConfig, progress: bool = True, attacker_source: dict[str, Any] | None = None) -> dict[str, Any]:
    """Sweep every layer of ``cfg``; returns a JSON-ready result with provenance.

    ``attacker_source``: where ``cfg.attacker`` came from (:func:`attacker_for`), recorded as is.
    """
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    net, meta = load_target(cfg)
    target = targets.spec(cfg.cnn)
    ds = datasets.load(meta.get("data_spec", target.data), target.input_shape)  # as calibrate does
    bar = tqdm(total=len(cfg.layers) * (len(cfg.eps) + 2), desc="dp-sweep", disable=not progress)
    t0 = time.perf_counter()
    layers = [sweep_layer(net, ds, la, cfg, bar) for la in cfg.layers]
    bar.close()
    return {
        "format": "optdist-dp-measured/1",
        "cnn": cfg.cnn,
        "dataset": ds.name,
        "baseline_acc": meta.get("test_accuracy"),
        "config": asdict(cfg),
        "target": meta,
        "seconds": round(time.perf_counter() - t0, 1),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "attack_code": attack_code_id(),
        "attacker": cfg.attacker.record(),
        "attacker_source": attacker_source or {"rule": "given"},
        "layers": {la["layer"]: la for la in layers},
    }


