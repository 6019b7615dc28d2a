"""Device catalogs: the bundled one and users' own files (``optdist-device-catalog/1``).

A catalog maps a device ``type`` (what an instance's node names in ``"type"``) to its fields:
``memory`` (bytes), ``mults_per_s`` (e_i, multiplications per second), ``rate`` (rho_i, radio
bytes per second), and the text fields ``label``, ``source`` (where the figures come from),
``memory_spec`` (the memory as the source states it, e.g. ``"4GB LPDDR4-3200"``), ``cpu`` and
``note``. The bundled catalog is ``optdist/data/devices.json`` (MODEL.md section 1 defaults:
``e`` is a tenth of the clock cycles per second times the cores, radios are 802.11n
72.2 Mbit/s = 9.025e6 B/s).

A user catalog (an instance's ``"devices_catalog"``, ``optdist generate --devices-catalog``)
adds types and overrides bundled ones field by field: an entry for a bundled type may give only
the fields it changes; a new type must give ``memory``, ``mults_per_s`` and ``rate``. Files are
read strictly (:class:`DeviceCatalogError` names the file, the field and the fix).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from optdist.jsonfile import (MiB, DocumentError, Problem, Schema, escaped, json_text, not_an_object, number_in, quoted, read_json,
                              schema_problems, text_of)
from optdist.options import is_whole
from optdist.paths import PACKAGE_DATA

FORMAT = "optdist-device-catalog/1"
NUMERIC = ("memory", "mults_per_s", "rate")
MAX_CATALOG_BYTES = 4 * MiB
# Accepted ranges, the same as an instance node's (optdist.instance.RANGES)
_RANGES = {"memory": (0.0, 1e15), "mults_per_s": (1e3, 1e16), "rate": (1.0, 1e12)}


class DeviceCatalogError(DocumentError):
    """An invalid device catalog file; ``problems`` lists every problem found."""

    kind = "device catalog"


class DeviceType(BaseModel):
    """One catalog entry; numbers left out come from the bundled entry of the same type."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    label: str = ""
    memory: float | None = Field(default=None, gt=_RANGES["memory"][0], le=_RANGES["memory"][1], description="bytes")
    mults_per_s: float | None = Field(default=None, ge=_RANGES["mults_per_s"][0], le=_RANGES["mults_per_s"][1],
                                      description="e_i, multiplications per second")
    rate: float | None = Field(default=None, ge=_RANGES["rate"][0], le=_RANGES["rate"][1], description="rho_i, bytes per second")
    source: str = Field(default="", description="where the figures come from")
    memory_spec: str = Field(default="", description="the memory as the source states it, e.g. '4GB LPDDR4'")
    cpu: str = Field(default="", description="the CPU as the source states it")
    note: str = ""


class DeviceCatalog(BaseModel):
    """The JSON document of a catalog file."""

    model_config = ConfigDict(extra="forbid", strict=True)

    format: Literal["optdist-device-catalog/1"]
    note: str = ""
    devices: dict[str, DeviceType] = Field(min_length=1)


_FIXES = {
    "format": f"set \"format\": \"{FORMAT}\"",
    "memory": "give the memory in bytes as a number in (0, 1e+15], e.g. 4294967296 for 4 GiB",
    "mults_per_s": "give multiplications per second as a number in [1e+03, 1e+16], e.g. 720e6",
    "rate": "give the radio rate in bytes per second as a number in [1, 1e+12], e.g. 9025000 for 802.11n 72.2 Mbit/s",
}
_ENTRY = '{"memory": 1073741824, "mults_per_s": 560e6, "rate": 9025000}'
_EXPECTED = {
    "format": (f'the text "{FORMAT}"', f'"{FORMAT}"'),
    "note": ("a string", '"our cameras and boards"'),
    "devices": ("an object mapping each device type's name to its fields, with at least one type",
                f'{{"mycam": {_ENTRY}}}'),
    "devices.*": ("a device type, an object of its fields (memory, mults_per_s, rate, and text fields)", _ENTRY),
    "devices.*.label": ("a string naming the device", '"Raspberry Pi Zero 2 W camera"'),
    "devices.*.memory": (number_in(DeviceType, "memory", "bytes of memory"), "4294967296 for 4 GiB"),
    "devices.*.mults_per_s": (number_in(DeviceType, "mults_per_s", "multiplications per second"), "720e6"),
    "devices.*.rate": (number_in(DeviceType, "rate", "radio bytes per second"), "9025000 for 802.11n at 72.2 Mbit/s"),
    "devices.*.source": ("a string saying where the figures come from", '"vendor datasheet"'),
    "devices.*.memory_spec": ("a string, the memory as the source states it", '"4GB LPDDR4-3200"'),
    "devices.*.cpu": ("a string, the CPU as the source states it", '"4 x Cortex-A72 @ 1.5GHz"'),
    "devices.*.note": ("a string", '"our boards are the 1.5 GHz B0 stepping"'),
}
_TEXT = ("label", "source", "memory_spec", "cpu", "note")
SCHEMA = Schema(
    "the device catalog", expected=_EXPECTED, maps=("devices",), fixes=_FIXES,
    objects={"": (DeviceCatalog, "the device catalog"), "devices.*": (DeviceType, "a device type")},
    quotable=frozenset({"note", *(f"devices.*.{f}" for f in _TEXT)}),
    hint="examples/byon/mydevices.json is a catalog; instances/device-catalog.schema.json has every field")
_WRAP = f'write the catalog as an object: {{"format": "{FORMAT}", "devices": {{"mycam": {_ENTRY}}}}}'


def _read(path: Path) -> DeviceCatalog:
    data = read_json(path, MAX_CATALOG_BYTES, DeviceCatalogError, "device catalog")
    if not isinstance(data, dict):
        raise DeviceCatalogError(str(path), [not_an_object(data, "the device catalog", _WRAP)])
    try:
        return DeviceCatalog.model_validate(data)
    except ValidationError as e:
        raise DeviceCatalogError(str(path), schema_problems(e, SCHEMA)) from None


def _example(f: str) -> str:
    """``"rate": 9025000``: field ``f`` with its example value."""
    return f'"{f}": {_EXPECTED["devices.*." + f][1].split()[0]}'


@cache
def bundled_catalog() -> dict[str, dict]:
    """The bundled catalog: type -> fields (numbers and text)."""
    cat = _read(PACKAGE_DATA / "devices.json")
    return {t: d.model_dump() for t, d in cat.devices.items()}


@cache
def _load_cached(path: str, mtime_ns: int, size: int) -> dict[str, dict]:
    cat = _read(Path(path))
    bundled = bundled_catalog()
    merged = dict(bundled)
    problems = []
    for t, d in cat.devices.items():
        if not t.strip() or escaped(t) != t:  # "" or "x\u200b": printed in every table, matched by instances' "type"
            what = "is empty" if not t else "is blank" if not t.strip() else "holds control or invisible characters"
            problems.append(Problem(f"devices[{text_of(t)}]", f"type name {text_of(t)} {what}",
                                    'name the type in visible characters, e.g. "devices": {"mycam": ' + _ENTRY + "}"))
            continue
        if any(c in t for c in ",=") or t != t.strip():  # `generate --devices TYPE=COUNT,...` could not name it
            bad = "holds ',' or '='" if any(c in t for c in ",=") else "starts or ends with a space"
            fixed = "".join("-" if c in ",=" else c for c in t.strip())
            problems.append(Problem(f"devices[{text_of(t)}]", f"type name {text_of(t)} {bad}, so `optdist generate "
                                    "--devices TYPE=COUNT,...` cannot name it",
                                    f"rename it without ',', '=' and edge spaces, e.g. {text_of(fixed)}"))
            continue
        given = d.model_dump(exclude_unset=True)
        if isinstance(given.get("memory"), float | int) and not is_whole(given["memory"]):
            problems.append(Problem(f"devices.{t}.memory", f"got {json_text(given['memory'])}, not a whole number of bytes",
                                    f"give the memory in whole bytes, e.g. \"memory\": {int(given['memory'])}"))
        for f in NUMERIC:
            if f in given and given[f] is None:
                problems.append(Problem(f"devices.{t}.{f}", f"got null, and null is not a number; expected "
                                        f"{_EXPECTED['devices.*.' + f][0]}",
                                        f"give {f} as a number, e.g. {_example(f)}, or leave it out"
                                        + (" (the bundled value applies)" if t in bundled else "")))
        if t in bundled:
            merged[t] = {**bundled[t], **given}
            changed = [f for f in given if f not in ("source", "note") and given[f] != bundled[t][f]]
            if changed and "source" not in given:  # the bundled source vouches only for the fields kept
                merged[t]["source"] = (f"{', '.join(changed)}: {path}; the rest: {bundled[t]['source']}")
        else:
            missing = [f for f in NUMERIC if f not in given]
            if missing:
                problems.append(Problem(f"devices.{t}", f"new type {text_of(t)} lacks {quoted(missing)}",
                                        f"add {', '.join(_example(f) for f in missing)} with your device's figures; "
                                        f"only the bundled types ({quoted(sorted(bundled))}) may leave fields out"))
            merged[t] = DeviceType(**given).model_dump()
    if problems:
        raise DeviceCatalogError(path, problems)
    return merged


def device_catalog(path: str | Path | None = None) -> dict[str, dict]:
    """The bundled catalog, with the user catalog at ``path`` (if given) merged over it.

    Raises ``FileNotFoundError`` for a missing file and :class:`DeviceCatalogError` for a bad one.
    """
    if path is None:
        return bundled_catalog()
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: device catalog file not found")
    st = path.stat()
    return _load_cached(str(path.resolve()), st.st_mtime_ns, st.st_size)
