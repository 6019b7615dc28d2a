"""Privacy tables: strict checks and the fixed Nf / split-point reading rules (MODEL.md section 6).

A privacy table holds, per CNN, one row per attacked tensor (the output of a named layer)
and one cell per number ``m`` of that tensor's maps given to a device: the SSIM of the best
black-box inversion from those ``m`` maps. Tables are read only through the monotone
reading ``SSIM*`` (a device holding m maps also holds every subset of them):

* a missing cell for a smaller m inherits the nearest measured larger-m value (the all-maps
  value ``SSIM(P)`` is the m = P cell, else the row's ``full_map_ssim``, else 1), and then
  ``SSIM*(m) = max{SSIM(m') : m' <= m}``, so ``SSIM*(P)`` is at least every cell;
* layer k (k >= 2) is *governed* by the row of the latest measured tensor at or before its
  input (the output of layer k-1); with none, by the first row after it;
* ``Nf_k(tau) = max{m in columns, m <= P : SSIM*(m) <= tau}`` (0 when one map already leaks
  more than tau): the largest m such that every measured m' <= m leaks at most tau;
* the split point ``SP(tau)`` is the first layer from which every governing row has
  ``SSIM*(P) <= tau``; (10f) ``maps received by a device at layer k <= Nf_k`` holds for
  ``k < SP``; (10h) a layer ``k < SP`` with ``Nf_k = 0``, or an fc layer with
  ``Nf_k < in_maps``, runs on the request's trusted source.

A table with ``ssim_decimals`` (this project's extension; the paper compares at one decimal)
has every ``SSIM*`` rounded half up on its written decimal before it meets tau
(:func:`round_ssim`: 0.85 -> 0.9), so no cell is read below the table at its precision.

Layer 1 and layer L always run on the source (eqs. 8, 9). Cells (and ``full_map_ssim``) must
be finite and in [0, 1], columns positive integers no larger than the row's P, one row per
tensor, and a table needs at least one row (an instance writes ``null`` for "no privacy
limit"). Bad tables raise :class:`PrivacyTableError`, naming the file, the JSON path and the
fix; rows that are not monotone are read conservatively and reported by :func:`table_warnings`.
"""

from __future__ import annotations

import json
import math
import numbers
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from optdist.jsonfile import (DocumentError, Problem, Schema, is_json_name, json_kind, json_path, json_text, not_an_object,
                              number_text, quoted, read_json, schema_problem, text_of)
from optdist.io import atomic_write_text
from optdist.options import is_whole
from optdist.paths import MODELS_DIR
from optdist.profiles import MAX_COUNT, Profile, load_profile

if TYPE_CHECKING:
    from optdist.instance import Instance

FORMAT = "optdist-privacy-table/1"
METRICS = ("ssim",)
MAX_DECIMALS = 6
MAX_TABLE_BYTES = 16 * 2**20
_COLUMN_KEY = re.compile(r"[1-9][0-9]{0,9}")  # a positive integer written plainly: "4", not "04", "4.0", " 4"
_TOL = 1e-12
#: the zoo networks ``optdist calibrate NAME`` trains and attacks (:data:`optdist.attacks.targets.TARGETS`'
#: names, here without importing torch; tests/test_break41.py checks that they agree)
CALIBRATE_TARGETS = ("cifar", "lenet", "orlvgg")
_SSIM_FIX = "give the mean SSIM of the attack as a finite number in [0, 1], e.g. 0.2"


TableProblem = Problem  # one problem type for every user document (optdist.jsonfile)


class PrivacyTableError(DocumentError):
    """An invalid privacy table; ``problems`` lists what was found (MODEL.md section 6)."""

    kind = "privacy table"


def round_ssim(s: float, decimals: int | None) -> float:
    """``s`` rounded half up on its written decimal value to ``decimals`` places (None: ``s`` itself).

    A table cell is a decimal written in JSON; its float is read back through ``repr`` (the
    shortest decimal that parses to it, which is the written value for up to 15 significant
    digits) and rounded half up: 0.85 -> 0.9, 0.35 -> 0.4, 0.95 -> 1.0. Python's ``round`` rounds
    the binary float instead (``round(0.85, 1) == 0.8``), which reads such a cell lower than
    written and would let a layer that leaks 0.85 pass tau 0.8. Rounding half up never reads a
    cell below the written value rounded to ``decimals`` places, so a limit is never weaker than
    the table as written. ``s`` is a finite SSIM in [0, 1] (a float or a numpy float); the result
    is the float nearest the rounded decimal, so it equals a tau written with the same digits.
    The decimals (a table's ``ssim_decimals``) are this project's extension of MODEL.md section 6.
    """
    if decimals is None:
        return s
    return float(Decimal(repr(float(s))).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP))


def _bad(message: str, fix: str, at: str = "") -> PydanticCustomError:
    """A validation error carrying its fix and a JSON-path suffix ``at`` below the field."""
    return PydanticCustomError("privacy_table", "{message}", {"message": message, "fix": fix, "at": at})


def _got(v: Any) -> str:
    """``got VALUE (its JSON kind)``: a value as typed, in JSON's words (numpy numbers as numbers)."""
    if isinstance(v, numbers.Real) and not isinstance(v, bool) and not isinstance(v, int | float):
        v = float(v) if not is_whole(v, integral=True) else int(v)  # numpy scalars
    return f"got {json_text(v)}" + ("" if v is None else f" ({json_kind(v)})")


def _whole_fix(v: Any, key: str, fix: str, hi: float = math.inf) -> str:
    """How to write ``v`` as a whole number in [1, hi] at ``key`` (``"maps": ``): without quotes or decimal
    point when that number is in range, else ``fix``."""
    number = number_text(v)
    if number is not None and is_whole(float(number)) and 0 < float(number) <= hi:
        return f"write the number without quotes: {key}{int(float(number))}"
    if isinstance(v, float) and is_whole(v) and 0 < v <= hi:
        return f"write it without the decimal point: {key}{int(v)}"
    return fix


def _column(key: Any) -> int:
    if is_whole(key, integral=True) and key > 0:
        return int(key)
    if isinstance(key, str) and _COLUMN_KEY.fullmatch(key):
        return int(key)
    shown = text_of(key) if isinstance(key, str) else str(key)
    raise _bad(
        f"column key {shown} is not a positive whole number of maps; expected the number m of maps attacked, "
        'a positive integer in quotes, e.g. "4"',
        'write each column as a positive integer in quotes, e.g. "4": 0.2 (no sign, leading zero, decimals or spaces)',
        f"[{shown}]",
    )


def _number(v: Any, lo: float, hi: float, what: str, fix: str, at: str, key: str = "") -> float:
    """``v`` as a float in [lo, hi]; ``what`` is what the place expects (``the mean SSIM``), ``key`` its JSON key."""
    want = f"{what}, a finite number" + ("" if math.isinf(lo) and math.isinf(hi) else f" in [{lo:g}, {hi:g}]")
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        number = number_text(v)
        raise _bad(f"{_got(v)}; expected {want}",
                   f"write the number without quotes: {key}{number}" if number is not None and lo <= float(number) <= hi
                   else fix, at)
    try:
        x = float(v)
    except OverflowError:  # an int too large for a float (10**400): out of any range
        raise _bad(f"got {json_text(v)}, out of range; expected {want}", fix, at) from None
    if not math.isfinite(x):
        raise _bad(f"got {x:g}, not a finite number; expected {want}", fix, at)
    if not lo <= x <= hi:
        raise _bad(f"got {x:g}, out of range: it must be in [{lo:g}, {hi:g}]; expected {want}", fix, at)
    return x


_COLUMN_RANGES = {  # field -> (low, high, what, fix)
    "cells": (0.0, 1.0, "the mean SSIM of the attack on m maps", _SSIM_FIX),
    "spread": (0.0, 1.0, "the standard deviation of that SSIM",
               "give the standard deviation of the SSIM as a finite number in [0, 1], e.g. 0.05"),
    "psnr": (-math.inf, math.inf, "the mean PSNR in dB", "give the mean PSNR in dB as a finite number, e.g. 12.5"),
}
_COLUMNS_EXAMPLE = {"cells": '{"4": 0.2, "8": 0.7}', "spread": '{"4": 0.05, "8": 0.04}', "psnr": '{"4": 11.2, "8": 14.9}'}


class PrivacyRow(BaseModel):
    """SSIM of the inversion of ``m`` of the ``maps`` output maps of layer ``tensor``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    tensor: str = Field(min_length=1, description="profile layer whose output tensor is attacked, e.g. 'ReLU11'")
    maps: int = Field(gt=0, description="number of maps P in that tensor")
    cells: dict[int, float] = Field(description="m -> mean SSIM over attacks on m maps, in [0, 1]")
    spread: dict[int, float] = Field(default_factory=dict, description="m -> std of SSIM over subsets/seeds")
    psnr: dict[int, float] = Field(default_factory=dict, description="m -> mean PSNR (dB)")
    full_map_ssim: float | None = Field(default=None, description="SSIM with all maps, if not a cell")
    ambiguous: list[int] = Field(default_factory=list, description="columns whose value is uncertain")
    note: str = ""

    @field_validator("cells", "spread", "psnr", mode="before")
    @classmethod
    def _check_columns(cls, v: Any, info) -> dict[int, float]:
        lo, hi, what, fix = _COLUMN_RANGES[info.field_name]
        name = info.field_name
        if not isinstance(v, dict):
            example = _COLUMNS_EXAMPLE[name]
            fix = (f"name each value by its number of maps, in braces: \"{name}\": {example}" if isinstance(v, list)
                   else f"write an object from each number of maps (in quotes) to {what}: \"{name}\": {example}")
            raise _bad(f"{_got(v)}; expected an object from each number of maps m to {what}", fix)
        out: dict[int, float] = {}
        for key, s in v.items():
            m = _column(key)
            at = f'["{m}"]'
            if m in out:
                raise _bad(f"column {m} appears twice", "keep one value per number of maps", at)
            out[m] = _number(s, lo, hi, what, fix, at, f'"{m}": ')
        return out

    @field_validator("maps", mode="before")
    @classmethod
    def _check_maps(cls, v: Any) -> int:
        if is_whole(v, integral=True) and v > MAX_COUNT or isinstance(v, float) and math.isfinite(v) and v > MAX_COUNT:
            raise _bad(f"{_got(v)}, out of range [1, {MAX_COUNT:g}]; expected the tensor's number of maps P, a positive "
                       "integer", _FIXES["maps"])  # 1e20: no profile's tensor has that many maps
        if not is_whole(v, integral=True) or v <= 0:
            raise _bad(f"{_got(v)}; expected the tensor's number of maps P, a positive integer",
                       _whole_fix(v, '"maps": ', _FIXES["maps"], MAX_COUNT))
        return int(v)

    @field_validator("ambiguous", mode="before")
    @classmethod
    def _check_ambiguous(cls, v: Any) -> list[int]:
        if not isinstance(v, list) or not all(is_whole(m, integral=True) for m in v):
            whole = [v] if is_whole(v, integral=True) else v if isinstance(v, list) else None
            numbers_ = [number_text(m) if isinstance(m, str) else str(m) if is_whole(m, integral=True) else None for m in whole or []]
            if whole is not None and all(n is not None and is_whole(float(n)) for n in numbers_):
                fix = ("put it in a list, in square brackets: " if is_whole(v, integral=True) else "write the columns without quotes: ") + \
                    f'"ambiguous": [{", ".join(str(int(float(n))) for n in numbers_)}]'
            else:
                fix = _FIXES["ambiguous"]
            raise _bad(f"{_got(v)}; expected a list of integers, the columns (numbers of maps) whose value is uncertain", fix)
        return [int(m) for m in v]

    @field_validator("full_map_ssim", mode="before")
    @classmethod
    def _check_full(cls, v: Any) -> float | None:
        fix = ('give the all-maps SSIM as a finite number in [0, 1], e.g. "full_map_ssim": 0.98, or null when only '
               "the m = P cell gives it")
        return None if v is None else _number(v, 0.0, 1.0, "the SSIM of the attack on all P maps", fix, "",
                                              '"full_map_ssim": ')

    @model_validator(mode="after")
    def _check_row(self, info: ValidationInfo) -> PrivacyRow:
        true_maps = ((info.context or {}).get("maps") or {}).get(self.tensor)  # the profile's, when it is known
        if true_maps is not None and true_maps != self.maps:  # checked first: the cells are read against it
            raise _bad(f'got "maps": {self.maps}, but {text_of(self.tensor)} outputs {true_maps} maps in the profile',
                       f'set "maps": {true_maps}', ".maps")
        over = sorted(m for m in self.cells if m > self.maps)
        if over:
            cols = ", ".join(f'"{m}"' for m in over)
            one = len(over) == 1
            if true_maps is not None:
                raise _bad(f"column{'' if one else 's'} {cols} {'is' if one else 'are'} above the {self.maps} maps of "
                           f"{text_of(self.tensor)} (\"maps\": {self.maps})",
                           f"remove {'it' if one else 'them'}: a column is a number of maps m from 1 to {self.maps}, "
                           f'e.g. "cells": {{"{max(1, self.maps // 2)}": 0.2, "{self.maps}": 0.7}}', ".cells")
            raise _bad(f"column{'' if one else 's'} {cols} exceed{'s' if one else ''} the row's \"maps\": {self.maps}",
                       f"remove {'it' if one else 'them'}, or set \"maps\" to the number of maps of {text_of(self.tensor)} "
                       f"(at least {over[-1]}), e.g. \"maps\": {over[-1]}", ".cells")
        if not self.cells and self.full_map_ssim is None:
            raise _bad("the row measures nothing (no cells and no full_map_ssim)", 'add measured cells, e.g. "cells": {"4": 0.2}, or remove the row', ".cells")
        for name in ("spread", "psnr"):
            extra = sorted(set(getattr(self, name)) - set(self.cells))
            if extra:
                raise _bad(f"columns {extra} have a {name} but no SSIM cell", f"add their cells or remove them from {name}", f".{name}")
        known = set(self.cells) | ({self.maps} if self.full_map_ssim is not None else set())
        unknown = sorted(set(self.ambiguous) - known)
        if unknown:
            raise _bad(f"ambiguous columns {unknown} are not measured", "list only columns that have a cell", ".ambiguous")
        return self

    def all_maps_value(self) -> float:
        """The recorded all-maps SSIM: the m = P cell, else ``full_map_ssim``, else 1 (conservative)."""
        if self.maps in self.cells:
            return self.cells[self.maps]
        return 1.0 if self.full_map_ssim is None else self.full_map_ssim

    def ssim_all(self) -> float:
        """``SSIM*(P)``: the all-maps value raised to every cell (a device with P maps has every subset)."""
        return max([self.all_maps_value(), *self.cells.values()])

    def ssim(self, m: int) -> float:
        """``SSIM*(m)`` (MODEL.md section 6): the running maximum of the inherited cells up to ``m``.

        A missing cell inherits the nearest measured larger-m value (the all-maps value past the
        largest cell); ``SSIM*(m)`` is the largest of those values over ``m' <= m``, i.e. of the
        cells at ``m' <= m`` and the value ``m`` itself inherits. ``m >= P`` gives ``SSIM*(P)``.
        """
        if m >= self.maps:
            return self.ssim_all()
        larger = [c for c in self.cells if c >= m]
        inherited = self.cells[min(larger)] if larger else self.all_maps_value()
        return max([inherited, *(s for c, s in self.cells.items() if c <= m)])


class PrivacyTable(BaseModel):
    """A per-CNN privacy table with provenance (``models/privacy/<cnn>-<name>.json``).

    Building one checks every row; :func:`check_table` (used by :meth:`load` and
    :func:`privacy_limits`) also rejects a table without rows.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    format: str = FORMAT
    cnn: str = Field(min_length=1)
    name: str = Field(min_length=1)
    metric: str = "ssim"
    ssim_decimals: int | None = Field(
        default=None, description="round cells half up to this many decimals before comparing with tau (round_ssim)"
    )
    provenance: dict[str, Any] = Field(default_factory=dict)
    rows: list[PrivacyRow]

    @field_validator("format")
    @classmethod
    def _check_format(cls, v: str) -> str:
        if v != FORMAT:
            raise _bad(f"got {json_text(v)}, an unknown format; expected the text \"{FORMAT}\"", f'set "format": "{FORMAT}"')
        return v

    @field_validator("metric")
    @classmethod
    def _check_metric(cls, v: str) -> str:
        if v not in METRICS:
            raise _bad(f"got {json_text(v)}, an unknown metric; expected \"ssim\" (Nf and the split point compare SSIM with tau)",
                       'use "metric": "ssim", or leave the field out')
        return v

    @field_validator("ssim_decimals", mode="before")
    @classmethod
    def _check_decimals(cls, v: Any) -> int | None:
        if v is not None and not (is_whole(v, integral=True) and 1 <= v <= MAX_DECIMALS):
            fix = f"give 1 to {MAX_DECIMALS} decimals, e.g. \"ssim_decimals\": 1, or null to compare cells unrounded"
            written = _whole_fix(v, '"ssim_decimals": ', "")
            if written and 1 <= float(number_text(v) or v) <= MAX_DECIMALS:
                fix = written
            raise _bad(f"{_got(v)}; expected the number of decimals the cells are rounded to before they meet tau, an integer from 1 to "
                       f"{MAX_DECIMALS}, or null", fix)
        return None if v is None else int(v)

    @field_validator("provenance", mode="before")
    @classmethod
    def _check_provenance(cls, v: Any) -> Any:
        """The provenance fields optdist reads back (:func:`check_provenance`); the rest is free text."""
        if isinstance(v, dict):
            check_provenance(v)
        return v

    @model_validator(mode="after")
    def _check_rows(self) -> PrivacyTable:
        seen: dict[str, int] = {}
        for i, r in enumerate(self.rows):
            if r.tensor in seen:
                raise _bad(
                    f"tensor {text_of(r.tensor)} has two rows (rows[{seen[r.tensor]}] and rows[{i}])",
                    "merge them into one row per tensor", f".rows[{i}].tensor",
                )
            seen[r.tensor] = i
            if r.maps in r.cells and r.full_map_ssim is not None and self._cmp(r.cells[r.maps]) != self._cmp(r.full_map_ssim):
                raise _bad(
                    f"two all-maps values disagree: cells[\"{r.maps}\"] = {r.cells[r.maps]} and full_map_ssim = {r.full_map_ssim}",
                    "keep one all-maps value: set full_map_ssim to null or make it equal to the m = P cell",
                    f".rows[{i}].full_map_ssim",
                )
        return self

    def columns(self) -> list[int]:
        """All m values of the table (union of the rows' cells and their P)."""
        cols = {m for row in self.rows for m in row.cells} | {row.maps for row in self.rows}
        return sorted(cols)

    def row(self, tensor: str) -> PrivacyRow:
        for r in self.rows:
            if r.tensor == tensor:
                return r
        raise KeyError(f"privacy table {self.cnn}-{self.name} has no row {text_of(tensor)}")

    def _cmp(self, s: float) -> float:
        """The SSIM ``s`` as compared with tau: :func:`round_ssim` at ``ssim_decimals`` (half up)."""
        return round_ssim(s, self.ssim_decimals)

    def nf(self, row: PrivacyRow, tau: float) -> int:
        """``Nf = max{m in columns, m <= P : SSIM*(m) <= tau}``, or 0 (MODEL.md section 6)."""
        ok = [m for m in self.columns() if m <= row.maps and self._cmp(row.ssim(m)) <= tau + _TOL]
        return max(ok, default=0)

    def save(self, path: str | Path) -> Path:
        return atomic_write_text(path, self.model_dump_json(indent=1) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> PrivacyTable:
        """Read and check a table file; raises ``FileNotFoundError`` or :class:`PrivacyTableError`."""
        path = Path(path)
        return check_table(read_json(path, MAX_TABLE_BYTES, PrivacyTableError, "privacy table"), str(path))

    def check_against(self, profile: Profile) -> list[str]:
        """Problems of this table for ``profile`` (unknown tensors, wrong map counts), as text."""
        return [f"{p.path}: {p.message}" for p in _misfits(self, profile)]


_ATTACKER_FIELDS = {  # provenance.attacker field -> (what it is, lowest value, example); optdist.attacks.attacker.Attacker
    "samples": ("the number of the adversary's training images", 1, 5000),
    "epochs": ("the inverse network's training epochs", 1, 6),
    "batch": ("the training batch size", 1, 64),
    "test_samples": ("the number of test images scored", 1, 500),
    "seed": ("the training seed of the first inverse network", 0, 0),
    "data_seed": ("the seed of the adversary's image draw", 0, 1),
    "test_seed": ("the seed of the test image draw", 0, 2),
}
_ATTACKER_FIX = ('write the attacker optdist calibrate records, e.g. "attacker": {"samples": 5000, "epochs": 6, '
                 '"batch": 64, "lr": 0.002, "architecture": "optdist.attacks.inversion.decoder", "seed": 0, '
                 '"data_seed": 1, "test_samples": 500, "test_seed": 2}, or remove the field (a table without one is '
                 'measured against the calibration attacker)')


def check_provenance(prov: dict[str, Any]) -> None:
    """The provenance fields that optdist reads back, checked when a table is read: ``attacker``
    (read by ``solve --method defended`` and the DP sweep: :meth:`optdist.attacks.attacker.Attacker.from_provenance`),
    the older ``attack.epochs`` / ``test_samples`` it falls back on, and ``warnings`` (repeated by
    ``optdist validate`` and ``solve``). Raises the table's validation error naming the field
    (``provenance.attacker.samples``) and the fix; other fields are free text."""
    if "attacker" in prov:
        rec = prov["attacker"]
        if not isinstance(rec, dict):
            raise _bad(f"{_got(rec)}; expected the attacker the table was measured with, an object", _ATTACKER_FIX,
                       ".attacker")
        known = [*_ATTACKER_FIELDS, "lr", "architecture"]
        unknown = [k for k in rec if k not in known]
        if unknown:
            raise _bad(f"unknown field(s) {quoted(unknown)}; expected the fields {quoted(known)}",
                       f"remove {quoted(unknown)}, or {_ATTACKER_FIX}", f".attacker.{unknown[0]}")
        for key, (what, lo, example) in _ATTACKER_FIELDS.items():
            if key in rec and not (is_whole(rec[key], integral=True) and rec[key] >= lo and rec[key] <= MAX_COUNT):
                raise _bad(f"{_got(rec[key])}; expected {what}, a whole number >= {lo}",
                           _whole_fix(rec[key], f'"{key}": ', f'give a whole number >= {lo}, e.g. "{key}": {example}',
                                      MAX_COUNT) if lo else f'give a whole number >= 0, e.g. "{key}": {example}',
                           f".attacker.{key}")
        if "lr" in rec:
            lr = rec["lr"]
            if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not (math.isfinite(lr) and lr > 0):
                raise _bad(f"{_got(lr)}; expected the inverse network's learning rate, a finite number > 0",
                           'give it as a number, e.g. "lr": 0.002', ".attacker.lr")
        if "architecture" in rec and not (isinstance(rec["architecture"], str) and rec["architecture"].strip()):
            raise _bad(f"{_got(rec['architecture'])}; expected the inverse network's architecture, a non-empty string",
                       'e.g. "architecture": "optdist.attacks.inversion.decoder"', ".attacker.architecture")
    else:  # an older calibration: its attack's epochs and test images are read instead
        attack = prov.get("attack")
        if isinstance(attack, dict) and "epochs" in attack and not (
                is_whole(attack["epochs"], integral=True) and 1 <= attack["epochs"] <= MAX_COUNT):
            raise _bad(f"{_got(attack['epochs'])}; expected the inverse network's training epochs, a whole number >= 1",
                       _whole_fix(attack["epochs"], '"epochs": ', 'give a whole number >= 1, e.g. "epochs": 6',
                                  MAX_COUNT), ".attack.epochs")
        if "test_samples" in prov and not (is_whole(prov["test_samples"], integral=True)
                                           and 1 <= prov["test_samples"] <= MAX_COUNT):
            raise _bad(f"{_got(prov['test_samples'])}; expected the number of test images scored, a whole number >= 1",
                       _whole_fix(prov["test_samples"], '"test_samples": ',
                                  'give a whole number >= 1, e.g. "test_samples": 500', MAX_COUNT), ".test_samples")
    if "warnings" in prov:
        w = prov["warnings"]
        if not isinstance(w, list) or not all(isinstance(x, str) for x in w):
            bad = w if not isinstance(w, list) else next(x for x in w if not isinstance(x, str))
            raise _bad(f"{_got(bad)}; expected a list of warning texts (strings), "
                       "as optdist calibrate records them",
                       'write them as a list of strings, e.g. "warnings": ["--test-samples 8: ..."], or remove the '
                       "field", ".warnings" if not isinstance(w, list) else f".warnings[{w.index(bad)}]")


def _misfits(table: PrivacyTable, profile: Profile) -> list[TableProblem]:
    problems = []
    names = [la.name for la in profile.layers]
    for i, r in enumerate(table.rows):
        if r.tensor not in names:
            problems.append(TableProblem(
                f"rows[{i}].tensor", f"{text_of(r.tensor)} is not a layer of {profile.cnn} ({quoted(names)})",
                f"name one of the layers of {profile.cnn} listed here (`optdist profile` on the zoo name or the "
                "profile file lists them)"))
        else:
            la = profile.layers[names.index(r.tensor)]
            if la.out_maps != r.maps:
                problems.append(TableProblem(f"rows[{i}].maps", f'got "maps": {r.maps}, but {text_of(r.tensor)} outputs {la.out_maps} maps in the profile', f'set "maps": {la.out_maps}'))
    return problems


_ROW = '{"tensor": "ReLU2", "maps": 16, "cells": {"4": 0.2, "16": 0.7}}'
_EXPECTED = {  # place -> (what it expects, an example), for jsonfile.schema_problems
    "format": (f'the text "{FORMAT}"', f'"{FORMAT}"'),
    "cnn": ("the name of the CNN the table is for (a zoo name or a profile's cnn), a non-empty string", '"lenet"'),
    "name": ("the table's name (instances name it in \"privacy\"), a non-empty string", '"calibrated"'),
    "metric": ('"ssim"', '"ssim"'),
    "ssim_decimals": (f"an integer from 1 to {MAX_DECIMALS}, or null", "1"),
    "provenance": ("an object saying where the values come from", '{"source": "optdist calibrate, 20 attacks per cell"}'),
    "rows": ("a list of rows, one per attacked tensor, with at least one row", f"[{_ROW}]"),
    "rows[]": ("a row, an object with the fields tensor, maps and cells", _ROW),
    "rows[].tensor": ("the profile layer whose output tensor was attacked, a non-empty string", '"ReLU2"'),
    "rows[].maps": ("the tensor's number of maps P, a positive integer", "16"),
    "rows[].cells": ("an object from each number of maps m to the mean SSIM of the attack", '{"4": 0.2, "16": 0.7}'),
    "rows[].spread": ("an object from each number of maps m to the SSIM's standard deviation", '{"4": 0.05}'),
    "rows[].psnr": ("an object from each number of maps m to the mean PSNR in dB", '{"4": 11.2}'),
    "rows[].full_map_ssim": ("the SSIM of the attack on all P maps, a number in [0, 1], or null", "0.98"),
    "rows[].ambiguous": ("a list of integers, the columns whose value is uncertain", "[8]"),
    "rows[].note": ("a string", '"read from the paper\'s Table 2"'),
}
_FIXES = {  # field -> fix of the table's own checks
    "format": f'set "format": "{FORMAT}"',
    "maps": 'give the tensor\'s number of maps P as a positive integer, e.g. "maps": 16',
    "ambiguous": 'list the uncertain columns as integers, e.g. "ambiguous": [8], or leave the field out',
    "rows": f'list at least one row, e.g. "rows": [{_ROW}]; for no privacy limit write null for this CNN in the '
    'instance\'s "privacy" map instead of a table',
}


def _special(e: dict, loc: tuple, place: str) -> str | None:
    """The table's own fixes where the generic one says less: an empty or non-list ``rows``."""
    if place == "rows" and e["type"] in ("list_type", "too_short"):
        value = e.get("input")
        if isinstance(value, dict) and "tensor" in value:
            row = json_text(value, 10**6)
            return f"put the row in a list, in square brackets: \"rows\": [{row if len(row) <= 100 else '{...}'}]"
        return _FIXES["rows"] if value is None or e["type"] == "too_short" else None
    return None


SCHEMA = Schema(
    "the privacy table", expected=_EXPECTED, fixes=_FIXES, special=_special,
    objects={"": (PrivacyTable, "the privacy table"), "rows[]": (PrivacyRow, "a row")},
    maps=("provenance",), lists={"rows": "object", "rows[].ambiguous": "number"},
    quotable=frozenset({"cnn", "name", "rows[].tensor", "rows[].note"}),
    nullable=frozenset({"ssim_decimals", "rows[].full_map_ssim"}),
    hint="models/privacy/ holds tables, e.g. lenet-paper.json; `optdist calibrate` writes one")
_UNION_BRANCHES = ("float", "int", "none")  # pydantic's names of the branches of ``X | None``, not JSON places


def _problems(err: ValidationError) -> list[TableProblem]:
    """Each error in the user's terms: the table's own checks as they say, pydantic's through jsonfile's Schema."""
    problems = []
    for e in err.errors():
        e = {**e, "loc": tuple(p for p in e["loc"] if p not in _UNION_BRANCHES)}
        if e["type"] == "privacy_table":
            ctx = e["ctx"]
            path = (json_path(e["loc"]) + ctx["at"]).removeprefix("(document)").lstrip(".")
            problems.append(TableProblem(path or "(document)", ctx["message"], ctx["fix"]))
        else:
            problems.append(schema_problem(e, SCHEMA))
    return problems


_WRAP = f'write the table as an object: {{"format": "{FORMAT}", "cnn": "lenet", "name": "mine", "rows": [{_ROW}]}}'


def check_table(table: PrivacyTable | dict, source: str, profile: Profile | None = None) -> PrivacyTable:
    """Check a table (a model, or a parsed JSON document) strictly; return it validated.

    Raises :class:`PrivacyTableError` naming ``source`` (the file), each JSON path and its fix:
    unknown format or metric, non-finite or out-of-[0, 1] SSIM, bad column keys, two rows for
    one tensor, bad ``ssim_decimals``, two disagreeing all-maps values, no rows (MODEL.md section 6).
    With ``profile``, a row's ``maps`` is checked against its tensor's maps before its cells are.
    """
    problems: list[TableProblem] = []
    if isinstance(table, PrivacyTable):
        doc: Any = table.model_dump()
    else:
        doc = table
        if not isinstance(doc, dict):
            raise PrivacyTableError(source, [not_an_object(doc, "the privacy table", _WRAP)])
        if "format" not in doc:
            problems.append(TableProblem("format", f"required field missing; expected {_EXPECTED['format'][0]}",
                                         f'add "format": "{FORMAT}"'))
    try:
        context = {"maps": {la.name: la.out_maps for la in profile.layers}} if profile is not None else None
        checked = PrivacyTable.model_validate(doc, context=context)
    except ValidationError as e:
        raise PrivacyTableError(source, problems + _problems(e)) from None
    if not checked.rows:
        problems.append(TableProblem("rows", "got [] (an empty list): the table has no rows; expected "
                                     + _EXPECTED["rows"][0], _FIXES["rows"]))
    if problems:
        raise PrivacyTableError(source, problems)
    return checked


def table_warnings(table: PrivacyTable) -> list[str]:
    """Rows that are not monotone in m, rows without an all-maps value, and the warnings the table's
    provenance records (``provenance["warnings"]``, e.g. a calibration too weak to mean much).

    A non-monotone row is legal and read through the running maximum ``SSIM*`` (MODEL.md
    section 6); its warning names the cells where SSIM falls as m grows and the value read. A
    row without an all-maps value has SSIM(all) read as 1 (never past the split point).
    """
    out = []
    rounding = "" if table.ssim_decimals is None else f"; cells are compared with tau at {table.ssim_decimals} decimal(s), rounded half up"
    for i, r in enumerate(table.rows):
        where = f"rows[{i}] ({r.tensor})"
        points = [(f"SSIM({m})", m, s) for m, s in sorted(r.cells.items())]
        if r.maps not in r.cells and r.full_map_ssim is not None:
            points.append(("full_map_ssim", r.maps, r.full_map_ssim))
        falls = []
        top_name, top = "", -math.inf
        for name, m, s in points:
            if s < top:
                falls.append(f"{name} = {s:g} < {top_name} = {top:g}, read as SSIM*({m}) = {r.ssim(m):g}")
            else:
                top_name, top = name, s
        if falls:
            out.append(f"{where}: not monotone in m ({'; '.join(falls)}{rounding}); rows are read through the running maximum SSIM* (MODEL.md section 6)")
        if r.maps not in r.cells and r.full_map_ssim is None:
            out.append(f"{where}: no all-maps value (no cell for m = {r.maps}, no full_map_ssim): SSIM(all) is read as 1, so layers it governs never pass the split point")
    recorded = table.provenance.get("warnings") if isinstance(table.provenance, dict) else None
    if isinstance(recorded, list):  # e.g. optdist calibrate's: a quick run's table is weak evidence
        out += [f"provenance.warnings[{i}]: {w}" for i, w in enumerate(recorded)]
    return out


def rounding_warnings(table: PrivacyTable, tau: float, source: str) -> list[str]:
    """Where the table's ``ssim_decimals`` rounding lets a value measured above ``tau`` pass: one
    line per row whose ``SSIM*(m)`` (a column ``m <= P``, as :meth:`PrivacyTable.nf` and the split
    point read it) is above tau as written but at most tau once rounded half up (0.64 read as 0.6
    at tau 0.6), naming ``source`` (the table file or name), the row's tensor, each column, the
    measured value (and the cell it comes from), the value read and tau, and the fix. [] for a
    table without ``ssim_decimals`` (cells are compared as written) or where no reading changes.
    ``optdist validate`` (an instance), ``optdist solve`` and ``optdist profile --privacy`` print
    them (:func:`privacy_warnings`); the rounding is MODEL.md section 6's one-decimal reading of
    the paper's Table 2, so the table is read as the paper reads it, not as strictly as measured."""
    if table.ssim_decimals is None:
        return []
    out = []
    for i, r in enumerate(table.rows):
        passed = []
        for m in table.columns():
            if m > r.maps:
                continue
            measured = r.ssim(m)
            read = table._cmp(measured)
            if measured > tau + _TOL and read <= tau + _TOL:
                passed.append(f"maps {m}: measured {measured:g}{_cell_of(r, m, measured)}, read {read:g}")
        if passed:
            out.append(f"{source}: rows[{i}] ({r.tensor}): \"ssim_decimals\": {table.ssim_decimals} rounds values "
                       f"measured above tau {tau:g} to tau or below, so they pass: {'; '.join(passed)} (fix: drop "
                       f"\"ssim_decimals\" to compare the cells as measured, or lower tau below "
                       f"{min(table._cmp(r.ssim(m)) for m in table.columns() if m <= r.maps and r.ssim(m) > tau + _TOL):g})")
    return out


def calibrate_command(cnn: str, profile: Profile, layers: str) -> str:
    """The ``optdist calibrate`` command a fix names for rows at ``layers`` (a comma list) of network
    ``cnn``: a zoo target's by its name (``optdist calibrate lenet --layers conv1,ReLU2``); any other
    network's (yours, or a zoo CNN calibrate does not train) by its builder, on ``profile``'s input shape
    (``optdist calibrate mynet --module MOD:BUILDER --input 1,28,28 --images DIR --layers 0,3``), as
    ``optdist calibrate --help`` says: before, ``optdist calibrate mynet``, an unknown target."""
    if cnn in CALIBRATE_TARGETS:
        return f"optdist calibrate {cnn} --layers {layers}"
    shape = ",".join(map(str, profile.input_shape))
    return f"optdist calibrate {cnn} --module MOD:BUILDER --input {shape} --images DIR --layers {layers}"


def deeper_row_warnings(table: PrivacyTable, profile: Profile, source: str) -> list[str]:
    """Where layers that untrusted devices may hold are governed by a *deeper* row: one line naming
    ``source`` (the table file or name), the layers whose input has no row at or before it, so that
    MODEL.md section 6's rule ("governed by the first row after it") reads a row measured past a conv
    or fc layer after their input, and the fix (calibrate a row for the first distributed layer's
    input). The rule stays (it is the one definition); the warning says the limit may be too weak:
    deeper tensors usually leak less than shallow ones (a LeNet conv1 row measured 0.88 at 8 maps
    where ReLU2's gave 0.62). Only a row past a conv or fc layer counts as deeper (a ReLU's output
    and its conv's are neighbours, e.g. the paper's CIFAR ReLU11 row for layer ReLU11). [] when no
    such layer; layers on the source anyway (the first and the last) are not named."""
    names = [la.name for la in profile.layers]
    if any(r.tensor not in names for r in table.rows):
        return []  # a misfit is an error elsewhere
    row_at = {names.index(r.tensor): r for r in table.rows}
    governing = _governing_rows(profile, row_at)
    L = profile.n_layers
    deeper: dict[str, list[str]] = {}
    for k in range(1, L - 1):
        ins = profile.inputs(k)
        u = max(ins) if ins else k - 1
        for r in governing[k]:
            t = names.index(r.tensor)
            if t > u and any(profile.layers[j].kind in ("conv", "fc") for j in range(u + 1, t + 1)):
                deeper.setdefault(r.tensor, []).append(names[k])
    if not deeper:
        return []
    said = "; ".join(f"{quoted(ls)} by {text_of(t)}" for t, ls in deeper.items())
    first = names[0]
    rows = ",".join(dict.fromkeys([first, *(r.tensor for r in table.rows)]))
    return [f"{source}: layers that devices may hold have no row at or before their input and are governed by a "
            f"deeper row (MODEL.md section 6: the first row after it): {said}; deeper tensors usually leak less "
            f"than shallow ones, so their limit may be too weak (fix: calibrate a row for the first distributed "
            f"layer's input, {text_of(first)}, e.g. `{calibrate_command(table.cnn, profile, rows)}`)"]


def output_row_warnings(table: PrivacyTable, profile: Profile, source: str, tau: float | None = None) -> list[str]:
    """Where an elementwise layer's *own output* row is stricter than the row governing it: one line per
    layer naming ``source`` (the table file or name), the layer, its governing row(s) and their Nf, its
    output row and that row's smaller Nf, tau, and the fix (a row for the layer's input tensor with
    cells at least the output row's). An elementwise layer (one input, each input map to one output
    map: ReLU, pooling, depthwise conv) computes its m output maps from m input maps, so its output
    row bounds the leakage of its input from below; MODEL.md section 6's rule ("the latest measured
    tensor at or before its input") is kept (Nf is not changed), the warning says the limit may be
    too weak. ``tau`` None (a table on its own): compared at the governing rows' values, the first
    tau where the output row is stricter is named. Layers on the source anyway (the first and the
    last) and layers whose own row governs them are not named; [] when none."""
    names = [la.name for la in profile.layers]
    if any(r.tensor not in names for r in table.rows):
        return []  # a misfit is an error elsewhere
    row_at = {names.index(r.tensor): r for r in table.rows}
    governing = _governing_rows(profile, row_at)
    lim = privacy_limits(profile, table, tau) if tau is not None else None
    out = []
    for k in range(1, profile.n_layers - 1):
        la, ins, own = profile.layers[k], profile.inputs(k), row_at.get(k)
        if la.kind != "elementwise" or len(ins) != 1 or own is None or own in governing[k] or not governing[k]:
            continue
        taus = [tau] if tau is not None else \
            sorted({v for g in governing[k] for m in table.columns() if (v := table._cmp(g.ssim(m))) > 0})
        for t in taus:
            gov = (lim.nf[k] if lim.nf[k] is not None else la.segments) if lim is not None else \
                min(table.nf(g, t) for g in governing[k])
            mine = table.nf(own, t)
            if mine < gov:
                at = f"at tau {t:g}" if tau is not None else f"e.g. at tau {t:g}"
                layers = ",".join(n for j, n in enumerate(names) if j in row_at or j == ins[0])
                out.append(_output_row_line(calibrate_command(table.cnn, profile, layers), source, names[k],
                                            names[ins[0]], governing[k], own,
                                            (gov, mine, at, lim is not None and lim.nf[k] is None), ins[0] in row_at))
                break
    return out


def _output_row_line(calibrate: str, source: str, layer: str, inp: str, governing: list[PrivacyRow],
                     own: PrivacyRow, read: tuple[int, int, str, bool], has_input_row: bool) -> str:
    """One :func:`output_row_warnings` line; ``read``: (governing Nf, own row's Nf, "at tau ...", past the split point)."""
    gov, mine, at, past = read
    rows = ", ".join(text_of(g.tensor) for g in governing)
    given = f"no limit (past the split point, {gov} maps)" if past else f"Nf {gov}"
    fix = (f"raise the cells of row {text_of(inp)} to at least the {text_of(own.tensor)} ones" if has_input_row else
           f"add a row for its input tensor, {text_of(inp)}, with cells at least the {text_of(own.tensor)} ones, "
           f"e.g. `{calibrate}`")
    return (f"{source}: layer {text_of(layer)} is governed by row {rows} ({given} {at}, MODEL.md section 6: the "
            f"latest measured tensor at or before its input), but its own output row {text_of(own.tensor)} gives "
            f"Nf {mine}: an elementwise layer's m output maps are computed from m input maps, so that row bounds "
            f"the leakage of its input from below and the limit may be too weak (fix: {fix})")


def _cell_of(r: PrivacyRow, m: int, value: float) -> str:
    """Where ``SSIM*(m) = value`` of row ``r`` comes from, for :func:`rounding_warnings`: `` (cell "m'")``,
    `` (full_map_ssim)`` or "" (the all-maps value 1 of a row without one)."""
    at = [c for c, s in sorted(r.cells.items()) if s == value and c <= m] or \
         [c for c, s in sorted(r.cells.items()) if s == value]
    if at:
        return "" if at[0] == m else f' (cell "{at[0]}")'
    return " (full_map_ssim)" if r.full_map_ssim == value else ""


def privacy_warnings(inst: Instance, recorded_only: bool = False) -> list[str]:
    """:func:`table_warnings` of every table ``inst`` uses, prefixed with ``privacy.<cnn>`` and the table,
    then its :func:`rounding_warnings` at the instance's tau; ``recorded_only``: of the former only
    those its provenance records (``provenance.warnings``, e.g. a weak calibration, which lifts
    limits it may not have measured: ``optdist solve`` repeats them, every rounding warning, every
    :func:`deeper_row_warnings` and every :func:`output_row_warnings` at the instance's tau)."""
    base = inst.path.parent if inst.path else None
    out = []
    for cnn in sorted(inst.limits):
        ref = inst.spec.privacy.get(cnn)
        if ref is not None:
            t = resolve_table(cnn, ref, base, inst.profiles[cnn])
            out += [f"privacy.{cnn} ({ref}): {w}" for w in table_warnings(t)
                    if not recorded_only or w.startswith("provenance.warnings[")]
            out += [f"privacy.{cnn}: {w}" for w in rounding_warnings(t, inst.spec.tau, ref)]
            out += [f"privacy.{cnn}: {w}" for w in deeper_row_warnings(t, inst.profiles[cnn], ref)]
            out += [f"privacy.{cnn}: {w}" for w in output_row_warnings(t, inst.profiles[cnn], ref, inst.spec.tau)]
    return out


def is_table_file(path: str | Path) -> bool:
    """Whether ``path`` is a JSON file declaring a privacy-table format (``optdist-privacy-table/...``)."""
    path = Path(path)
    try:
        if not path.is_file() or path.stat().st_size > MAX_TABLE_BYTES:
            return False
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(doc, dict) and str(doc.get("format", "")).startswith("optdist-privacy-table")


def validate_table_file(path: str | Path, profiles: dict[str, Profile] | None = None) -> tuple[PrivacyTable, list[str]]:
    """Check a table file, and against its CNN's profile: the zoo's, else ``profiles[cnn]`` (your
    network's profile file, e.g. given beside the table to ``optdist validate``), else not at all.

    Returns the table and its :func:`table_warnings`, :func:`deeper_row_warnings` and
    :func:`output_row_warnings` (at no tau: the first where a layer's output row is stricter); raises ``FileNotFoundError`` or
    :class:`PrivacyTableError`.
    """
    from optdist.profiles import available_cnns

    doc = read_json(Path(path), MAX_TABLE_BYTES, PrivacyTableError, "privacy table")
    cnn = doc.get("cnn") if isinstance(doc, dict) else None
    profile = (load_profile(cnn) if cnn in available_cnns() else (profiles or {}).get(cnn)) if isinstance(cnn, str) \
        else None
    table = check_table(doc, str(path), profile)
    if profile is not None:
        misfit = _misfits(table, profile)
        if misfit:
            raise PrivacyTableError(str(path), misfit)
    if profile is None:
        return table, table_warnings(table)
    return table, [*table_warnings(table), *deeper_row_warnings(table, profile, str(path)),
                   *output_row_warnings(table, profile, str(path))]


@dataclass(frozen=True)
class PrivacyLimits:
    """What a table and ``tau`` mean for each layer of one CNN.

    ``device_cap[k]``: most segments of layer k one untrusted device may own for one request
    (``None``: unconstrained); ``on_source[k]``: layer k runs entirely on the request's source;
    ``nf[k]``: Nf_k(tau) for constrained layers; ``split_point``: 0-based index of SP
    (``n_layers`` if never reached); ``governing[k]``: the row(s) that govern layer k (names
    joined by ", " when a layer with several inputs is governed by several, MODEL.md section 9).
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
    """Apply the fixed reading rules of MODEL.md section 6 to ``table`` at ``tau``.

    ``table`` is checked again (:func:`check_table`, so an edited or hand-built table cannot
    bypass the checks) and against ``profile``; raises :class:`PrivacyTableError` /
    ``ValueError``. ``None`` means no privacy limit.
    """
    L = profile.n_layers
    names = [la.name for la in profile.layers]
    if table is None:  # no privacy constraint at all
        on_src = tuple(k in (0, L - 1) for k in range(L))
        return PrivacyLimits(profile.cnn, tau, 1, (None,) * L, (None,) * L, on_src, (None,) * L)
    table = check_table(table, f"privacy table {table.cnn}-{table.name}")
    problems = table.check_against(profile)
    if problems:
        raise ValueError(f"privacy table {table.cnn}-{table.name} does not fit {profile.cnn}: " + "; ".join(problems))
    row_at = {names.index(r.tensor): r for r in table.rows}
    governing = _governing_rows(profile, row_at)
    # split point: first k from which every governing row leaks at most tau with all maps (SSIM*)
    sp = L
    for k in range(L - 1, 0, -1):
        if any(table._cmp(g.ssim_all()) > tau + _TOL for g in governing[k]):
            break
        sp = k
    nf: list[int | None] = [None] * L
    cap: list[int | None] = [None] * L
    on_src = [False] * L
    on_src[0] = on_src[L - 1] = True
    for k in range(1, L - 1):
        if k >= sp or not governing[k]:
            continue
        la = profile.layers[k]
        nf[k] = n = min(table.nf(g, tau) for g in governing[k])  # several inputs: the strictest (section 9)
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
        governing=tuple(", ".join(g.tensor for g in rows) if rows else None for rows in governing),
    )


def _governing_rows(profile: Profile, row_at: dict[int, PrivacyRow]) -> list[list[PrivacyRow]]:
    """The rows governing each layer (MODEL.md sections 6 and 9), in stage order of their tensors.

    A tensor's rows: its own row if measured, else the rows of its input tensors (the latest
    measured tensor on every path into it); a path with no measured tensor (back to the first
    layer) adds the first measured tensor after the one read (conservative). Layer k is governed
    by the rows of every tensor it reads. On a chain this is section 6's rule: the latest row at
    or before layer k's input, else the first one after it.
    """
    L = profile.n_layers
    measured = sorted(row_at)
    rows: list[set[int]] = []  # measured tensors reached from each tensor
    open_: list[bool] = []  # some path from the tensor back to the first layer has no measured tensor
    for t in range(L):
        if t in row_at:
            rows.append({t})
            open_.append(False)
        else:
            ins = profile.inputs(t)
            rows.append(set().union(*(rows[u] for u in ins)) if ins else set())
            open_.append(not ins or any(open_[u] for u in ins))
    out: list[list[PrivacyRow]] = [[] for _ in range(L)]
    for k in range(1, L):
        got: set[int] = set()
        for u in profile.inputs(k):
            got |= rows[u]
            after = [t for t in measured if t > u]
            if open_[u] and after:
                got.add(after[0])
        out[k] = [row_at[t] for t in sorted(got)]
    return out


def table_path(cnn: str, name: str) -> Path:
    return MODELS_DIR / "privacy" / f"{cnn}-{name}.json"


def bundled_tables(cnn: str) -> list[str]:
    """The names of the bundled privacy tables of ``cnn`` (``models/privacy/<cnn>-<name>.json``),
    sorted; [] for a network without one (a user's own)."""
    return sorted(p.stem.removeprefix(f"{cnn}-") for p in (MODELS_DIR / "privacy").glob(f"{cnn}-*.json"))


@cache
def _load_cached(path: str, mtime_ns: int, size: int) -> PrivacyTable:
    return PrivacyTable.load(path)  # keyed on mtime and size too: an edited file is read again


def resolve_table(cnn: str, ref: str, base: Path | None = None, profile: Profile | None = None) -> PrivacyTable:
    """A table by bundled name (``models/privacy/<cnn>-<ref>.json``) or by file path (``ref`` ending in
    ``.json``, :func:`~optdist.jsonfile.is_json_name`): relative to ``base`` (an instance's folder, as its profiles and
    device catalog are), or to the working directory when ``base`` is None, never to both (an instance would read a table of the
    working directory where its own folder lacks one, and ``--out`` could overwrite it).

    The table is checked against ``profile`` (default: the zoo profile of ``cnn``; pass the
    profile of a user's network, ``Instance.profiles[cnn]``); its ``cnn`` must be ``cnn`` or the
    profile's own name (a user's network may be named differently in an instance and in its
    profile file). Raises ``FileNotFoundError`` (listing the places looked at and the bundled
    tables, names and paths in JSON quotes; an empty or blank ``ref``: "is empty", with an
    example), :class:`PrivacyTableError` for a bad table, ``ValueError`` for a table of another CNN.
    """
    known = bundled_tables(cnn)
    bundled = f"bundled for {cnn}: {', '.join(map(text_of, known))}" if known else f"no bundled table for {cnn}"
    if not ref.strip():  # "": was "no privacy table '' for lenet: looked at ['.../lenet-.json']"
        example = text_of("paper" if "paper" in known else known[0]) if known else text_of("TABLE.json")
        raise FileNotFoundError(f"privacy table name {text_of(ref)} for {cnn} is empty (e.g. {text_of(cnn)}: "
                                f"{example}; {bundled})")
    if is_json_name(ref):  # a file: relative to ``base`` only (never also to the working directory)
        p = Path(ref)
        candidates = [p if p.is_absolute() or base is None else base / p]
    else:
        candidates = [table_path(cnn, ref)]
    for c in candidates:
        if c.exists():
            st = c.stat()
            try:
                t = _load_cached(str(c.resolve()), st.st_mtime_ns, st.st_size)
            except PrivacyTableError:  # again with the profile: a wrong "maps" is named before the cells read against it
                check_table(read_json(c, MAX_TABLE_BYTES, PrivacyTableError, "privacy table"), str(c),
                            profile if profile is not None else load_profile(cnn))
                raise
            names = sorted({cnn, profile.cnn if profile is not None else cnn})
            if t.cnn not in names:  # a PrivacyTableError (a ValueError) with the fix for this file
                from optdist.profiles import available_cnns

                made = (f"give the table made for {text_of(cnn)} ({c} is the table of the zoo CNN {text_of(t.cnn)})"
                        if t.cnn in available_cnns() else
                        f"set \"cnn\": {text_of(cnn)} in {c}, or give the table made for {text_of(cnn)}")
                raise PrivacyTableError(str(c), [TableProblem(
                    "cnn", f"privacy table is for CNN {text_of(t.cnn)}, not {' or '.join(map(text_of, names))}", made)])
            misfit = _misfits(t, profile if profile is not None else load_profile(cnn))
            if misfit:
                raise PrivacyTableError(str(c), misfit)
            return t
    raise FileNotFoundError(f"no privacy table {text_of(ref)} for {cnn}: looked at "
                            f"{', '.join(text_of(str(c)) for c in candidates)}; {bundled}")


@cache
def limits_for(cnn: str, ref: str | None, tau: float, base: str | None = None) -> PrivacyLimits:
    """Cached :func:`privacy_limits` for a bundled or file table."""
    table = None if ref is None else resolve_table(cnn, ref, Path(base) if base else None)
    return privacy_limits(load_profile(cnn), table, tau)
