"""Tables (pandas -> Markdown/CSV) and plots (matplotlib, Agg) for the defence benchmarks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optdist.defences import dp, dp_tables, latency
from optdist.io import atomic_write_bytes, atomic_write_text


def _plt():  # -> matplotlib.pyplot, headless
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(fig: Any, path: Path) -> Path:
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    _plt().close(fig)
    return atomic_write_bytes(path, buf.getvalue())


def write_table(df: pd.DataFrame, stem: Path, floatfmt: str = ".4g") -> str:
    """Write ``stem.csv`` and return the Markdown rendering."""
    atomic_write_text(stem.with_suffix(".csv"), df.to_csv(index=False))
    return df.to_markdown(index=False, floatfmt=floatfmt)


# ---------------------------------------------------------------- DP (paper, analytic)


def noise_table() -> pd.DataFrame:
    """The B-free closed-form table: b/B, sigma/B, peak SNR, P(|n| > B) per eps."""
    rows = []
    for eps in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000):
        st = dp.noise_stats(eps, 1.0, (1, 1))
        rows.append({"eps": eps, "b/B": st["b"], "sigma/B": st["sigma_over_B"], "peak SNR (dB)": st["peak_snr_db"],
                     "P(|n|>B)": st["p_exceed_B"]})  # fmt: skip
    return pd.DataFrame(rows)


def feasibility_table(targets: tuple[tuple[float, float], ...] = ((5, 0.2), (10, 0.3), (10, 0.4))) -> pd.DataFrame:
    """Grid eps intervals meeting (max normalised loss L %, SSIM <= tau) per paper profile and depth."""
    rows = []
    for prof in dp_tables.PROFILES:
        for depth in dp_tables.DEPTHS:
            row: dict[str, Any] = {"profile": prof, "depth": depth}
            for loss, tau in targets:
                iv = dp_tables.feasible_eps(prof, depth, loss, tau)
                row[f"L<={loss:g}%, SSIM<={tau:g}"] = "-" if iv is None else f"[{iv[0]:g}, {iv[1]:g}]"
            row["plateau loss % (eps>=100)"] = float(np.mean(_plateau(prof, depth)))
            rows.append(row)
    return pd.DataFrame(rows)


def _plateau(prof: str, depth: int) -> np.ndarray:
    g = dp_tables.grid()
    return np.array([dp_tables.predict(prof, depth, e).norm_loss_pct for e in g[g >= 100]])


def plot_paper_dp(path: Path) -> Path:
    """Running-max SSIM and normalised loss vs eps per dataset and depth, with the pooled Hill fit."""
    plt = _plt()
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    g = dp_tables.grid()
    fine = np.logspace(-1, np.log10(5000), 200)
    for depth, ls in zip(dp_tables.DEPTHS, ("-", "--", ":"), strict=True):
        for ds, c in zip(dp_tables.DATASETS, ("C0", "C1", "C2", "C3"), strict=True):
            ax[0].plot(g, dp_tables.ssim_running_max(ds, depth), ls, color=c, label=f"{ds} case {depth}", alpha=0.7)
            ax[1].plot(g, dp_tables.norm_loss(ds, depth), ls, color=c, alpha=0.7)
        ax[0].plot(fine, dp_tables.hill_ssim(depth, fine), ls, color="k", lw=2, label=f"Hill fit case {depth}")
    ax[0].set(xscale="log", xlabel="epsilon (per element)", ylabel="attacker SSIM (running max)")
    ax[0].set_title("white-box rMLE")
    ax[1].set_yscale("symlog", linthresh=1.0)
    ax[1].set(xscale="log", ylim=(0, 100), xlabel="epsilon (per element)", ylabel="normalised accuracy loss (%)",
              title="after noisy fine-tuning")  # fmt: skip
    ax[0].legend(fontsize=6, ncol=2)
    fig.suptitle("Ryu et al. 2022, Tables 2-6 (shipped in optdist/data/dp_tables.json)")
    return save_png(fig, path)


# ---------------------------------------------------------------- DP (measured)


def dp_sweep_frame(result: dict[str, Any]) -> pd.DataFrame:
    """One row per (layer, mode, eps) of a measured sweep."""
    rows = []
    for layer, entry in result["layers"].items():
        base = next(r for r in entry["rows"] if r["mode"] == "plain")["acc_finetuned"]
        for r in entry["rows"]:
            rows.append({
                "layer": layer, "mode": r["mode"], "eps": r["eps"], "acc noisy": r["acc_noisy"],
                "acc fine-tuned": r["acc_finetuned"], "loss % (ft)": 100 * (base - r["acc_finetuned"]) / base,
                "SSIM black-box": r["ssim_blackbox"], "SSIM white-box": r["ssim_whitebox"],
                "PSNR bb (dB)": r["psnr_blackbox"], "PSNR wb (dB)": r["psnr_whitebox"],
                "sigma/B": r.get("sigma_over_B"), "median map SNR (dB)": r.get("median_map_snr_db"), "s": r["seconds"],
            })  # fmt: skip
    return pd.DataFrame(rows)


def plot_dp_sweep(result: dict[str, Any], path: Path) -> Path:
    """Accuracy and attacker SSIM vs eps, and the accuracy/SSIM trade-off, per layer."""
    plt = _plt()
    df = dp_sweep_frame(result)
    fig, ax = plt.subplots(1, 3, figsize=(16, 4.3))
    for (layer, sub), c in zip(df.groupby("layer", sort=False), ("C0", "C1", "C2", "C3"), strict=False):
        noisy, plain = sub[sub["mode"] == "dp"], sub[sub["mode"] == "plain"].iloc[0]
        ax[0].plot(noisy["eps"], noisy["acc noisy"], "--o", color=c, ms=3, label=f"{layer} noisy, original tail")
        ax[0].plot(noisy["eps"], noisy["acc fine-tuned"], "-o", color=c, ms=3, label=f"{layer} noisy fine-tuned tail")
        ax[0].axhline(plain["acc noisy"], color=c, lw=0.6)
        ax[1].plot(noisy["eps"], noisy["SSIM black-box"], "-o", color=c, ms=3, label=f"{layer} black-box inverse net")
        ax[1].plot(noisy["eps"], noisy["SSIM white-box"], "--s", color=c, ms=3, label=f"{layer} white-box rMLE")
        ax[1].axhline(plain["SSIM black-box"], color=c, lw=0.6)
        ax[1].axhline(plain["SSIM white-box"], color=c, lw=0.6, ls="--")
        ax[2].plot(noisy["SSIM black-box"], noisy["acc fine-tuned"], "-o", color=c, ms=3, label=f"{layer} black-box")
        ax[2].plot(noisy["SSIM white-box"], noisy["acc fine-tuned"], "--s", color=c, ms=3, label=f"{layer} white-box")
        for _, r in noisy.iterrows():
            ax[2].annotate(f"{r['eps']:g}", (r["SSIM black-box"], r["acc fine-tuned"]), fontsize=6)
    ax[0].set(xscale="log", xlabel="epsilon (per element)", ylabel="test accuracy", title="accuracy (lines: no DP)")
    ax[1].set(xscale="log", xlabel="epsilon (per element)", ylabel="mean SSIM", title="attacker SSIM (lines: no DP)")
    ax[2].set(xlabel="attacker SSIM", ylabel="accuracy (fine-tuned tail)", title="trade-off (labels: eps)")
    for a in ax:
        a.legend(fontsize=7)
    fig.suptitle(f"Laplace DP on {result['cnn']} / {result['dataset']} (measured)")
    return save_png(fig, path)


# ---------------------------------------------------------------- DefQ


def defq_frame(result: dict[str, Any]) -> pd.DataFrame:
    """One row per (attack budget, sample, defence, RAD) of a DefQ evaluation."""
    df = pd.DataFrame(result["results"]).drop(columns=["exit_dist"])
    return df.rename(columns={"edge_exit_ratio": f"edge exit ratio (s={result['config']['split']})"})


def perturbation_frame(result: dict[str, Any]) -> pd.DataFrame:
    """RMS of the attack perturbation before and after each table, per attack budget."""
    rows = []
    for eps, p in result["perturbation"].items():
        rms = {k.replace("rms_after_", "after "): v for k, v in p.items() if k.startswith("rms")}
        rows.append({"attack eps": eps, **rms})
    return pd.DataFrame(rows)


def plot_defq(result: dict[str, Any], path: Path, rad: str = "5") -> Path:
    """Exit distributions (clean, attacked, attacked + DefQ) per attack budget at one RAD."""
    plt = _plt()
    budgets = list(result["tables"])
    fig, axes = plt.subplots(1, len(budgets), figsize=(5.5 * len(budgets), 3.8), squeeze=False)
    defq_name = next(n for n in result["tables"][budgets[0]] if n.startswith("DefQ"))
    for ax, eps in zip(axes[0], budgets, strict=True):
        picks = [("clean", "none"), ("DeepSloth-Linf", "none"), ("DeepSloth-Linf", defq_name), ("clean", defq_name)]
        k = len(result["model"]["macs"])
        w = 0.2
        for i, (sample, dname) in enumerate(picks):
            r = next(
                r for r in result["results"]
                if r["sample"] == sample and r["defence"] == dname and r["rad"] == rad and f"{r['attack_eps']:g}" == eps
            )  # fmt: skip
            ax.bar(np.arange(1, k + 1) + (i - 1.5) * w, r["exit_dist"], w, label=f"{sample} + {dname}")
        ax.axvline(result["config"]["split"] + 0.5, color="k", lw=0.8, ls=":")
        ax.set(xlabel="exit (last = final classifier)", ylabel="share of samples")
        ax.set_title(f"L-inf budget {eps}, RAD {rad}%")
        ax.legend(fontsize=7)
    fig.suptitle("Multi-exit CNN on MNIST: exit distribution (dotted line: edge/cloud split)")
    return save_png(fig, path)


def paper_latency_table(link: latency.Link = latency.EXAMPLE_LINK) -> pd.DataFrame:
    """Two-tier latency and offload rate of every DefQ paper scenario, without and with DefQ."""
    t = latency.paper_tables()
    rows = []
    for rad in ("5", "10"):
        for sample in ("Clean", "Linf", "L2", "L1"):
            for model in ("VGG16", "ResNet56", "MobileNet"):
                o = latency.paper_latency(model, rad, sample, False, link)
                d = latency.paper_latency(model, rad, sample, True, link)
                rows.append({
                    "RAD %": rad, "sample": sample, "model": model,
                    "T3-ER orig": t["T3ER"][rad][sample][model][0], "T3-ER DefQ": t["T3ER"][rad][sample][model][1],
                    "offload orig": o["offload_rate"], "offload DefQ": d["offload_rate"],
                    "latency orig (ms)": 1000 * o["latency_s"], "latency DefQ (ms)": 1000 * d["latency_s"],
                    "acc orig": t["ACC"][rad][sample][model][0], "acc DefQ": t["ACC"][rad][sample][model][1],
                })  # fmt: skip
    return pd.DataFrame(rows)


def break_even_table() -> pd.DataFrame:
    """Attacked fraction above which always-on DefQ pays off (paper Tables I and III, L-inf)."""
    t = latency.paper_tables()
    rows = []
    for rad in ("5", "10"):
        for model in ("VGG16", "ResNet56", "MobileNet"):
            row: dict[str, Any] = {"RAD %": rad, "model": model}
            for metric in ("T3ER", "ACC"):
                clean, adv = t[metric][rad]["Clean"][model], t[metric][rad]["Linf"][model]
                row[f"alpha* ({metric})"] = latency.break_even_alpha(clean[0] - clean[1], adv[1] - adv[0])
            rows.append(row)
    return pd.DataFrame(rows)
