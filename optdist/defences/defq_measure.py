"""Measured DefQ evaluation on MNIST (torch): exit distribution, efficacy, accuracy and latency.

1. Train :class:`.multiexit.MultiExitCNN` on MNIST train (cached in the user cache dir).
2. Per RAD, pick the exit threshold q on the first half of the adversary's split (``attack``).
3. Attack the second half of ``attack`` with DeepSloth L-inf and build DefQ tables from the
   clean/attacked pairs (Algorithm 1, ranges ``[lo, hi]``); also the JPEG luminance table.
4. On held-out test images: clean and DeepSloth (attack crafted on the undefended model, as in
   the paper), each without and with every table; report the exit distribution, the edge-exit
   ratio (edge = first ``split`` exits), efficacy, accuracy, and the latency model's expected
   latency and offload rate.
"""

from __future__ import annotations

import io
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from optdist.attacks import datasets
from optdist.attacks.targets import to_float
from optdist.checkpoint import read_state_dict
from optdist.defences import defq, latency
from optdist.defences.multiexit import (
    MultiExitCNN,
    deepsloth_linf,
    early_exit,
    pick_threshold,
    softmax_outputs,
    train_multiexit,
)
from optdist.io import atomic_write_bytes


@dataclass(frozen=True)
class DefQConfig:
    """Sizes and settings of one DefQ evaluation (defaults: ~6 min on one CPU thread).

    Attack step = ``attack_step_frac * eps`` (DeepSloth: 0.002 at eps = 8/256); one DefQ table
    set is generated per attack budget from that budget's attacked pairs.
    """

    train_samples: int = 20000
    epochs: int = 2
    calib_samples: int = 1000
    table_samples: int = 1000
    eval_samples: int = 1000
    attack_eps: tuple[float, ...] = (0.03125, 0.1)
    attack_steps: int = 30
    attack_step_frac: float = 0.064
    rads: tuple[float, ...] = (5.0, 10.0)
    split: int = 2
    lo: float = 20.0
    his: tuple[float, ...] = (60.0, 100.0)
    seed: int = 0
    threads: int = 1

    def __post_init__(self) -> None:
        """Refuse settings the evaluation cannot use (ValueError naming the field), before any training:
        ``split`` 0 read the last output's bytes (index -1) and one past the outputs was an IndexError."""
        outputs = MultiExitCNN().n_outputs
        if not 1 <= self.split <= outputs:
            raise ValueError(f"split {self.split}: the edge hosts outputs 1..split of the {outputs}; give a whole "
                             f"number in [1, {outputs}], e.g. 2")
        bad = [e for e in self.attack_eps if not (math.isfinite(e) and 0 < e <= 1)]
        if bad or not self.attack_eps:
            raise ValueError(f"attack_eps {list(self.attack_eps)}: L-inf budgets on images in [0, 1] are numbers in "
                             "(0, 1], e.g. 0.03125 0.1")
        if not (math.isfinite(self.lo) and self.lo >= 1) or not self.his or any(
                not (math.isfinite(h) and h >= self.lo) for h in self.his):
            raise ValueError(f"lo {self.lo}, his {list(self.his)}: DefQ's steps span [lo, hi] on the 0-255 scale; give "
                             "a finite lo >= 1 and each hi >= lo, e.g. lo 20, his 60 100")


def load_or_train_multiexit(
    cfg: DefQConfig, ds: datasets.Dataset, cache: Path | None = None
) -> tuple[MultiExitCNN, dict[str, Any]]:
    """The multi-exit CNN from ``cache`` (default: the user cache dir; ``torch.load(weights_only=True)``),
    trained on MNIST train first if missing."""
    cache = datasets.cache_dir() / "defences-weights" if cache is None else cache
    path = cache / f"multiexit-mnist-n{cfg.train_samples}-e{cfg.epochs}-s{cfg.seed}.pt"
    torch.manual_seed(cfg.seed)
    net = MultiExitCNN()
    if path.exists():
        fix = f"delete {path} (a cached training result) and run again to retrain"
        try:
            net.load_state_dict(read_state_dict(path, str(path), fix))
        except RuntimeError as e:
            raise ValueError(f"{path}: does not fit the multi-exit CNN ({' '.join(str(e).split())[:400]}); {fix}") from None
        return net.eval(), {"weights": str(path), "trained_now": False}
    t0 = time.perf_counter()
    n = cfg.train_samples
    train_multiexit(net, to_float(ds["train"].x[:n]), torch.from_numpy(ds["train"].y[:n]), cfg.epochs, cfg.seed)
    buf = io.BytesIO()
    torch.save(net.state_dict(), buf)
    atomic_write_bytes(path, buf.getvalue())
    return net, {"weights": str(path), "trained_now": True, "train_seconds": round(time.perf_counter() - t0, 1)}


def exit_metrics(
    probs: torch.Tensor, y: np.ndarray, q: float, prof: latency.ExitProfile, split: int, link: latency.Link
) -> dict[str, Any]:
    """Exit distribution, edge-exit ratio, efficacy, accuracy and latency at threshold ``q``."""
    idx, pred = early_exit(probs, q)
    p = latency.exit_distribution(idx, probs.shape[0])
    cost = latency.expected_cost(p, prof, split, link)
    return {
        "exit_dist": p.tolist(),
        "edge_exit_ratio": latency.edge_exit_ratio(p, split),
        "efficacy": latency.efficacy(p, prof.ctilde),
        "accuracy": float((pred == y).mean()),
        "latency_ms": 1000 * cost["latency_s"],
        "offload_rate": cost["offload_rate"],
    }


