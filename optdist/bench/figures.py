"""The paper's figures (Baccour et al., Figs. 11-17) and the solve-time scaling, from records.

Each figure is a PNG plus the CSV it is drawn from (same stem). Per-request quantities are
totals over the admitted requests divided by their number; *accuracy* (the paper's
RL-accuracy) is the fraction of requests admitted with no violation naming them;
charged solve times follow :mod:`optdist.bench.tables` (unsolved runs at the time limit).

=========== ================================================================ ==================
figure      shows                                                            paper
=========== ================================================================ ==================
tau         latency / shared data per request vs tau, per CNN and method     Figs. 11, 12
greedy-rl   total latency / shared data per CNN mix and tau, per method      Figs. 13, 14
devices     accuracy vs number of devices, per method                        Fig. 15
mix         accuracy vs share of LG Nexus among the devices, per method      Fig. 16
optimum-rl  latency / shared data of every request, per method and tau       Fig. 17
scaling     solve time vs requests and vs devices, per configuration         (new)
convergence certified gap vs time, incumbent and bound per round, per run     (new)
=========== ================================================================ ==================

Latency and shared-data figures mark, on the plot itself, every run that rejected requests or
broke a constraint (:func:`status_note`): its bar is hatched "///", faded and labelled (e.g. "rejects
235/250", "infeasible: 12 violations"; the bars of configs past the tenth carry another hatch, their
own, :func:`config_styles`), its point hollow and keyed ("1", "2", ...) to the note in
the list under its panel (:func:`_lines`), so a method whose total counts only the few requests
it admitted cannot look best (so does the online gap table's figure, :func:`gap_grid`: a hatched
cell saying what broke in place of a gap). The line figures can be redrawn from their own CSVs
(:func:`redraw_from_csv`; ``benchmarks/figures/redraw_from_csv.py``). The accuracy figures (``devices``, ``mix``) keep
the runs that have no placement to score (:func:`_scored_or_not`): an instance the MILP proved
infeasible is a cross on the x axis labelled "proved infeasible" (a limit hit before any
placement: "no placement (time_limit)"), not a point left out; a point that averages the scored
runs of a mix says how many of its runs it covers ("1 of 2 runs scored", also the CSV's
``point_runs`` column).

``convergence`` reads the rounds that column generation records in each run's ``extra``
(``extra["rounds"]``, or ``extra["coupled_solve"]["rounds"]`` when the decomposition ran it;
:mod:`optdist.milp.decomposition.colgen`): runs without rounds are left out.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
import pandas as pd  # noqa: E402

from optdist.bench.records import record_path, rerun  # noqa: E402
from optdist.bench.tables import (LEFT_OUT_OF_FIGURES, SOLVED, _time, load_records,  # noqa: E402
                                  set_aside_contradictions)
from optdist.io import atomic_write_bytes, atomic_write_text, restore_non_finite  # noqa: E402
from optdist.jsonfile import quoted

log = logging.getLogger(__name__)


def family(instance: str) -> str:
    """Instance name without its ``-tau<x>`` part, e.g. ``hetero-250x70``."""
    return re.sub(r"-tau[0-9.]+", "", instance)


def prepare(df: pd.DataFrame) -> pd.DataFrame:
    """Runs with per-request latency/shared data, accuracy and a family column."""
    out = df.copy()
    admitted = (out["n_requests"] - out["rejected"].fillna(0)).clip(lower=1)
    out["family"] = out["instance"].map(family)
    out["latency_per_request_s"] = out["total_latency_s"] / admitted
    out["shared_per_request_MB"] = out["shared_bytes"] / admitted / 1e6
    out["shared_MB"] = out["shared_bytes"] / 1e6
    out["accuracy_pct"] = 100.0 * out["requests_ok"] / out["n_requests"]
    out["note"] = [status_note(r, n, f, v) for r, n, f, v in
                   zip(out["rejected"], out["n_requests"], out["feasible"], out["violations"])]
    return out


def status_note(rejected: object, n_requests: object, feasible: object, violations: object) -> str:
    """What a latency bar must say about its run: ``"rejects R/N"`` and/or ``"infeasible: V
    violations"`` (the violations other than rejections); ``""`` for a run that admitted every
    request and broke nothing. Missing values count as 0 / feasible."""
    parts = []
    rej = 0 if rejected is None or pd.isna(rejected) else int(rejected)
    if rej:
        parts.append(f"rejects {rej}/{int(n_requests)}" if n_requests is not None and pd.notna(n_requests)
                     else f"rejects {rej}")
    nviol = 0 if violations is None or pd.isna(violations) else int(violations)
    broken = feasible is not None and not pd.isna(feasible) and not bool(feasible)
    if nviol - rej > 0 or (broken and not rej):
        # the evaluator counts a rejection as an admission violation: only the others break constraints
        parts.append(f"infeasible: {nviol - rej} violations" if nviol - rej > 0 else "infeasible")
    return "; ".join(parts)


def mark_bars(ax: plt.Axes, notes: pd.DataFrame) -> list[str]:
    """Hatch and label the bars of ``ax`` (drawn by ``DataFrame.plot.bar`` from a pivot: one
    container per column, one bar per row) whose cell of ``notes`` (same shape) is not empty.
    Returns the labels written, in drawing order."""
    written = []
    for container, col in zip(ax.containers, notes.columns):
        for patch, idx in zip(container.patches, notes.index):
            note = notes.at[idx, col]
            if not isinstance(note, str) or not note:
                continue
            patch.set_hatch("///" + (patch.get_hatch() or ""))  # the config's own hatch kept (config_styles)
            patch.set_edgecolor("black")
            patch.set_alpha(0.45)
            h = patch.get_height()
            y = h if pd.notna(h) and h > 0 else ax.get_ylim()[0]
            ax.annotate(note, (patch.get_x() + patch.get_width() / 2, y), rotation=90, fontsize=6, ha="center",
                        va="bottom", xytext=(0, 2), textcoords="offset points", color="darkred")
            written.append(note)
    return written


def _headroom(ax: plt.Axes, share: float = 0.45) -> None:
    """Raise the top of ``ax``'s y axis so the bars fill its lower ``share`` and the labels of
    :func:`mark_bars` above them stay inside the panel (clear of its title)."""
    low, top = ax.get_ylim()
    if ax.get_yscale() == "log" and low > 0:
        ax.set_ylim(low, low * (top / low) ** (1 / share))
    else:
        ax.set_ylim(low, low + (top - low) / share)


def _ok(df: pd.DataFrame) -> pd.DataFrame:
    return df[(df["status"] == "ok") & df["per_request"].notna()]


def _drawn_by_optdist(png: Path) -> bool:
    """Whether ``png`` is a PNG that matplotlib wrote (its ``Software`` text chunk, near its start)."""
    try:
        with png.open("rb") as f:
            head = f.read(512)
    except OSError:
        return False
    return head.startswith(b"\x89PNG") and b"Matplotlib" in head


def _save(fig: plt.Figure, data: pd.DataFrame, dest: Path, stem: str, source: Path | None = None) -> list[Path]:
    """Write ``fig`` as ``dest/STEM.png`` and ``data`` as ``dest/STEM.csv`` (their paths), refusing
    (OutputPathError) to replace a file there that optdist did not draw; ``source``: the CSV the
    figure was drawn from, which is left as it is where it is ``dest/STEM.csv``."""
    import io

    png, csv = dest / f"{stem}.png", dest / f"{stem}.csv"
    kept = source is not None and csv.exists() and csv.resolve() == source.resolve()
    ours = _drawn_by_optdist(png)  # the CSV is written with it: a CSV beside no figure of ours is not ours
    foreign = [p for p in (png, *([] if kept else [csv])) if p.is_file() and p.stat().st_size and not ours]
    if foreign:
        from optdist.io import OutputPathError

        plt.close(fig)
        raise OutputPathError(f"{foreign[0]}: exists and was not drawn by optdist (not one of its figures); drawing "
                              f"the figure {stem} would replace it (fix: give another folder, e.g. --dest DIR, or "
                              "move the file away)")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150, bbox_inches="tight")
    plt.close(fig)
    return [atomic_write_bytes(png, buf.getvalue()), csv if kept else atomic_write_text(csv, data.to_csv(index=False))]


def _panels(n: int, width: float = 4.0) -> tuple[plt.Figure, list[plt.Axes]]:
    fig, axes = plt.subplots(1, max(n, 1), figsize=(width * max(n, 1), 3.4), squeeze=False)
    return fig, list(axes[0])


def _title(panel: str, value: object) -> str:
    return f"tau = {value}" if panel == "tau" else str(value)


NOTE_FONTSIZE = 6.5  # the keys' lists under the panels of :func:`_lines`
_LINE_PANEL = (5.0, 3.0)  # inches: width of a panel's column, height of its plot area (:func:`_lines`)


def _grid(n: int, heights: list[float], width: float) -> tuple[plt.Figure, list[plt.Axes]]:
    """A constrained-layout figure of ``n`` panels (at least one), at most 3 per row, each
    ``width`` inches wide; row ``r`` is ``heights[r]`` inches tall (its plot area and what it
    carries below: labels, notes). Returns the figure and its panels, row by row."""
    n = max(n, 1)
    cols = min(n, 3)
    fig = plt.figure(figsize=(width * cols, sum(heights) + 0.6), layout="constrained")
    grid = fig.add_gridspec(len(heights), cols)
    return fig, [fig.add_subplot(grid[i // cols, i % cols]) for i in range(n)]


def _point_means(g: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """One row per ``x`` value of one config's runs ``g``: the mean of ``y`` over them and the
    point's ``label``: its runs' notes (:func:`status_note`), and where the mean covers only some
    of its runs (the others have no ``y``: nothing to score) :func:`runs_scored`; "" for none."""
    out = g.groupby(x, as_index=False)[y].mean().sort_values(x)
    if "note" not in g:
        return out.assign(label="")
    notes = g.groupby(x)["note"].agg(lambda v: "; ".join(sorted({n for n in v if isinstance(n, str) and n})))
    counts = g.groupby(x)[y].agg(["count", "size"])  # runs scored (a value), runs in all, per point
    labels = []
    for xv, yv in zip(out[x], out[y]):
        n, m = counts.loc[xv]
        scored = "" if pd.isna(yv) or n == m else f"; {runs_scored(n, m)}"
        labels.append(notes[xv] + scored if notes[xv] else "")
    return out.assign(label=labels)


def _value(v: object) -> str:
    """An x value as a list under a panel says it: floats shortest (0.4, 30), others as they are."""
    return f"{v:g}" if isinstance(v, float) else str(v)


def _keys(points: dict[str, pd.DataFrame], x: str,
          chars: int) -> tuple[dict[tuple[str, str], int], list[tuple[str, str]]]:
    """The keys of one panel (:func:`_lines`): one per (config, label) with a label, numbered from
    1 in config then ``x`` order, and the panel's list of them, one entry per key, "[k] CONFIG at
    X1, X2: LABEL" wrapped to ``chars`` characters a line, with its config."""
    import textwrap

    keys: dict[tuple[str, str], int] = {}
    at: dict[tuple[str, str], list[str]] = {}
    for config, pts in points.items():
        for xv, label in zip(pts[x], pts["label"]):
            if label:
                keys.setdefault((config, label), len(keys) + 1)
                at.setdefault((config, label), []).append(_value(xv))
    entries = [(config, textwrap.fill(f"[{k}] {config} at {', '.join(at[config, label])}: {label}", chars,
                                      subsequent_indent="      ", break_on_hyphens=False))
               for (config, label), k in keys.items()]
    return keys, entries


#: markers (lines) and hatches (bars) of the configs past the colour cycle's ten (:func:`config_styles`); no
#: hatch is :func:`mark_bars`'s "///" (a bar with a note)
_MARKERS = ("o", "s", "^", "D", "v", "P")
_HATCHES = ("", "..", "xx", "oo", "++", "**")


def config_styles(configs: list[str]) -> dict[str, dict[str, str]]:
    """One colour, marker and hatch per config of a figure, the same in each of its panels: the i-th
    of the sorted configs gets colour ``C{i % 10}`` and, past ten, another marker (its lines) and
    hatch (its bars, which have no marker): 60 configs are told apart. Before, each panel
    took colours from the cycle in the order of the configs it had, so a config missing from one
    panel shifted the others' colours there, under one legend for the figure (config b blue in one
    panel and orange in the other, where a, also blue, was not run), and an 11th config took the
    1st's colour and marker, and its bars the 1st's look."""
    return {c: {"color": f"C{i % 10}", "marker": _MARKERS[i // 10 % len(_MARKERS)],
                "hatch": _HATCHES[i // 10 % len(_HATCHES)]}
            for i, c in enumerate(sorted(configs))}


def _lines(data: pd.DataFrame, panel: str, x: str, y: str, ylabel: str, xlabel: str, title: str,
           ylim: tuple[float, float] | None = None) -> plt.Figure:
    """One panel per value of ``panel`` (at most 3 per row), one line per config, mean over seeds;
    one legend for the figure. Where ``data`` has a ``note`` column (:func:`status_note`), points of
    runs with a note are hollow, and a point with nothing to score (``y`` missing on all its runs,
    e.g. an instance proved infeasible) is a cross on the x axis; a point whose mean covers only
    some of its runs also says how many (:func:`runs_scored`). Each such point carries a key
    ("1", "2", ... in its config's colour, set right of it by the config's rank in the panel, so
    coinciding points of different configs keep apart) and the panel lists its keys under its x
    axis label (:func:`_keys`), each entry in its config's colour, below the one before, wrapped to
    the panel's width: no note runs into another panel or over another note."""
    panels = sorted(data[panel].unique())
    width, height = _LINE_PANEL
    chars = int((width - 1.1) * 72 / (0.56 * NOTE_FONTSIZE))  # a line of the list fits the plot area's width
    points = {p: {c: _point_means(g, x, y) for c, g in data[data[panel] == p].groupby("config")} for p in panels}
    keyed = {p: _keys(points[p], x, chars) for p in panels}
    lines = [sum(e.count("\n") + 1 for _, e in keyed[p][1]) for p in panels]
    cols = min(max(len(panels), 1), 3)
    rows = [max(lines[i:i + cols], default=0) for i in range(0, max(len(panels), 1), cols)]
    step = NOTE_FONTSIZE * 1.25 / 72  # inches per line of a list
    fig, axes = _grid(len(panels), [height + 0.7 + (n * step + 0.1 if n else 0) for n in rows], width)
    style = config_styles(list(data["config"].unique()))  # one colour per config in every panel: one legend
    colour = {c: st["color"] for c, st in style.items()}
    for ax, p in zip(axes, panels):
        keys, entries = keyed[p]
        for rank, (config, pts) in enumerate(points[p].items()):
            ax.plot(pts[x], pts[y], label=config, color=colour[config], marker=style[config]["marker"])
            for xv, yv, label in zip(pts[x], pts[y], pts["label"]):
                if not label:
                    continue
                if pd.isna(yv):  # nothing to score (e.g. proved infeasible): a cross on the x axis
                    yv = ylim[0] if ylim else 0.0
                    ax.plot([xv], [yv], marker="X", markersize=9, color=colour[config], linestyle="none", zorder=3,
                            clip_on=False)
                else:  # a white ring over the config's point
                    ax.plot([xv], [yv], marker="o", markersize=9, markerfacecolor="white", color=colour[config],
                            zorder=3)
                ax.annotate(str(keys[config, label]), (xv, yv), xytext=(6 + 9 * rank, 3), textcoords="offset points",
                            fontsize=NOTE_FONTSIZE + 0.5, fontweight="bold", color=colour[config],
                            bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8})
        ax.set(title=_title(panel, p), xlabel=xlabel, ylabel=ylabel, ylim=ylim)
        if keys:
            ax.set_xmargin(0.15)  # room for the keys right of the last points
        ax.grid(alpha=0.3)
        above: object = ax.xaxis.label  # each entry hangs below the x axis label, then below the entry before
        for config, entry in entries:
            above = ax.annotate(entry, (0, 0), xycoords=("axes fraction", above), xytext=(0, -3),
                                textcoords="offset points", va="top", ha="left", fontsize=NOTE_FONTSIZE,
                                color=colour[config])
    fig.suptitle(title)
    legend: dict = {}
    for ax in axes:
        legend.update(zip(*reversed(ax.get_legend_handles_labels())))
    if legend:  # right of the panels (constrained layout makes room; above them it would cover the title)
        fig.legend(list(legend.values()), list(legend), loc="outside right upper", fontsize=8)
    return fig


def _bars(data: pd.DataFrame, panel: str, group: str, y: str, ylabel: str, title: str, log: bool = False) -> plt.Figure:
    """One panel per ``panel`` value (at most 3 per row); bars per ``group`` value, one bar per
    config; one legend for the figure (each config's colour and hatch, :func:`config_styles`). Where ``data`` has a ``note`` column, bars of runs with
    a note are hatched and labelled (:func:`mark_bars`)."""
    panels = sorted(data[panel].unique())
    cols = min(max(len(panels), 1), 3)
    rows = -(-max(len(panels), 1) // cols)
    fig, grid = plt.subplots(rows, cols, figsize=(5.0 * cols, 4.6 * rows), squeeze=False)
    axes = list(grid.flat)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    handles: dict = {}
    style = config_styles(list(data["config"].unique()))  # one colour per config in every panel: one legend
    for ax, p in zip(axes, panels):
        piv = data[data[panel] == p].pivot_table(index=group, columns="config", values=y, aggfunc="mean")
        if piv.empty:
            continue
        long_labels = max(len(str(v)) for v in piv.index) > 4
        piv.plot.bar(ax=ax, logy=log, rot=20 if long_labels else 0, legend=False,
                     color=[style[c]["color"] for c in piv.columns])
        for bars, config in zip(ax.containers, piv.columns):
            for patch in bars.patches:
                patch.set_hatch(style[config]["hatch"] or None)
        if "note" in data:
            notes = data[data[panel] == p].pivot_table(index=group, columns="config", values="note",
                                                        aggfunc=lambda v: "; ".join(sorted({n for n in v if n})))
            if mark_bars(ax, notes.reindex(index=piv.index, columns=piv.columns).fillna("")):
                _headroom(ax)
        ax.set(title=_title(panel, p), ylabel=ylabel, xlabel=group)
        ax.grid(alpha=0.3, axis="y")
        # the config's own look, not its first bar's: a bar with a note (mark_bars: "///", faded) made its
        # config's legend entry look noted (vbreak44)
        handles.update((c, Patch(facecolor=style[c]["color"], hatch=style[c]["hatch"] or None, label=c))
                       for c in piv.columns)
    if handles:
        fig.legend(list(handles.values()), list(handles.keys()), loc="lower center", ncol=min(len(handles), 4),
                   fontsize=8, bbox_to_anchor=(0.5, -0.02 - 0.06 / rows))
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.4 / fig.get_figheight()))  # the top 0.4 inch for the title, any height
    return fig


LINE_FIGURES: dict[str, Callable[[pd.DataFrame], plt.Figure]] = {
    # stem -> its drawing from its CSV's rows (the frame fig_tau / fig_devices / fig_mix save beside it)
    "fig11-latency-vs-tau": lambda d: _lines(d, "family", "tau", "latency_per_request_s", "latency per request (s)",
                                             "tolerated SSIM tau",
                                             "Latency per request: feature-map vs per-layer distribution"),
    "fig12-shared-vs-tau": lambda d: _lines(d, "family", "tau", "shared_per_request_MB", "shared data per request (MB)",
                                            "tolerated SSIM tau",
                                            "Shared data per request: feature-map vs per-layer distribution"),
    "fig15-accuracy-vs-devices": lambda d: _lines(d, "tau", "n_devices", "accuracy_pct",
                                                  "requests meeting every constraint (%)", "devices",
                                                  "Accuracy vs number of devices", ylim=(0, 105)),
    "fig16-accuracy-vs-mix": lambda d: _lines(d.sort_values(["tau", "config", "nexus_pct"]), "tau", "nexus_pct",
                                              "accuracy_pct", "requests meeting every constraint (%)",
                                              "LG Nexus share of devices (%)", "Accuracy vs device mix", ylim=(0, 105)),
}


#: columns of the line figures' CSVs that hold numbers (a cell may be empty: no value), and those
#: that name a panel or a line (every cell filled)
_NUMBER_COLUMNS = ("tau", "seed", "n_devices", "nexus_pct", "latency_per_request_s", "shared_per_request_MB",
                   "accuracy_pct", "rejected")
_NAME_COLUMNS = ("family", "config", "tau")


def _check_cells(csv: Path, data: pd.DataFrame) -> None:
    """ValueError naming ``csv``, the line and column and the fix for a CSV of no rows, a cell of
    :data:`_NUMBER_COLUMNS` that is not a finite number (an empty one is no value), or an empty cell
    of :data:`_NAME_COLUMNS`."""
    from optdist.jsonfile import json_text

    fix = "(fix: give the CSV as optdist bench-figures wrote it)"
    if data.empty:
        raise ValueError(f"{csv}: no rows to draw {fix}")
    for col in (c for c in _NUMBER_COLUMNS if c in data):
        numeric = pd.api.types.is_numeric_dtype(data[col])
        bad = (data[col].notna() & pd.to_numeric(data[col], errors="coerce").isna()) if not numeric else \
            data[col].abs().eq(float("inf"))
        if bad.any():
            i = bad.idxmax()
            what = "not a finite number (no point can show it)" if numeric else "not a number"
            raise ValueError(f"{csv}: line {i + 2}, column {json_text(col)}: {json_text(str(data[col][i]))} is {what} {fix}")
    for col in (c for c in _NAME_COLUMNS if c in data and data[c].isna().any()):
        raise ValueError(f"{csv}: line {data[col].isna().idxmax() + 2}, column {json_text(col)}: empty (it names the panel or "
                         f"line of the row) {fix}")


def redraw_from_csv(csv: str | Path, dest: str | Path | None = None) -> list[Path]:
    """Redraw one of :data:`LINE_FIGURES` from its own CSV alone (the sweep's records not needed),
    e.g. ``benchmarks/figures/fig11-latency-vs-tau.csv``: the figure is named by the CSV's stem and
    drawn from its rows as they are. Writes STEM.png and STEM.csv (the same rows; the CSV drawn from
    is left as it is) into ``dest`` (default: the CSV's folder) and returns their paths. Raises
    ValueError for a CSV of another name, one that cannot be read, one of no rows, one without the
    figure's columns or with a value the figure cannot draw (the message names the file and the fix),
    or a file in ``dest`` that optdist did not draw (OutputPathError); OSError where the figure cannot
    be written."""
    csv = Path(csv)
    if csv.stem not in LINE_FIGURES:
        raise ValueError(f"{csv}: not the CSV of a line figure (fix: give one of "
                         f"{quoted(sorted(s + '.csv' for s in LINE_FIGURES))}, as optdist bench-figures wrote it)")
    try:
        data = pd.read_csv(csv)  # pandas 3 reads the floats as written, to the last digit
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise ValueError(f"{csv}: cannot be read as a CSV ({getattr(e, 'strerror', None) or e}) (fix: give the "
                         "figure's CSV as optdist bench-figures wrote it)") from None
    _check_cells(csv, data)
    if "note" in data:
        data["note"] = data["note"].astype(object).fillna("")  # a run without a note: an empty cell (a column of
        # none is read as floats)
    try:
        fig = LINE_FIGURES[csv.stem](data)
    except KeyError as e:  # raised before any figure is made (the columns are read first)
        raise ValueError(f"{csv}: lacks a column {csv.stem} is drawn from ({e.args[0]}) (fix: give the CSV as "
                         "optdist bench-figures wrote it)") from None
    return _save(fig, data, Path(dest) if dest is not None else csv.parent, csv.stem, source=csv)


def fig_tau(df: pd.DataFrame, dest: Path) -> list[Path]:
    """Figs. 11-12: latency and shared data per request vs tau, panels per CNN family."""
    cols = ["family", "config", "tau", "seed", "latency_per_request_s", "shared_per_request_MB", "rejected", "note"]
    data = _ok(df)[cols].sort_values(["family", "config", "tau"])
    return [f for stem in ("fig11-latency-vs-tau", "fig12-shared-vs-tau")
            for f in _save(LINE_FIGURES[stem](data), data, dest, stem)]


def fig_greedy_rl(df: pd.DataFrame, dest: Path) -> list[Path]:
    """Figs. 13-14: total latency and total shared data per request mix, panels per tau."""
    data = _ok(df)[["family", "tau", "config", "seed", "total_latency_s", "shared_MB", "rejected", "note"]].sort_values(["tau", "family", "config"])
    files = _save(_bars(data, "tau", "family", "total_latency_s", "total latency (s)", "Total latency", log=True),
                  data, dest, "fig13-total-latency")
    files += _save(_bars(data, "tau", "family", "shared_MB", "total shared data (MB)", "Total shared data", log=True),
                   data, dest, "fig14-total-shared")
    return files


def _scored_or_not(df: pd.DataFrame) -> pd.DataFrame:
    """The runs of an accuracy figure: those with a placement (accuracy scored, no note: the
    accuracy itself counts rejections and violations), and those without one, accuracy NaN and
    a note, "proved infeasible" (termination ``infeasible``) or "no placement (TERMINATION)", which
    :func:`_lines` draws as a cross on the x axis. Failed runs (error, timeout) are left out."""
    runs = df[df["status"] == "ok"].copy()
    unscored = runs["per_request"].isna()
    runs["accuracy_pct"] = runs["accuracy_pct"].where(~unscored)
    runs["note"] = [("proved infeasible" if t == "infeasible" else f"no placement ({t})") if u else ""
                    for t, u in zip(runs["termination"], unscored)]
    return runs


def runs_scored(n: int, m: int) -> str:
    """How many of a point's ``m`` runs its value covers: "n of m runs scored"."""
    return f"{n} of {m} runs scored"


def _point_runs_scored(data: pd.DataFrame, point: list[str]) -> pd.Series:
    """Per run of an accuracy figure: :func:`runs_scored` of its point (the runs that share the
    ``point`` columns: panel, config, x), for the CSV."""
    g = data.groupby(point)["accuracy_pct"]
    return pd.Series([runs_scored(n, m) for n, m in zip(g.transform("count"), g.transform("size"))], index=data.index)


def fig_devices(df: pd.DataFrame, dest: Path) -> list[Path]:
    """Fig. 15: accuracy vs number of devices, panels per tau (runs without a placement marked)."""
    data = _scored_or_not(df)[["instance", "tau", "config", "seed", "n_devices", "accuracy_pct", "rejected",
                               "termination", "note"]].sort_values(["tau", "config", "n_devices"])
    data["point_runs"] = _point_runs_scored(data, ["tau", "config", "n_devices"])
    return _save(LINE_FIGURES["fig15-accuracy-vs-devices"](data), data, dest, "fig15-accuracy-vs-devices")


def fig_mix(df: pd.DataFrame, dest: Path) -> list[Path]:
    """Fig. 16: accuracy vs the share of LG Nexus devices (the rest STM32H7), panels per tau (runs
    without a placement marked)."""
    runs = _scored_or_not(df)
    nexus = runs["device_types"].map(lambda t: 100.0 * t.get("nexus", 0) / max(sum(t.values()), 1))
    data = runs.assign(nexus_pct=nexus)[["instance", "tau", "config", "seed", "nexus_pct", "accuracy_pct", "rejected",
                                         "termination", "note"]]
    data["point_runs"] = _point_runs_scored(data, ["tau", "config", "nexus_pct"])
    return _save(LINE_FIGURES["fig16-accuracy-vs-mix"](data), data, dest, "fig16-accuracy-vs-mix")


def fig_optimum_rl(df: pd.DataFrame, dest: Path) -> list[Path]:
    """Fig. 17: latency and shared data of every request, per method, panels per instance."""
    rows = []
    for _, r in _ok(df).iterrows():
        pr = r["per_request"]
        for q, (lat, sh) in enumerate(zip(pr["latency_s"], pr["shared_bytes"]), 1):
            rows.append({"instance": r["instance"], "tau": r["tau"], "config": r["config"], "seed": r["seed"],
                         "request": q, "latency_s": lat, "shared_MB": None if sh is None else sh / 1e6,
                         "note": "rejected" if lat is None else ("infeasible" if r["note"].count("infeasible") else "")})
    data = pd.DataFrame(rows, columns=["instance", "tau", "config", "seed", "request", "latency_s", "shared_MB", "note"])
    files = _save(_bars(data, "instance", "request", "latency_s", "latency (s)", "Optimum vs RL: latency per request"),
                  data, dest, "fig17-optimum-rl-latency")
    files += _save(_bars(data, "instance", "request", "shared_MB", "shared data (MB)", "Optimum vs RL: shared data per request"),
                   data, dest, "fig17-optimum-rl-shared")
    return files


def fig_scaling(df: pd.DataFrame, dest: Path) -> list[Path]:
    """Solve time vs requests (lines per device count) and vs devices (per request count).

    Times are charged as in the solver table; hollow markers are runs that did not solve.
    """
    data = df.assign(time_s=df.apply(_time, axis=1), solved=df["termination"].isin(SOLVED))
    data = data[["instance", "config", "tau", "n_requests", "n_devices", "termination", "solved", "time_s", "gap", "time_limit"]]
    fig, axes = _panels(2, 5.0)
    if not any(g[x].nunique() >= 2 for x, fixed in (("n_requests", "n_devices"), ("n_devices", "n_requests"))
               for _, g in data.groupby(["config", fixed, "tau"])):
        _nothing_to_draw(axes, dest / "scaling-solve-time.png", NOTHING_TO_DRAW["scaling"])
    for ax, x, fixed in ((axes[0], "n_requests", "n_devices"), (axes[1], "n_devices", "n_requests")):
        for (config, f, tau), g in data.groupby(["config", fixed, "tau"]):
            if g[x].nunique() < 2:
                continue
            g = g.groupby(x, as_index=False).agg(time_s=("time_s", "mean"), solved=("solved", "all")).sort_values(x)
            line = ax.plot(g[x], g["time_s"], label=f"{config} ({fixed.split('_')[1]}={f}, tau={tau})")[0]
            ax.scatter(g[x], g["time_s"], c=[line.get_color() if s else "white" for s in g["solved"]],
                       edgecolors=line.get_color(), zorder=3)
        ax.set(xlabel=x.replace("n_", "number of "), ylabel="solve time (s)", yscale="log")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2))
    fig.suptitle("Solve time scaling (hollow: not solved, charged at the limit)")
    return _save(fig, data.sort_values(["config", "n_devices", "n_requests"]), dest, "scaling-solve-time")


#: gaps (%) at the ends of :func:`gap_grid`'s colour scale (log): a gap outside it takes the end's
#: colour, its cell still prints its value
GAP_SCALE = (0.01, 1000.0)
_GAP_CELL = (1.3, 0.42)  # inches: width, height of a cell of :func:`gap_grid`
_GAP_FONTSIZE = 9.0
#: :func:`gap_grid`'s title (its lines wrapped to the figure's width)
_GAP_TITLE = ("Online methods: gap to the reference (certified optimum \"opt\" or best bound \"bound\"), per instance "
              "and method (bold: the lowest of the instance)\nhatched: no gap, the method rejects requests (its latency "
              "counts only those it admits) or breaks constraints, with the counts")
_VIOLATIONS = {"capacity_viol": "capacity", "privacy_viol": "privacy", "placement_viol": "placement"}


def gap_cell(r: pd.Series) -> tuple[str, bool]:
    """What :func:`gap_grid` prints in the cell of one row of the gap table, and whether the cell
    is marked (hatched): the gap (``gap_%``) of a placement that admits every request and breaks
    nothing, else what broke, one line each, with its count: ``"rejects R/N"``, ``"C capacity
    viol."``, ``"P privacy viol."``, ``"L placement viol."``, ``"infeasible"`` (no count kept),
    ``"no placement"`` (no latency); a feasible placement with no gap (no reference) prints
    ``"feasible, no reference"``. A gap is followed by the row's ``caveat`` (optional column: what
    makes the row not comparable with the others, e.g. a plan started from an offline placement)."""
    if pd.isna(r.get("latency_ms")):
        return "no placement", True
    lines = [status_note(r.get("rejected"), r.get("n_requests"), None, None)] if pd.notna(r.get("rejected")) and \
        r.get("rejected") else []
    lines += [f"{int(r[col])} {name} viol." for col, name in _VIOLATIONS.items() if pd.notna(r.get(col)) and r.get(col)]
    if not lines and not (pd.isna(r.get("feasible")) or bool(r.get("feasible"))):
        lines = ["infeasible"]
    if lines:
        return "\n".join(lines), True
    gap = r.get("gap_%")
    if pd.isna(gap):
        return "feasible,\nno reference", False
    caveat = r.get("caveat")
    return _gap_text(float(gap)) + (f"\n{caveat}" if isinstance(caveat, str) and caveat else ""), False


def _gap_text(gap: float) -> str:
    """A gap (%) as a cell prints it: 2 decimals below 1 %, 1 below 10 %, none above."""
    digits = 2 if abs(gap) < 1 else 1 if abs(gap) < 10 else 0
    return f"{round(gap, digits) + 0.0:.{digits}f} %"  # + 0.0: no "-0.00" for a round-off below the reference


def _instance_label(r: pd.Series) -> str:
    """An instance's row label: its name, its number of requests and its reference's kind (opt,
    bound, none) where ``r`` (one of its rows) has them."""
    kind = r.get("reference_kind")
    facts = [_requests(int(r["n_requests"])) if pd.notna(r.get("n_requests")) else "",
             "" if "reference_kind" not in r else f"reference: {kind if isinstance(kind, str) and kind else 'none'}"]
    return r["instance"] + ("\n" + ", ".join(f for f in facts if f) if any(facts) else "")


def _requests(n: int) -> str:
    return f"{n} request{'' if n == 1 else 's'}"


def _wrap_method(method: str) -> str:
    """A method's name as a column header: its parts in parentheses on lines of their own."""
    import textwrap

    head, _, tail = method.partition(" (")
    tail = ("(" + tail).replace(" %", "\u00a0%")  # a number keeps its unit on its line
    return head + ("\n" + textwrap.fill(tail, 14, break_on_hyphens=False) if tail != "(" else "")


def gap_grid(rows: pd.DataFrame, dest: str | Path, methods: list[str] | None = None,
             groups: dict[str, str] | None = None) -> list[str]:
    """The online gap-table figure: one row per instance, one column per method, each cell the
    method's gap to the instance's reference (%, printed, and its colour on a log scale,
    :data:`GAP_SCALE`), or, hatched grey, what made it not comparable (:func:`gap_cell`: the
    requests it rejected, the constraints it broke, with their counts); "not run" where ``rows``
    have no row for the pair. The lowest gap of each instance is bold.

    ``rows``: the gap table's rows (``instance, method, n_requests, latency_ms, gap_%, rejected,
    feasible, capacity_viol, privacy_viol, placement_viol``; ``reference_kind``, where present, is
    printed beside the instance), instances in their order in ``rows``; ``methods``: the columns'
    order (default, and for methods it leaves out, after it: their order in ``rows``); ``groups``:
    instance -> the name of its block (instances of one block drawn together under its name, blocks
    in the order of their first instance; default: one block). Writes ``dest`` (PNG, atomically)
    and returns the cells' texts, block by block, row by row. Raises ValueError for ``rows`` of no row."""
    import io

    if rows.empty:
        raise ValueError("no rows to draw (fix: give the gap table's rows)")
    fig, written = _gap_figure(rows, methods or [], groups or {})
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    atomic_write_bytes(Path(dest), buf.getvalue())
    return written


def _gap_figure(rows: pd.DataFrame, methods: list[str], groups: dict[str, str]) -> tuple[plt.Figure, list[str]]:
    """:func:`gap_grid`'s figure (one axes per block, then the colour bar's) and its cells' texts."""
    import matplotlib.colors as mcolors

    order = list(dict.fromkeys([*(m for m in methods if m in set(rows["method"])), *rows["method"]]))
    blocks: dict[str, list[str]] = {}
    for name in dict.fromkeys(rows["instance"]):
        blocks.setdefault(groups.get(name, ""), []).append(name)
    width, height = _GAP_CELL
    header = 0.75 + 0.16 * max(_wrap_method(m).count("\n") for m in order)
    fig_w = 2.9 + width * len(order) + 1.2
    title = _fit_lines(_GAP_TITLE, fig_w - 0.2, _GAP_FONTSIZE + 2)  # a few columns: the title wraps, not clipped
    body = sum(height * len(v) + 0.45 for v in blocks.values())  # inches: the blocks, the colour bar's length
    fig_h = header + 0.9 + 0.2 * (title.count("\n") - 1) + body
    fig = plt.figure(figsize=(fig_w, fig_h), layout="constrained")
    grid = fig.add_gridspec(len(blocks), 2, height_ratios=[len(v) + 0.6 for v in blocks.values()],
                            width_ratios=[width * len(order), 0.25])
    colour = (plt.get_cmap("RdYlGn_r"), mcolors.LogNorm(*GAP_SCALE, clip=True))
    written: list[str] = []
    for b, (block, names) in enumerate(blocks.items()):
        ax = fig.add_subplot(grid[b, 0])
        written += _gap_block(ax, rows[rows["instance"].isin(names)], names, order, colour)
        ax.set_xticks(range(len(order)), [_wrap_method(m) for m in order] if b == 0 else [], fontsize=_GAP_FONTSIZE)
        ax.tick_params(top=b == 0, labeltop=b == 0, bottom=False, labelbottom=False, left=False)
        if block:
            ax.set_title(block, loc="left", fontsize=_GAP_FONTSIZE + 1, fontweight="bold")
    bar = fig.colorbar(plt.cm.ScalarMappable(norm=colour[1], cmap=colour[0]), cax=fig.add_subplot(grid[:, 1]),
                       extend="both")
    ticks = [10.0 ** k for k in range(-2, 4)]
    bar.set_ticks(ticks, labels=[f"{t:g}" for t in ticks], fontsize=_GAP_FONTSIZE)
    bar.set_label(_fit_lines("gap to the reference (%), log scale (beyond its ends: the end's colour)", body,
                             _GAP_FONTSIZE), fontsize=_GAP_FONTSIZE)
    fig.suptitle(title, fontsize=_GAP_FONTSIZE + 2)
    return fig, written


def _fit_lines(text: str, inches: float, fontsize: float) -> str:
    """``text`` with each of its lines wrapped to about ``inches`` of ``fontsize`` pt text (a glyph
    about 0.6 em wide on average), at least 20 characters a line."""
    import textwrap

    chars = max(20, int(inches * 72 / (0.6 * fontsize)))
    return "\n".join(textwrap.fill(line, chars) for line in text.split("\n"))


def _gap_block(ax: plt.Axes, rows: pd.DataFrame, names: list[str], order: list[str], colour: tuple) -> list[str]:
    """Draw the cells of instances ``names`` (row ``i``: ``names[i]``, column ``j``: ``order[j]``,
    each the unit square around (j, i)) on ``ax`` and label its rows; ``colour``: (colour map, norm)
    of the gaps. Returns the cells' texts, row by row."""
    cells = {(r["instance"], r["method"]): r for _, r in rows.iterrows()}
    written = []
    for i, name in enumerate(names):
        drawn = {m: gap_cell(cells[name, m]) for m in order if (name, m) in cells}
        gaps = [cells[name, m]["gap_%"] for m, (_, marked) in drawn.items()
                if not marked and pd.notna(cells[name, m].get("gap_%"))]
        best = _gap_text(min(gaps)) if gaps else None
        for j, method in enumerate(order):
            text, marked = drawn.get(method, ("not run", False))
            _draw_cell(ax, (j, i), text, marked, cells[name, method].get("gap_%") if method in drawn else None,
                       text.split("\n")[0] == best, colour)
            written.append(text)
    ax.set(xlim=(-0.5, len(order) - 0.5), ylim=(len(names) - 0.5, -0.5))
    ax.set_yticks(range(len(names)), [_instance_label(rows[rows["instance"] == n].iloc[0]) for n in names],
                  fontsize=_GAP_FONTSIZE)
    for k in range(1, len(order)):
        ax.axvline(k - 0.5, color="0.75", lw=0.6)
    for k in range(1, len(names)):
        ax.axhline(k - 0.5, color="0.75", lw=0.6)
    return written


def _draw_cell(ax: plt.Axes, at: tuple[int, int], text: str, marked: bool, gap: object, best: bool,
               colour: tuple) -> None:
    """One cell of :func:`gap_grid` centred on ``at``: hatched grey with ``text`` in dark red
    (``marked``), coloured by ``gap`` (a number), or white (no gap: not run, no reference)."""
    import matplotlib.colors as mcolors
    from matplotlib.patches import Rectangle

    cmap, norm = colour
    shown = not marked and gap is not None and pd.notna(gap)
    face = "0.88" if marked else cmap(norm(max(float(gap), GAP_SCALE[0]))) if shown else "white"
    ax.add_patch(Rectangle((at[0] - 0.5, at[1] - 0.5), 1, 1, facecolor=face, edgecolor="0.7" if marked else "white",
                           hatch="///" if marked else None, lw=0.0 if marked else 1.0))
    dark = shown and sum(c * w for c, w in zip(mcolors.to_rgb(face), (0.299, 0.587, 0.114))) < 0.5
    not_run = text == "not run"
    ax.text(*at, text, ha="center", va="center", fontsize=_GAP_FONTSIZE - (1 if "\n" in text else 0),
            color="white" if dark else "darkred" if marked else "0.6" if not_run else "black",
            fontweight="bold" if best and not marked else "normal", fontstyle="italic" if not_run else "normal",
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85} if marked else None)


def load_rounds(out: str | Path) -> pd.DataFrame:
    """One row per recorded round (``extra["rounds"]`` of each record under ``OUT/records/``):
    run key, instance, config, round, elapsed_s, incumbent, bound, gap, columns."""
    rows = []
    for f in sorted((Path(out) / "records").glob("*.json")):
        rec = restore_non_finite(json.loads(f.read_text()), str(f))
        run = rec.get("run") or {}
        config = "/".join(str(p) for p in (run.get("method"), run.get("solver"), run.get("formulation")) if p)
        extra = rec.get("extra") or {}
        # column generation run alone, or inside the decomposition (``optdist solve``'s coupled step)
        for rd in extra.get("rounds") or (extra.get("coupled_solve") or {}).get("rounds") or []:
            rows.append({"key": rec.get("key"), "instance": run.get("instance"), "config": config,
                         **{k: rd.get(k) for k in ("round", "elapsed_s", "incumbent", "bound", "gap", "columns")}})
    return pd.DataFrame(rows, columns=["key", "instance", "config", "round", "elapsed_s", "incumbent", "bound",
                                       "gap", "columns"])


def fig_convergence(rounds: pd.DataFrame, dest: Path) -> list[Path]:
    """Left: certified gap (%) vs elapsed time, one line per run; right: incumbent (solid) and
    bound (dashed) per round, relative to the run's final bound. From :func:`load_rounds`."""
    fig, axes = _panels(2, 5.0)
    if rounds.empty:
        _nothing_to_draw(axes, dest / "convergence.png", NOTHING_TO_DRAW["convergence"])
    for (inst, config), g in rounds.groupby(["instance", "config"], sort=True):
        g = g.sort_values("round")
        label = f"{inst} ({config})"
        gp = g.dropna(subset=["gap"])
        line = axes[0].plot(gp["elapsed_s"], 100.0 * gp["gap"].clip(lower=1e-6), marker="o", ms=3, label=label)[0]
        final = g["bound"].dropna()
        ref = float(final.iloc[-1]) if len(final) else 1.0
        axes[1].plot(g["round"], g["incumbent"] / ref, color=line.get_color(), marker="o", ms=3, label=label)
        axes[1].plot(g["round"], g["bound"] / ref, color=line.get_color(), ls="--")
    axes[0].set(xlabel="elapsed (s)", ylabel="certified gap (%)", yscale="log")
    # the line key in the figure's title: in the y label it ran into that title
    axes[1].set(xlabel="round", ylabel="objective / final bound")
    for ax in axes:
        ax.grid(alpha=0.3)
    if axes[0].get_legend_handles_labels()[0]:
        axes[0].legend(fontsize=7, loc="upper center", bbox_to_anchor=(1.1, -0.2), ncol=2)
    fig.suptitle("Column generation: convergence of the certified gap (right: incumbent solid, bound dashed)")
    return _save(fig, rounds, dest, "convergence")


#: why :func:`fig_scaling` and :func:`fig_convergence` have nothing to draw (their panels were blank, with no word), and the fix
NOTHING_TO_DRAW = {
    "scaling": ("no configuration ran on two or more request counts at one device count and tau, nor on two or more "
                "device counts at one request count: it draws solve time against size (fix: give the spec instances of "
                "several sizes, e.g. instances/paper/lenet-1x10-tau0.8.json and lenet-3x10-tau0.8.json)"),
    "convergence": ("no run recorded column-generation rounds (extra \"rounds\": the method "
                    "optdist.milp.decomposition.colgen:column_generation, or a decomposition whose coupled step ran it) "
                    "(fix: add such runs to the spec, as benchmarks/specs/coupled.toml does)"),
}


def _nothing_to_draw(axes: list[plt.Axes], png: Path, why: str) -> None:
    """Say ``why`` a figure (to be written as ``png``) is empty: on each of its ``axes`` and as a warning on stderr."""
    log.warning("%s: nothing to draw: %s", png, why)
    for ax in axes:
        ax.text(0.5, 0.5, "nothing to draw:\n" + _fit_lines(why.split(" (fix: ")[0], 4.0, 8), transform=ax.transAxes,
                ha="center", va="center", fontsize=8, color="darkred")


FIGURES: dict[str, Callable[[pd.DataFrame, Path], list[Path]]] = {
    "tau": fig_tau,
    "greedy-rl": fig_greedy_rl,
    "devices": fig_devices,
    "mix": fig_mix,
    "optimum-rl": fig_optimum_rl,
    "scaling": fig_scaling,
    "convergence": fig_convergence,  # drawn from load_rounds(out), not the run table
}


def write_figures(out: str | Path, names: list[str], dest: str | Path, warn: bool = True) -> list[Path]:
    """Draw the named figures from the records under ``out`` into ``dest``.

    A record that contradicts itself (a bound above its own objective, an evaluator's score other
    than its objective, ...) is left out of every figure, by the tables' own rule
    (:func:`optdist.bench.tables.set_aside_contradictions`), with one warning per record on stderr
    naming its file and the fix (``warn`` False: not, where the same command's tables said it,
    e.g. ``optdist bench``: once per record per command); ``convergence`` leaves out its rounds too."""
    unknown = sorted(set(names) - set(FIGURES))
    if unknown:
        raise ValueError(f"unknown figure(s) {quoted(unknown)} (fix: choose from {quoted(sorted(FIGURES))})")
    records = load_records(out)
    sound, bad_warns, bound_warns = set_aside_contradictions(records, out, LEFT_OUT_OF_FIGURES)
    for w in bad_warns + bound_warns if warn else []:
        log.warning("%s", w)
    aside = set(records["key"]) - set(sound["key"])
    lost = sound[sound["status"] != "ok"]
    if len(lost):  # else a failed run vanished from the figures without a word (gaps.md counts them: failed)
        which = ", ".join(str(record_path(out, k)) for k in lost["key"][:3]) + (
            f" and {len(lost) - 3} more" if len(lost) > 3 else "")
        log.warning("%d failed run(s) (status error or timeout: no placement) are not drawn in the figures: %s "
                    "(fix: see the error in each record, fix its cause, then run %s with --retry-errors)",
                    len(lost), which, rerun(out))
    df = prepare(sound)
    files: list[Path] = []
    for name in names:
        if name == "convergence":
            rounds = load_rounds(out)
            files += fig_convergence(rounds[~rounds["key"].isin(aside)], Path(dest))
        else:
            files += FIGURES[name](df, Path(dest))
    return files
