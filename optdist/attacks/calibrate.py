"""Calibrate a privacy table: black-box inversion of ``m`` of ``P`` maps, per attacked layer.

For each layer and each ``m`` in ``P, P/2, ..., 1`` the adversary attacks ``subsets`` random
``m``-subsets of the maps (one subset when ``m = P``) with ``seeds`` training seeds each.
With ``s_a`` the mean test SSIM of attack ``a`` (see :mod:`optdist.attacks.inversion`):

    cell(m) = mean_a s_a,   spread(m) = std_a s_a (population),   psnr(m) = mean_a PSNR_a

The result is a :class:`~optdist.privacy.PrivacyTable` with provenance, a PNG grid of
originals and reconstructions (He et al.'s Fig. 2) and, where the CNN has a layer profile,
the Nf / split point it implies at each tau (MODEL.md section 6).

The target is a zoo CNN (:mod:`optdist.attacks.targets`, trained on its dataset) or a user's
network (``Config.module``: a builder as ``optdist profile --module`` takes it, optional
``state_dict`` weights and profile file), attacked at the tensor of any profile layer, a DAG's
``add`` / ``concat`` included (MODEL.md section 9), on the user's image folder or a bundled set.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import math
import multiprocessing
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from optdist.attacks import datasets, inversion, targets
from optdist.attacks.attacker import CALIBRATION, Attacker
from optdist.io import atomic_write_bytes, atomic_write_json, atomic_write_text
from optdist.jsonfile import quoted, text_of
from optdist.privacy import PrivacyRow, PrivacyTable, privacy_limits, table_path
from optdist.profiles import Profile, available_cnns, load_profile

log = logging.getLogger(__name__)

TAUS = (0.8, 0.6, 0.4)
#: Fewest test images whose mean SSIM a table cell may rest on without a warning. A cell's standard
#: error is the per-image SSIM spread / sqrt(n) (measured by priv32 on the bundled LeNet, 2,000
#: images, 3 epochs, 500 test images: spread 0.030 at conv1, 0.067 at ReLU2, so 0.006-0.012 at 30
#: images). Below 30 that error cannot be stated: the spread is estimated from the same few images
#: (its relative error about 1/sqrt(2(n-1)), over 13%; none at all from one image), and the normal
#: reading of a mean (mean +- 2 SE) is the textbook's from 30 on; a table rests on such cells silently.
MIN_TEST_IMAGES = 30


@dataclass
class Config:
    """One calibration sweep (defaults: the shipped LeNet table; attacker: :data:`~optdist.attacks.attacker.CALIBRATION`)."""

    target: str = "lenet"  # a zoo target (:data:`~optdist.attacks.targets.TARGETS`); unused with ``module``
    layers: tuple[str, ...] = ()  # empty: the target's default attacked layers
    maps: tuple[int, ...] = ()  # empty: P, P/2, ..., 1; P is always measured
    subsets: int = 3
    seeds: int = 1
    epochs: int = CALIBRATION.epochs
    samples: int = CALIBRATION.samples
    test_samples: int = CALIBRATION.test_samples
    name: str = "calibrated"
    data: str | None = None  # dataset spec; default: the one the target was trained on
    weights_dir: str | None = None
    target_epochs: int | None = None
    target_samples: int | None = None
    show: int = 8
    command: str = ""
    module: str | None = None  # a user's network: pkg.mod:builder or file.py:builder (optdist profile --module)
    network: str = ""  # with module: the table's network name ("": the profile's)
    weights: str | None = None  # its state_dict file (default: the builder's initial weights)
    profile: str | None = None  # its profile file (layer and network names; input shape)
    input_shape: tuple[int, ...] | None = None  # (C, H, W) when no profile file is given
    images: str | None = None  # a folder of the user's images (attack / test split by split_seed)
    split_seed: int = 0
    test_fraction: float = 0.2
    force: bool = False  # a zoo target's .pt without its .json (or the reverse): train and replace it

    def attacker(self) -> Attacker:
        """The attacker of this sweep (its first training seed; seeds ``0..seeds-1`` are averaged)."""
        return dataclasses.replace(CALIBRATION, samples=self.samples, epochs=self.epochs, test_samples=self.test_samples)


@dataclass(frozen=True)
class Attack:
    """One inverse network: the maps it saw and its mean test SSIM / PSNR."""

    layer: str
    m: int
    maps: tuple[int, ...]
    seed: int
    ssim: float
    psnr: float


@dataclass
class Calibration:
    table: PrivacyTable
    attacks: list[Attack]
    originals: np.ndarray  # (show, C, H, W) uint8
    recons: dict[tuple[str, int], np.ndarray]  # (layer, m) -> first reconstructions (show, C, H, W)
    profile: Profile | None = None  # a user's network's profile (None: the zoo profile of table.cnn, if any)


def map_counts(P: int, maps: tuple[int, ...] = ()) -> list[int]:
    """Columns for a tensor of ``P`` maps: ``maps`` capped at P, or P, P/2, ..., 1; P always included."""
    if not maps:
        maps = tuple(P >> i for i in range(int(math.log2(P)) + 1))
    return sorted({m for m in maps if 0 < m <= P} | {P}, reverse=True)


def check_maps(maps: tuple[int, ...], counts: dict[str, int]) -> None:
    """ValueError naming ``--maps``, the attacked layers' map counts and the fix where an m value of
    ``maps`` is above every count P of ``counts`` (attacked layer -> P): it would be measured on no
    layer (``--maps 999`` was a warning, the run measured only m = P). One above some layers' P is
    measured on the others (:func:`run` warns of the layers it is left out on)."""
    most = max(counts.values())
    over = [m for m in maps if m > most]
    if over:
        kept = tuple(m for m in maps if m <= most)
        raise ValueError(f"--maps {','.join(map(str, maps))}: {','.join(map(str, over))} "
                         f"{'is' if len(over) == 1 else 'are'} more maps than any attacked layer has "
                         f"({', '.join(f'{layer}: {P}' for layer, P in counts.items())}), so no layer could be attacked "
                         f"with {'it' if len(over) == 1 else 'them'} (fix: give m values of at most {most}, e.g. --maps "
                         f"{','.join(map(str, map_counts(most, kept)))}, or leave --maps out for P, P/2, ..., 1)")


def choose_subsets(P: int, m: int, k: int, rng: np.random.Generator) -> list[tuple[int, ...]]:
    """``k`` distinct random m-subsets of range(P) (all of them if there are at most k)."""
    if math.comb(P, m) <= k:
        return list(combinations(range(P), m))
    chosen: set[tuple[int, ...]] = set()
    while len(chosen) < k:
        chosen.add(tuple(sorted(rng.choice(P, m, replace=False).tolist())))
    return sorted(chosen)


def run(cfg: Config, progress: bool = True, jobs: int = 1,
        before_attacks: Callable[[str], None] | None = None) -> Calibration:
    """Train (or load) the target, then attack every (layer, m, subset, seed); build the table.

    ``jobs > 1`` spreads the attacks over that many processes with one torch thread each.
    ``before_attacks(name)`` runs once the table's network name is known, before the attacks (e.g.
    ``optdist calibrate`` refusing to replace :func:`output_paths` without ``--force``); what it
    raises ends the run.
    """
    t0 = time.perf_counter()
    network, net, ds, record, default_layers = _target(cfg, progress)
    attacker = cfg.attacker()
    adv, test = attacker.adversary(ds), attacker.scored(ds)
    if isinstance(network, targets.UserNetwork):  # a bundled dataset in the user's network's input shape
        adv, test = (datasets.conform(s, network.profile.input_shape) for s in (adv, test))
    win = ssim_window(tuple(test.x.shape[1:]))
    warnings = _weak_setup(cfg, attacker, len(adv), len(test), ds, record)
    for w in warnings:
        log.warning("%s", w)
    attacker = dataclasses.replace(attacker, samples=len(adv), test_samples=len(test))  # as drawn (small sets: all)
    counts = {layer: network.maps(layer, inversion.features(network.head(net, layer), test.x[:1]))
              for layer in cfg.layers or default_layers}
    check_maps(cfg.maps, counts)  # a user's network's layers (a zoo target's: before it is trained, _target)
    plan = []
    for layer, P in counts.items():
        if any(m > P for m in cfg.maps):
            log.warning("--maps %s: layer %s has %d maps, so %s are left out there (all %d maps are always measured)",
                        ",".join(map(str, cfg.maps)), layer, P, ",".join(str(m) for m in cfg.maps if m > P), P)
        for m in map_counts(P, cfg.maps):
            for seed in range(cfg.seeds):
                rng = np.random.default_rng([seed, P, m])
                plan += [(layer, m, s, seed) for s in choose_subsets(P, m, cfg.subsets, rng)]
    init = (network, net.state_dict(), adv.x, test.x, attacker, cfg.show, win)
    attacks: list[Attack] = []
    recons: dict[tuple[str, int], np.ndarray] = {}
    name = (cfg.network or network.profile.cnn) if isinstance(network, targets.UserNetwork) else cfg.target
    if before_attacks is not None:
        before_attacks(name)
    with _executor(jobs, init) as pool:
        done = pool.map(_attack, plan, chunksize=1) if pool else map(_attack, plan)
        for attack, recon in tqdm(done, total=len(plan), desc=f"invert {name}", unit="net", disable=not progress):
            attacks.append(attack)
            recons.setdefault((attack.layer, attack.m), recon)
    baseline = float(inversion.score(np.broadcast_to(adv.x.astype(np.float64).mean(0) / 255.0, test.x.shape),
                                     test.x, win)[0].mean())
    weak = _no_better_than(attacks, baseline)
    if weak:
        log.warning("%s", weak)
        warnings.append(weak)
    table = _table(cfg, name, attacks, record, ds, attacker, time.perf_counter() - t0, jobs, win, warnings)
    profile = network.profile if isinstance(network, targets.UserNetwork) else None
    return Calibration(table, attacks, test.x[: cfg.show], recons, profile)


def _target(
    cfg: Config, progress: bool
) -> tuple[targets.ZooNetwork | targets.UserNetwork, torch.nn.Module, datasets.Dataset, dict[str, Any], tuple[str, ...]]:
    """The attacked network, its module (eval, weights loaded), the images, a provenance record and the default layers.

    A user's network (``cfg.module``) is attacked on ``cfg.images`` or a bundled ``cfg.data`` (one
    of them is required); by default every layer but the last (the output stays on the source).
    A zoo target is trained first if its weights are missing and attacked on its own dataset
    (or ``cfg.images``).
    """
    if cfg.images and cfg.data:
        raise ValueError(f"--images {cfg.images} and --data {cfg.data}: give the attacker's images one way, not both "
                         f"(fix: leave --data out to attack with your images, or --images out to use the bundled set)")
    if cfg.module:
        network, net, record = targets.load_user_network(cfg.module, cfg.input_shape, cfg.profile, cfg.weights)
        shape = network.profile.input_shape
        if cfg.images:
            ds = datasets.load_images(cfg.images, shape, cfg.test_fraction, cfg.split_seed)
        elif cfg.data:
            ds = datasets.load(cfg.data, shape)
        else:
            raise ValueError(f"--module {cfg.module}: give the attacker's images, --images DIR (your PNG/JPEG files) "
                             "or --data SPEC (a bundled dataset, e.g. natural or mnist)")
        return network, net, ds, record, tuple(la.name for la in network.profile.layers[:-1])
    target = targets.spec(cfg.target)
    layers = targets.attackable_layers(cfg.target)
    unknown = [la for la in cfg.layers if la not in layers]
    if unknown:  # before the target's weights are read or trained, not when the table is written
        raise ValueError(f"--layers {','.join(cfg.layers)}: target {cfg.target} has no attackable layer "
                         f"{quoted(unknown)}; its layers (maps): "
                         f"{', '.join(f'{k} ({P})' for k, P in layers.items())} (fix: name some of these)")
    check_maps(cfg.maps, {la: layers[la] for la in cfg.layers or target.layers})  # before it is trained
    if cfg.data:  # before the target's weights are read or trained, and before its 'trained on' check names it
        datasets.check_spec(cfg.data)
    net, meta = targets.load_or_train(
        cfg.target, cfg.weights_dir, cfg.data, cfg.target_epochs, samples=cfg.target_samples, progress=progress,
        force=cfg.force,
    )
    trained_on = meta.get("data_spec", target.data)
    if cfg.images:
        ds = datasets.load_images(cfg.images, target.input_shape, cfg.test_fraction, cfg.split_seed)
    else:
        if cfg.data and cfg.data != trained_on:
            raise ValueError(
                f"target {cfg.target} was trained on {text_of(trained_on)}, not {text_of(cfg.data)} (fix: "
                f"`optdist train-target {cfg.target} --data {cfg.data} --weights-dir DIR`, then give --weights-dir DIR "
                f"here; or train-target's --force replaces the weights in "
                f"{targets.weights_paths(cfg.target, cfg.weights_dir)[0].parent})"
            )
        ds = datasets.load(trained_on, target.input_shape)
        targets.check_shape(ds, target)
    record = {k: meta.get(k) for k in ("dataset", "test_accuracy", "epochs", "seed", "train_samples", "data",
                                       "num_classes")}
    record["weights_sha256"] = meta.get("weights_sha256")
    if record["weights_sha256"] is None:  # a sidecar not tied to its .pt: its accuracy may not be these weights'
        pt, sidecar = targets.weights_paths(cfg.target, cfg.weights_dir)
        said = f"{sidecar} records no sha256 of {pt} (\"weights_sha256\"), so its test_accuracy {meta.get('test_accuracy')} "
        fix = (f"(fix: `optdist train-target {cfg.target} --force"
               f"{'' if cfg.weights_dir is None else f' --weights-dir {cfg.weights_dir}'}` writes both files, the hash "
               "included)")
        if cfg.images:
            record["test_accuracy"] = None
            log.warning("%sis not known to be theirs and cannot be measured on --images (no labels); the provenance "
                        "records none %s", said, fix)
        else:
            measured = round(targets.accuracy(net, ds["test"]), 4)
            record["test_accuracy"] = measured
            record["test_accuracy_measured"] = f"on {len(ds['test'])} {ds.name} test images: the sidecar records no sha256"
            log.warning("%sis not known to be theirs: measured %g on %d %s test images, recorded in the provenance %s",
                        said, measured, len(ds["test"]), ds.name, fix)
    return targets.ZooNetwork(cfg.target, int(meta["num_classes"])), net, ds, record, target.layers


_STATE: dict[str, Any] = {}


def _init_worker(
    network: targets.ZooNetwork | targets.UserNetwork,
    state: dict,
    adv: np.ndarray,
    test: np.ndarray,
    attacker: Attacker,
    show: int,
    win: int,
    threads: int,
) -> None:
    """Per-process attack state: the target net, the adversary's and the test images."""
    if threads:
        torch.set_num_threads(threads)
    net = network.build()
    net.load_state_dict(state)
    _STATE.clear()
    _STATE.update(network=network, net=net.eval(), adv=adv, test=test, attacker=attacker, show=show, win=win,
                  layer=None)


def _attack(job: tuple[str, int, tuple[int, ...], int]) -> tuple[Attack, np.ndarray]:
    """Train one inverse network on maps ``job[2]`` of layer ``job[0]`` and score it."""
    layer, m, maps, seed = job
    st = _STATE
    if st["layer"] != layer:  # plans are grouped by layer: features once per layer and process
        head = st["network"].head(st["net"], layer)
        z, zt = inversion.features(head, st["adv"]), inversion.features(head, st["test"])
        P = st["network"].maps(layer, zt)
        st.update(layer=layer, z=z, zt=zt, P=P)
    sel = list(maps)
    z, zt = (inversion.select_maps(v, st["P"], sel) for v in (st["z"], st["zt"]))
    _, recon = inversion.attack(st["attacker"], z, st["adv"], zt, seed)
    ssim, psnr = inversion.score(recon, st["test"], st["win"])
    return Attack(layer, m, maps, seed, float(ssim.mean()), float(psnr.mean())), recon[: st["show"]]


@contextmanager
def _executor(jobs: int, init: tuple) -> Iterator[ProcessPoolExecutor | None]:
    """A pool of ``jobs`` one-thread worker processes, or None (run in this process) for one job."""
    if jobs <= 1:
        _init_worker(*init, threads=0)
        yield None
        return
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init_worker, initargs=(*init, 1)) as pool:
        yield pool


def _table(
    cfg: Config,
    name: str,
    attacks: list[Attack],
    record: dict[str, Any],
    ds: datasets.Dataset,
    attacker: Attacker,
    secs: float,
    jobs: int,
    win: int = 7,
    warnings: list[str] | None = None,
) -> PrivacyTable:
    rows = []
    for layer in dict.fromkeys(a.layer for a in attacks):
        mine = [a for a in attacks if a.layer == layer]
        P = max(a.m for a in mine)
        cells, spread, psnr = {}, {}, {}
        for m in sorted({a.m for a in mine}, reverse=True):
            s = np.array([a.ssim for a in mine if a.m == m])
            # SSIM lies in [-1, 1]; a table cell in [0, 1]: a negative mean (anti-correlated, no leak) reads 0
            cells[m] = round(max(float(s.mean()), 0.0), 4)
            spread[m] = round(float(s.std()), 4)
            psnr[m] = round(float(np.mean([a.psnr for a in mine if a.m == m])), 2)
        n = {m: sum(a.m == m for a in mine) for m in cells}
        rows.append(
            PrivacyRow(tensor=layer, maps=P, cells=cells, spread=spread, psnr=psnr, note=f"attacks per cell: {n}")
        )
    provenance = {
        "source": "optdist calibrate: black-box inverse network (He et al., ACSAC'19) on m of P maps",
        "command": cfg.command,
        "date": date.today().isoformat(),
        "data": ds.source,
        "adversary_samples": _adversary(ds, attacker),
        "test_samples": attacker.test_samples,
        "target": record,
        "attack": {
            "decoder": "transposed-conv decoder sized from the tensor shape (optdist.attacks.inversion.decoder)",
            "loss": "MSE",
            "optimizer": f"Adam lr {attacker.lr}, batch {attacker.batch}, cosine decay",
            "epochs": cfg.epochs,
            "subsets": cfg.subsets,
            "seeds": cfg.seeds,
        },
        "attacker": attacker.record(),
        "metric": f"mean SSIM (skimage structural_similarity, data_range=1, {win}x{win} window), PSNR in dB; float64",
        "cells": "mean over subsets x seeds; spread = population std over the same attacks",
        "seconds": round(secs, 1),
        "processes": jobs,
        "torch_threads": 1 if jobs > 1 else torch.get_num_threads(),
    }
    if win != 7:
        provenance["ssim_window"] = f"{win}x{win}: the images are smaller than skimage's default 7x7 window"
    if warnings:  # what makes the table weak evidence; optdist validate repeats them
        provenance["warnings"] = list(warnings)
    return PrivacyTable(cnn=name, name=cfg.name, provenance=provenance, rows=rows)


def ssim_window(shape: tuple[int, ...]) -> int:
    """SSIM's window side for images of ``shape`` (C, H, W): skimage's default 7, or the largest odd
    side that fits a smaller image; ValueError for images under 3x3 (no SSIM window fits)."""
    side = min(shape[-2:])
    if side < 3:
        raise ValueError(f"the network's input is {shape[-2]}x{shape[-1]} pixels: SSIM needs at least 3x3 (its "
                         "window is odd and above 1) (fix: attack a network whose input is at least 3x3, e.g. --input 1,7,7)")
    return min(7, side if side % 2 else side - 1)


def _weak_setup(cfg: Config, attacker: Attacker, n_adv: int, n_test: int, ds: datasets.Dataset,
                record: dict[str, Any]) -> list[str]:
    """Warnings, found before the attacks, that the table will be weak evidence: fewer images than
    asked for (a count other than the default, which takes all of a smaller set silently), one
    optimiser step per epoch, a target near chance accuracy."""
    out = []
    src = f"{text_of(ds.spec or ds.name)} ({ds.source})"
    if n_adv < cfg.samples != CALIBRATION.samples:  # the default means "up to 5000": all of a small set
        out.append(f"--samples {cfg.samples}: only {n_adv} adversary images are available in {src}; the attacks "
                   f"train on {n_adv} and the table records {n_adv}")
    if n_test < cfg.test_samples != CALIBRATION.test_samples:
        out.append(f"--test-samples {cfg.test_samples}: only {n_test} test images are available in {src}; the "
                   f"attacks are scored on {n_test}")
    if n_test < MIN_TEST_IMAGES:
        out.append(f"the attacks are scored on {n_test} test image(s), fewer than {MIN_TEST_IMAGES}: the standard error of "
                   "a cell's mean SSIM (per-image spread / sqrt(n)) cannot be stated from so few images (the spread "
                   "is estimated from them too), so a cell may read below tau by chance (fix: score on "
                   f"more, e.g. --test-samples {CALIBRATION.test_samples}, or more --images / a larger --test-fraction)")
    if n_adv <= attacker.batch:
        out.append(f"the inverse networks train on {n_adv} image(s), {'fewer than' if n_adv < attacker.batch else 'exactly'} "
                   f"one batch of {attacker.batch}: one optimiser step per epoch, {cfg.epochs} in all; such attacks "
                   "recover little, so the table understates what an attacker recovers and lifts privacy limits "
                   "(fix: more images, e.g. --samples 5000 --epochs 6, or more --images / a smaller --test-fraction)")
    if cfg.module and cfg.weights is None:  # the builder's random initial weights: not a trained network's features
        out.append(f"--module {cfg.module} without --weights: the attacks invert the builder's untrained initial "
                   "weights, whose features are not those of your trained network, so the table may not say what it "
                   "leaks (fix: give its trained state_dict, --weights FILE, saved with "
                   "torch.save(net.state_dict(), FILE))")
    acc, classes = record.get("test_accuracy"), record.get("num_classes")
    if isinstance(acc, (int, float)) and isinstance(classes, int) and classes > 1 and acc <= 2 / classes:
        out.append(f"the target's recorded test accuracy {acc:g} is near chance ({1 / classes:.3g} for {classes} "
                   f"classes; at most twice chance): its features are not those of a trained network (fix: train "
                   "it longer, e.g. `optdist train-target NAME --epochs 5 --force --weights-dir DIR`, or, where "
                   "calibrate trains it, larger --target-epochs / --target-samples)")
    return out


def _no_better_than(attacks: list[Attack], baseline: float) -> str | None:
    """A warning naming the (layer, m) cells whose mean SSIM is no better than ``baseline`` (the SSIM
    of predicting the adversary's mean image for every test image), or None."""
    cells: dict[tuple[str, int], list[float]] = {}
    for a in attacks:
        cells.setdefault((a.layer, a.m), []).append(a.ssim)
    low = [f"{layer} m={m} ({np.mean(s):.3f})" for (layer, m), s in cells.items() if np.mean(s) <= baseline]
    if not low:
        return None
    return (f"{len(low)} of {len(cells)} cells score no better than predicting the adversary's mean image for every "
            f"test image (SSIM {baseline:.3f}): {', '.join(low)}; those attacks learnt nothing, so the table "
            "reads as no leak there (fix: more --samples and --epochs, a trained target)")


def _adversary(ds: datasets.Dataset, attacker: Attacker) -> str:
    """Where the adversary's images come from (provenance; :meth:`Attacker.from_provenance` reads the leading count)."""
    if ds.name == "orl":
        return f"{attacker.samples} ORL training images (ORL is too small for a disjoint split)"
    if ds.name.startswith("images:"):
        return f"{attacker.samples} of the user's images ({ds.source}; disjoint from the test images)"
    return f"{attacker.samples} from the '{ds.spec or ds.name}' attack split (disjoint from target training)"


def grid_png(cal: Calibration) -> bytes:
    """PNG: first row the originals, then one row of reconstructions per (layer, m)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [("original", cal.originals.astype(np.float64) / 255.0)]
    cells = {(r.tensor, m): v for r in cal.table.rows for m, v in r.cells.items()}
    rows += [(f"{layer} m={m}\nSSIM {cells[layer, m]:.2f}", r) for (layer, m), r in cal.recons.items()]
    n = len(cal.originals)
    fig, axes = plt.subplots(len(rows), n, figsize=(1.1 * n + 1.2, 1.1 * len(rows)), squeeze=False)
    for i, (label, imgs) in enumerate(rows):
        for j in range(n):
            ax = axes[i][j]
            img = imgs[j].transpose(1, 2, 0)
            ax.imshow(img[..., 0] if img.shape[2] == 1 else img, cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[i][0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
    fig.suptitle(f"{cal.table.cnn}: black-box inversion from m maps of each layer", fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return buf.getvalue()


def nf_markdown(table: PrivacyTable, taus: tuple[float, ...] = TAUS, profile: Profile | None = None) -> str:
    """Nf per layer and split point at each tau, for ``table`` and (zoo CNNs, if bundled) the paper's table.

    ``profile``: a user's network's profile (default: the zoo profile of ``table.cnn``).
    """
    tables = [table]
    if profile is None:
        if table.cnn not in available_cnns():
            return f"No layer profile for {text_of(table.cnn)}: Nf and split points need one.\n"
        profile = load_profile(table.cnn)
        paper = table_path(table.cnn, "paper")
        if paper.exists() and table.name != "paper":
            tables.append(PrivacyTable.load(paper))
    out = [f"# Nf and split point: {table.cnn}, table '{table.name}'\n"]
    for t in tables:
        limits = {tau: privacy_limits(profile, t, tau) for tau in taus}
        head = "| layer | P | governed by | " + " | ".join(f"Nf (tau {tau})" for tau in taus) + " |"
        out += [f"\n## table '{t.name}'\n", head, "|" + "---|" * (3 + len(taus))]
        for k, la in enumerate(profile.layers):
            cells = []
            for tau in taus:
                lim = limits[tau]
                n = lim.nf[k]
                cells.append("source" if lim.on_source[k] else "-" if n is None else str(n))
            out.append(
                f"| {la.name} | {la.segments} | {limits[taus[0]].governing[k] or ''} | " + " | ".join(cells) + " |"
            )
        sp = ", ".join(
            f"tau {tau}: {profile.layers[lim.split_point].name if lim.split_point < profile.n_layers else 'none'}"
            for tau, lim in limits.items()
        )
        out.append(f"\nSplit point (first unconstrained layer): {sp}\n")
    out.append(
        "\n'source': the layer runs on the request's trusted source (10h); '-': unconstrained "
        "(at or past the split point).\n"
    )
    return "\n".join(out)


def ssim_markdown(table: PrivacyTable) -> str:
    """The table's cells as Markdown: mean SSIM +- spread and PSNR per (layer, m)."""
    cols = table.columns()
    out = ["| tensor (P) | " + " | ".join(f"m={m}" for m in reversed(cols)) + " |", "|---|" + "---|" * len(cols)]
    for r in table.rows:
        cells = [
            f"{r.cells[m]:.3f} ± {r.spread.get(m, 0):.3f} ({r.psnr.get(m, float('nan')):.1f} dB)"
            if m in r.cells
            else ""
            for m in reversed(cols)
        ]
        out.append(f"| {r.tensor} ({r.maps}) | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def report_markdown(table: PrivacyTable, taus: tuple[float, ...] = TAUS, profile: Profile | None = None) -> str:
    """The Nf / split-point tables followed by the SSIM cells (``profile``: as for :func:`nf_markdown`)."""
    return f"{nf_markdown(table, taus, profile)}\n## SSIM cells (mean ± std over attacks, PSNR)\n\n{ssim_markdown(table)}"


def output_paths(cnn: str, name: str, out_dir: str | Path, table_file: str | Path | None = None) -> dict[str, Path]:
    """The files :func:`write` writes for the table ``name`` of network ``cnn``: ``table`` (``table_file``,
    default ``out_dir/CNN-NAME.json``), ``attacks``, ``grid`` and ``nf`` in ``out_dir``."""
    out_dir = Path(out_dir)
    stem = f"{cnn}-{name}"
    return {
        "table": Path(table_file) if table_file else out_dir / f"{stem}.json",
        "attacks": out_dir / f"{stem}-attacks.json",
        "grid": out_dir / f"{stem}-grid.png",
        "nf": out_dir / f"{stem}-nf.md",
    }


def write(
    cal: Calibration, out_dir: str | Path, table_file: str | Path | None = None, taus: tuple[float, ...] = TAUS
) -> dict[str, Path]:
    """Write the table JSON, per-attack JSON, grid PNG and Nf Markdown (:func:`output_paths`); returns their paths."""
    paths = output_paths(cal.table.cnn, cal.table.name, out_dir, table_file)
    cal.table.save(paths["table"])
    atomic_write_json(paths["attacks"], [asdict(a) for a in cal.attacks])
    atomic_write_bytes(paths["grid"], grid_png(cal))
    atomic_write_text(paths["nf"], report_markdown(cal.table, taus, cal.profile))
    return paths