def perturbation_stats(x: np.ndarray, x_adv: np.ndarray, tables: dict[str, np.ndarray | None]) -> dict[str, Any]:
    """How much of the attack survives each table (0-255 scale): RMS of ``d = x_adv - x`` and of
    ``DefQ(x_adv) - DefQ(x)``, and the mean ``|DCT(d)|`` per frequency (where the attack lives)."""
    d = (x_adv - x) * 255.0
    out: dict[str, Any] = {"rms": float(np.sqrt((d**2).mean()))}
    for name, t in tables.items():
        if t is not None:
            dq = (defq.defq(x_adv, t) - defq.defq(x, t)) * 255.0
            out[f"rms_after_{name}"] = float(np.sqrt((dq**2).mean()))
    out["dct_abs_mean"] = np.abs(defq.block_dct(defq.to_blocks(d)[0])).reshape(-1, 8, 8).mean(0).round(2).tolist()
    return out


def run_defq_eval(cfg: DefQConfig, link: latency.Link = latency.EXAMPLE_LINK, progress: bool = True) -> dict[str, Any]:
    """The full evaluation; returns a JSON-ready result."""
    torch.set_num_threads(cfg.threads)
    t0 = time.perf_counter()
    ds = datasets.load("mnist")
    net, wmeta = load_or_train_multiexit(cfg, ds)
    macs, feats = net.cost_profile()
    prof = latency.ExitProfile(tuple(macs), tuple(feats))
    att, te = ds["attack"], ds["test"]
    x_cal, y_cal = to_float(att.x[: cfg.calib_samples]), att.y[: cfg.calib_samples]
    x_tab = to_float(att.x[cfg.calib_samples : cfg.calib_samples + cfg.table_samples])
    x_ev, y_ev = to_float(te.x[: cfg.eval_samples]), te.y[: cfg.eval_samples]
    bar = tqdm(total=1 + 2 * len(cfg.attack_eps), desc="defq-eval", disable=not progress)
    probs_cal = softmax_outputs(net, x_cal)
    thresholds = {f"{r:g}": pick_threshold(probs_cal, y_cal, macs, r) for r in cfg.rads}
    final_acc = float((probs_cal[-1].argmax(1).numpy() == y_cal).mean())
    results: list[dict[str, Any]] = []

    def evaluate(sample: str, attack_eps: float, x: np.ndarray, tables: dict[str, np.ndarray | None]) -> None:
        for tname, table in tables.items():
            xd = x if table is None else defq.defq(x, table).astype(np.float32)
            probs = softmax_outputs(net, torch.from_numpy(xd))
            for rad, q in thresholds.items():
                results.append(
                    {"sample": sample, "attack_eps": attack_eps, "defence": tname, "rad": rad, "q": q}
                    | {"psnr_vs_clean": defq.psnr(x_ev.numpy(), xd)}
                    | exit_metrics(probs, y_ev, q, prof, cfg.split, link)
                )

    bar.update(1)
    q0s, all_tables, linf, pert = {}, {}, {}, {}
    for k, eps in enumerate(cfg.attack_eps):
        step = cfg.attack_step_frac * eps
        x_tab_adv = deepsloth_linf(net, x_tab, eps, cfg.attack_steps, step, cfg.seed + 2 * k)
        q0 = defq.frequency_ratio(x_tab.numpy(), x_tab_adv.numpy())
        tables: dict[str, np.ndarray | None] = {
            f"DefQ[{cfg.lo:g},{hi:g}]": defq.table_from_ratio(q0, cfg.lo, hi) for hi in cfg.his
        }
        tables["JPEG-luma"] = defq.JPEG_LUMA
        q0s[f"{eps:g}"], all_tables[f"{eps:g}"] = q0.tolist(), {n: np.asarray(t).tolist() for n, t in tables.items()}
        bar.update(1)
        x_adv = deepsloth_linf(net, x_ev, eps, cfg.attack_steps, step, cfg.seed + 2 * k + 1)
        linf[f"{eps:g}"] = float((x_adv - x_ev).abs().max())
        pert[f"{eps:g}"] = perturbation_stats(x_ev.numpy(), x_adv.numpy(), tables)
        evaluate("clean", eps, x_ev.numpy(), {"none": None, **tables})
        evaluate("DeepSloth-Linf", eps, x_adv.numpy(), {"none": None, **tables})
        bar.update(1)
    bar.close()
    return {
        "format": "optdist-defq-measured/1",
        "dataset": ds.name,
        "config": asdict(cfg),
        "link": asdict(link),
        "model": {
            "macs": macs, "feat_bytes": feats, "ctilde": prof.ctilde.tolist(), "final_acc_calib": final_acc, **wmeta
        },
        "thresholds": thresholds,
        "q0": q0s,
        "tables": all_tables,
        "attack_linf_max": linf,
        "perturbation": pert,
        "results": results,
        "seconds": round(time.perf_counter() - t0, 1),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }
