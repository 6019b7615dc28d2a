"""Privacy tables and the fixed Nf / split-point reading rules (MODEL.md section 6).

A privacy table holds, per CNN, one row per attacked tensor (the output of a named layer)
and one cell per number ``m`` of that tensor's maps given to a device: the SSIM of the best
black-box inversion from those ``m`` maps. From a table and the tolerated SSIM ``tau``:

* layer k (k >= 2) is *governed* by the row of the latest measured tensor at or before its
  input (the output of layer k-1); with none, by the first row after it;
* ``Nf_k(tau) = max{m in columns : SSIM_row(m) <= tau}`` (0 if none), where a missing cell
  for a smaller m inherits the nearest measured larger-m value (SSIM non-increasing in m);
* ``SSIM_row(all)`` is the cell at m = P, else the row's recorded ``full_map_ssim``, else 1;
* the split point ``SP(tau)`` is the first layer from which every governing row has
  ``SSIM(all) <= tau``; (10f) ``maps received by a device at layer k <= Nf_k`` holds for
  ``k < SP``; (10h) a layer ``k < SP`` with ``Nf_k = 0``, or an fc layer with
  ``Nf_k < in_maps``, runs on the request's trusted source.

Layer 1 and layer L always run on the source (eqs. 8, 9).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from optdist.io import atomic_write_text
from optdist.paths import MODELS_DIR
from optdist.profiles import Profile, load_profile

FORMAT = "optdist-privacy-table/1"


class PrivacyRow(BaseModel):
    """SSIM of the inversion of ``m`` of the ``maps`` output maps of layer ``tensor``."""

    model_config = ConfigDict(extra="forbid")

    tensor: str = Field(description="profile layer whose output tensor is attacked, e.g. 'ReLU11'")
    maps: int = Field(gt=0, description="number of maps P in that tensor")
    cells: dict[int, float] = Field(description="m -> mean SSIM over attacks on m maps")
    spread: dict[int, float] = Field(default_factory=dict, description="m -> std of SSIM over subsets/seeds")
    psnr: dict[int, float] = Field(default_factory=dict, description="m -> mean PSNR (dB)")
    full_map_ssim: float | None = Field(default=None, description="SSIM with all maps, if not a cell")
    ambiguous: list[int] = Field(default_factory=list, description="columns whose value is uncertain")
    note: str = ""

    @field_validator("cells", "spread", "psnr")
    @classmethod
    def _check_cells(cls, v: dict[int, float]) -> dict[int, float]:
        for m, s in v.items():
            if m <= 0:
                raise ValueError(f"column m={m} must be a positive number of maps")
            if not (-1.0 <= s <= 100.0):
                raise ValueError(f"cell m={m} value {s} out of range")
        return v

    def ssim_all(self) -> float:
        """SSIM with all maps: the m = P cell, else ``full_map_ssim``, else 1 (conservative)."""
        if self.maps in self.cells:
            return self.cells[self.maps]
        return 1.0 if self.full_map_ssim is None else self.full_map_ssim

    def ssim(self, m: int) -> float:
        """SSIM for ``m`` maps, inheriting from the nearest measured larger m (1 if none)."""
        if m >= self.maps:
            return self.ssim_all()
        if m in self.cells:
            return self.cells[m]
        larger = sorted(c for c in self.cells if c > m)
        return self.cells[larger[0]] if larger else self.ssim_all()


class PrivacyTable(BaseModel):
    """A per-CNN privacy table with provenance (``models/privacy/<cnn>-<name>.json``)."""

    model_config = ConfigDict(extra="forbid")

    format: str = FORMAT
    cnn: str
    name: str
    metric: str = "ssim"
    ssim_decimals: int | None = Field(
        default=None, description="round cells to this many decimals before comparing with tau"
    )
    provenance: dict[str, Any] = Field(default_factory=dict)
    rows: list[PrivacyRow]

    def columns(self) -> list[int]:
        """All m values of the table (union of the rows' cells and their P)."""
        cols = {m for row in self.rows for m in row.cells} | {row.maps for row in self.rows}
        return sorted(cols)

    def row(self, tensor: str) -> PrivacyRow:
        for r in self.rows:
            if r.tensor == tensor:
                return r
        raise KeyError(f"privacy table {self.cnn}-{self.name} has no row {tensor!r}")

    def _cmp(self, s: float) -> float:
        return s if self.ssim_decimals is None else round(s, self.ssim_decimals)

    def nf(self, row: PrivacyRow, tau: float) -> int:
        """``max{m in columns, m <= P : SSIM(m) <= tau}``, or 0."""
        ok = [m for m in self.columns() if m <= row.maps and self._cmp(row.ssim(m)) <= tau + 1e-12]
        return max(ok, default=0)

    def save(self, path: str | Path) -> Path:
        return atomic_write_text(path, self.model_dump_json(indent=1) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> PrivacyTable:
        path = Path(path)
        try:
            return cls.model_validate(json.loads(path.read_text()))
        except FileNotFoundError:
            raise FileNotFoundError(f"{path}: privacy table not found") from None
        except Exception as e:  # pydantic.ValidationError or JSON error
            raise ValueError(f"{path}: invalid privacy table: {e}") from e

    def check_against(self, profile: Profile) -> list[str]:
        """Problems of this table for ``profile`` (unknown tensors, wrong map counts)."""
        problems = []
        names = [la.name for la in profile.layers]
        for i, r in enumerate(self.rows):
            if r.tensor not in names:
                problems.append(f"rows[{i}].tensor: {r.tensor!r} is not a layer of {profile.cnn} ({names})")
            else:
                la = profile.layers[names.index(r.tensor)]
                if la.out_maps != r.maps:
                    problems.append(f"rows[{i}].maps: {r.maps} but {r.tensor} outputs {la.out_maps} maps")
            bad = [m for m in r.cells if m > r.maps]
            if bad:
                problems.append(f"rows[{i}].cells: columns {bad} exceed the row's {r.maps} maps")
        return problems


@dataclass(frozen=True)
class PrivacyLimits:
    """What a table and ``tau`` mean for each layer of one CNN.

    ``device_cap[k]``: most segments of layer k one untrusted device may own for one request
    (``None``: unconstrained); ``on_source[k]``: layer k runs entirely on the request's source;
    ``nf[k]``: Nf_k(tau) for constrained layers; ``split_point``: 0-based index of SP
    (``n_layers`` if never reached); ``governing[k]``: the row that governs layer k.
    """

    cnn: str
    tau: float
    split_point: int
    nf: tuple[int | None, ...]
    device_cap: tuple[int | None, ...]
    on_source: tuple[bool, ...]
    governing: tuple[str | None, ...]

    def table(self, profile: Profile):  # -> pandas.DataFrame
        import pandas as pd

        return pd.DataFrame(
            {
                "layer": [la.name for la in profile.layers],
                "kind": [la.kind for la in profile.layers],
                "P": [la.segments for la in profile.layers],
                "governed by": [g or "" for g in self.governing],
                "Nf": ["" if n is None else n for n in self.nf],
                "device cap": ["-" if c is None else c for c in self.device_cap],
                "on source": self.on_source,
            }
        )


def privacy_limits(profile: Profile, table: PrivacyTable | None, tau: float) -> PrivacyLimits:
    """Apply the fixed reading rules of MODEL.md section 6 to ``table`` at ``tau``."""
    L = profile.n_layers
    names = [la.name for la in profile.layers]
    if table is None:  # no privacy constraint at all
        on_src = tuple(k in (0, L - 1) for k in range(L))
        return PrivacyLimits(profile.cnn, tau, 1, (None,) * L, (None,) * L, on_src, (None,) * L)
    problems = table.check_against(profile)
    if problems:
        raise ValueError(f"privacy table {table.cnn}-{table.name} does not fit {profile.cnn}: " + "; ".join(problems))
    row_at = {names.index(r.tensor): r for r in table.rows}
    measured = sorted(row_at)
    governing: list[PrivacyRow | None] = [None] * L
    for k in range(1, L):
        before = [t for t in measured if t <= k - 1]  # output of layer t at or before input of k
        after = [t for t in measured if t > k - 1]
        governing[k] = row_at[before[-1]] if before else (row_at[after[0]] if after else None)
    # split point: first k from which every governing row leaks at most tau with all maps
    sp = L
    for k in range(L - 1, 0, -1):
        g = governing[k]
        if g is not None and table._cmp(g.ssim_all()) > tau + 1e-12:
            break
        sp = k
    nf: list[int | None] = [None] * L
    cap: list[int | None] = [None] * L
    on_src = [False] * L
    on_src[0] = on_src[L - 1] = True
    for k in range(1, L - 1):
        g = governing[k]
        if k >= sp or g is None:
            continue
        la = profile.layers[k]
        nf[k] = n = table.nf(g, tau)
        if n == 0 or (la.kind == "fc" and n < la.in_maps):
            on_src[k] = True  # (10h)
        else:
            cap[k] = 1 if la.kind == "fc" else min(n, la.segments)
    return PrivacyLimits(
        cnn=profile.cnn,
        tau=tau,
        split_point=sp,
        nf=tuple(nf),
        device_cap=tuple(cap),
        on_source=tuple(on_src),
        governing=tuple(g.tensor if g else None for g in governing),
    )


def table_path(cnn: str, name: str) -> Path:
    return MODELS_DIR / "privacy" / f"{cnn}-{name}.json"


@cache
def _load_cached(path: str) -> PrivacyTable:
    return PrivacyTable.load(path)


def resolve_table(cnn: str, ref: str, base: Path | None = None) -> PrivacyTable:
    """A table by bundled name (``models/privacy/<cnn>-<ref>.json``) or by file path."""
    candidates = []
    if ref.endswith(".json"):
        p = Path(ref)
        candidates.append(p if p.is_absolute() or base is None else base / p)
        candidates.append(Path(ref))
    candidates.append(table_path(cnn, ref))
    for c in candidates:
        if c.exists():
            t = _load_cached(str(c.resolve()))
            if t.cnn != cnn:
                raise ValueError(f"{c}: privacy table is for CNN {t.cnn!r}, not {cnn!r}")
            return t
    known = sorted(p.stem for p in (MODELS_DIR / "privacy").glob(f"{cnn}-*.json"))
    raise FileNotFoundError(
        f"no privacy table {ref!r} for {cnn}: looked at {[str(c) for c in candidates]}; bundled: {known}"
    )


@cache
def limits_for(cnn: str, ref: str | None, tau: float, base: str | None = None) -> PrivacyLimits:
    """Cached :func:`privacy_limits` for a bundled or file table."""
    table = None if ref is None else resolve_table(cnn, ref, Path(base) if base else None)
    return privacy_limits(load_profile(cnn), table, tau)
