"""Instance files: format, validation with paths and fixes, and the resolved numeric instance.

An instance (``optdist-instance/1``, JSON, schema in ``instances/schema.json``) lists the
untrusted ``devices``, the trusted ``sources`` (cameras), the ``requests`` (one image from a
source classified by a CNN), the ``privacy`` table per CNN, the tolerated SSIM ``tau``,
the ``period_s`` over which capacities are counted, and ``objective`` options. A CNN is a zoo
name or a name the instance's ``networks`` maps to a profile file (``optdist profile
--module``; paths relative to the instance file). A node may name a catalog ``type``
(``rpi3``, ``rpi4``, ``jetson-nano``, ...) and override any field; ``devices_catalog`` names a
user catalog file that adds or overrides types (:mod:`optdist.devices`).

Loading resolves it into :class:`Instance`: nodes indexed devices first (``0..D-1``) then
sources (``D..D+S-1``), numpy arrays of capacities, per-request CNN profiles and privacy
limits. Every problem is reported as ``Problem(path, message, fix)``, in the user's terms: a
schema problem (:func:`schema_problems`) gives the field path (``devices[2].memory``), the value
as typed (shortened when long) and its JSON kind, what the field expects, and a fix with an
example (``write the number without quotes: "memory": 1073741824``), never pydantic's words or
class names.

Numbers are strict and bounded (issue 12): a boolean or a string is not a number, NaN and
infinities are refused, and every quantity lies in a physically plausible range
(:data:`RANGES`), so that no latency, capacity or objective coefficient computed from an
instance that validates can overflow to ``inf`` or become ``NaN``: ``validate`` and ``solve``
accept exactly the same documents. A capacity that should never bind is not written as
``Infinity`` (the MILP would get an infinite coefficient) but left at its default
(``mults_per_s * period_s``, ``rate * period_s``) or given as a large finite number up to the
range's maximum (e.g. ``1e18``); HiGHS treats right-hand sides of ``1e20`` and more as infinite.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import numbers
import os
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from optdist.defences.dp import EPS_MAX, EPS_MIN, EPS_RULE
from optdist.devices import DeviceCatalogError, device_catalog
from optdist.jsonfile import (MiB, DocumentError, Problem, Schema, escaped, is_json_name, json_path, json_text, not_an_object, number_in,
                              place_of, read_json, text_of)
from optdist.jsonfile import schema_problems as jsonfile_schema_problems
from optdist.names import MANY_NAMES_CUTOFF, closest
from optdist.options import is_whole
from optdist.privacy import PrivacyLimits, PrivacyTableError, bundled_tables, privacy_limits, resolve_table
from optdist.profiles import Profile, ProfileFileError, available_cnns, load_profile, load_profile_file, zoo_choices
from optdist.transfers import segment_seconds

FORMAT = "optdist-instance/1"
NODE_FIELDS = ("memory", "mults_per_s", "rate", "compute_capacity", "bandwidth_capacity")
MAX_BYTES = 64 * MiB  # largest instance file read (the bundled ones are under 100 kB)
SCHEMA_HINT = "instances/schema.json has every field"

# Accepted ranges (min, max) of the numbers of an instance; the minimum is exclusive where the
# field says gt. Physically plausible and small enough that nothing derived overflows: the
# slowest device (1e3 mult/s, 1 B/s) needs ~2e10 s for a whole VGG19, far below float range.
RANGES = {
    "memory": (0.0, 1e15),  # bytes: > 0, at most 1 PB
    "mults_per_s": (1e3, 1e16),  # e_i: a 1 MHz microcontroller .. 10 PFLOP/s
    "rate": (1.0, 1e12),  # rho_i, bytes/s: 8 bit/s .. 8 Tbit/s
    "compute_capacity": (0.0, 1e22),  # multiplications per period (max mults_per_s x max period_s)
    "bandwidth_capacity": (0.0, 1e18),  # bytes per period (max rate x max period_s)
    "period_s": (1e-6, 1e6),  # seconds: 1 us .. 11.6 days
    "shared_weight": (0.0, 1.0),  # lambda, seconds per shared byte
    "rejection_penalty": (0.0, 1e9),  # seconds per rejected request: > 0, at most ~32 years
    "epsilons": (EPS_MIN, EPS_MAX),  # Laplace budgets: optdist.defences.dp's one rule (inclusive)
    "accuracy_pct": (0.0, 100.0),  # accuracy drops and bounds, %
    "accuracy_weight": (0.0, 1e6),  # seconds per accuracy-%
}


def _lo(name: str) -> float:
    return RANGES[name][0]


def _hi(name: str) -> float:
    return RANGES[name][1]


# Strict numbers (``true`` or ``"1"`` is not a number, ``1`` is not a boolean), no NaN or
# infinities, no unknown keys; read-only once validated (:class:`_Spec`).
STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)

#: how to make a changed instance, said by every refusal to change one in place
_WITH_SPEC = "inst.with_spec(...), which validates the change as loading a file does and derives the instance again"


class ReadOnlyError(TypeError):
    """A change of a loaded :class:`Instance` in place (its spec, a list or mapping in it, its
    arrays' owner mappings): refused, since the instance's numbers (capacities, privacy limits)
    were derived from it when it was made; the message names what and the fix
    (:meth:`Instance.with_spec`). Before, ``inst.spec.tau = 0.1`` was accepted and ignored."""


class ReadOnlyArrayError(ReadOnlyError, ValueError):
    """A write into a loaded instance's array (:class:`ReadOnlyArray`): a :class:`ReadOnlyError`, and
    a ValueError as numpy's own refusal ("assignment destination is read-only") was, for code that catches that."""


class ReadOnlyList(list):
    """A list of a loaded instance (its ``devices``, ``sources``, ``requests``, a defence's
    ``cuts``): reads as a list, any change is a :class:`ReadOnlyError` naming ``where`` and the fix."""

    def __init__(self, items=(), where: str = "this list", fix: str = _WITH_SPEC):
        super().__init__(items)
        self._where, self._fix = where, fix

    def _refuse(self, *args, **kwargs):
        raise ReadOnlyError(f"{self._where} is read-only (fix: {self._fix})")

    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse
    append = extend = insert = pop = remove = clear = sort = reverse = _refuse

    def __reduce__(self):
        return (type(self), (list(self), self._where, self._fix))

    def __copy__(self):
        return type(self)(self, self._where, self._fix)

    def __deepcopy__(self, memo):
        return type(self)(copy.deepcopy(list(self), memo), self._where, self._fix)


class ReadOnlyDict(dict):
    """A mapping of a loaded instance (``networks``, ``privacy``, ``defence``, the instance's
    ``profiles`` and ``limits``), or :data:`optdist.METHODS`: reads as a dict, any change is a
    :class:`ReadOnlyError` naming ``where`` and the fix."""

    def __init__(self, items=(), where: str = "this mapping", fix: str = _WITH_SPEC):
        super().__init__(items)
        self._where, self._fix = where, fix

    def _refuse(self, *args, **kwargs):
        raise ReadOnlyError(f"{self._where} is read-only (fix: {self._fix})")

    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self):
        return (type(self), (dict(self), self._where, self._fix))

    def __copy__(self):
        return type(self)(self, self._where, self._fix)

    def __deepcopy__(self, memo):
        return type(self)(copy.deepcopy(dict(self), memo), self._where, self._fix)


def _plain_array(value: Any) -> Any:
    """``value`` with every writable :class:`ReadOnlyArray` in it (a copy, a computed array) as a
    plain ndarray view: only an instance's own read-only arrays and their views stay the subclass."""
    if isinstance(value, ReadOnlyArray):
        return value.view(np.ndarray) if value.flags.writeable else value
    if isinstance(value, tuple):
        return tuple(_plain_array(v) for v in value)
    if isinstance(value, list):
        return [_plain_array(v) for v in value]
    return value


def _plain_result(name: str) -> Callable[..., Any]:
    """``ndarray.<name>`` returning a plain ndarray where numpy would make a new :class:`ReadOnlyArray`."""
    def method(self, *args, **kwargs):
        return _plain_array(getattr(np.ndarray, name)(self, *args, **kwargs))
    method.__name__, method.__doc__ = name, getattr(np.ndarray, name).__doc__
    return method


class ReadOnlyArray(np.ndarray):
    """An array of a loaded :class:`Instance` (``inst.rate``, ``inst.memory``, ...,
    ``inst.segment_seconds(r)``): a read-only ndarray whose views stay read-only, and any write into
    it (``inst.rate[0] = 0``, ``inst.rate += 1``, ``np.add(a, 1, out=inst.rate)``, ``fill``,
    ``sort``) is a :class:`ReadOnlyArrayError` (a :class:`ReadOnlyError`) naming the array and the fix. Before, numpy's "assignment
    destination is read-only" said neither. What is computed from it (``inst.rate * 2``,
    ``np.sort(inst.rate)``), ``.copy()``, ``copy.copy`` and unpickling are plain writable ndarrays."""

    _where: str = "this array"
    _fix: str = "work on a writable copy: a = ARRAY.copy()"

    @classmethod
    def of(cls, value: Any, where: str, fix: str) -> ReadOnlyArray:
        """A read-only copy of ``value``, owning its data, that names itself ``where`` and its fix ``fix`` in a refusal."""
        arr = np.asarray(value)
        out = cls(arr.shape, arr.dtype)
        np.copyto(out.view(np.ndarray), arr)
        out._where, out._fix = where, fix
        out.flags.writeable = False
        return out

    def __array_finalize__(self, obj: Any) -> None:  # a view or slice keeps the name of its array
        if obj is not None:
            self._where = getattr(obj, "_where", ReadOnlyArray._where)
            self._fix = getattr(obj, "_fix", ReadOnlyArray._fix)

    def _refuse(self, *args, **kwargs):
        raise ReadOnlyArrayError(f"{self._where} cannot be changed: a loaded instance is read-only, its arrays were derived "
                            f"from its spec (fix: {self._fix}; or work on a writable copy: a = {self._where}.copy())")

    def __setitem__(self, key, value) -> None:
        if self.flags.writeable:
            super().__setitem__(key, value)
        else:
            self._refuse()

    def fill(self, value) -> None:
        self.__setitem__(..., value)

    def sort(self, *args, **kwargs) -> None:
        if not self.flags.writeable:
            self._refuse()
        super().sort(*args, **kwargs)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        out = kwargs.get("out")
        if out is not None:
            for o in out:
                if isinstance(o, ReadOnlyArray) and not o.flags.writeable:
                    o._refuse()
            kwargs["out"] = tuple(o.view(np.ndarray) if isinstance(o, ReadOnlyArray) else o for o in out)
        inputs = tuple(x.view(np.ndarray) if isinstance(x, ReadOnlyArray) else x for x in inputs)
        return getattr(ufunc, method)(*inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return _plain_array(super().__array_function__(func, types, args, kwargs))

    def setflags(self, write=None, align=None, uic=None) -> None:
        """``setflags(write=True)`` on a read-only one is refused (before, it was taken, and a write changed the instance)."""
        if write and not self.flags.writeable:
            self._refuse()
        super().setflags(write=write, align=align, uic=uic)

    # what numpy makes as a new array of this type (writable) is a plain ndarray, as .copy() is
    astype, flatten, byteswap, repeat, take, compress = (
        _plain_result(name) for name in ("astype", "flatten", "byteswap", "repeat", "take", "compress"))

    def copy(self, order: str = "C") -> np.ndarray:
        return np.array(self, order=order, subok=False)

    def __copy__(self) -> np.ndarray:
        return self.copy()

    def __deepcopy__(self, memo) -> np.ndarray:
        return self.copy()

    def __reduce__(self):
        return np.ndarray.__reduce__(self.view(np.ndarray))


class _Spec(BaseModel):
    """A part of an instance document, read-only once validated: assigning a field is a
    :class:`ReadOnlyError` saying how to make the changed instance (:meth:`Instance.with_spec`),
    and its lists and mappings are :class:`ReadOnlyList` / :class:`ReadOnlyDict`. Before, an
    assignment such as ``inst.spec.tau = 0.1`` was taken and ignored (the privacy limits were
    derived at loading), ``inst.spec.tau = -5`` was not even checked."""

    model_config = STRICT

    #: how to change a field ``{field}`` of this part: the fix of :meth:`__setattr__`
    _change: ClassVar[str] = "inst.with_spec({field}=...)"

    @model_validator(mode="after")
    def _read_only(self):
        for name, value in self.__dict__.items():
            where = f"{self._place()}.{name}"
            if isinstance(value, list) and not isinstance(value, ReadOnlyList):
                self.__dict__[name] = ReadOnlyList(value, where, self._fix(name))
            elif isinstance(value, dict) and not isinstance(value, ReadOnlyDict):
                self.__dict__[name] = ReadOnlyDict(value, where, self._fix(name))
        return self

    def _place(self) -> str:
        return type(self).__name__

    def _fix(self, name: str) -> str:
        return self._change.format(field=name, id=text_of(getattr(self, "id", "ID"))) + "; it validates the change as " \
            "loading a file does and derives the instance again"

    def __setattr__(self, name: str, value) -> None:
        raise ReadOnlyError(f"{self._place()}.{name} cannot be changed: a loaded instance is read-only, its numbers "
                            f"were derived from it (fix: {self._fix(name)})")

    def __delattr__(self, name: str) -> None:
        self.__setattr__(name, None)


class NodeSpec(_Spec):
    """A device or source. Fields left out come from the catalog ``type``."""

    _change: ClassVar[str] = ("inst.with_spec(devices=[d.model_copy(update={{\"{field}\": ...}}) if d.id == {id} else d "
                              "for d in inst.spec.devices]) (sources: the same with sources=)")

    def _place(self) -> str:
        return f"node {text_of(self.id)}"

    id: str = Field(min_length=1, description="unique name of the node")
    type: str | None = Field(default=None, description="device catalog entry, e.g. 'rpi3'")
    memory: float | None = Field(default=None, gt=_lo("memory"), le=_hi("memory"), description="bytes of memory")
    mults_per_s: float | None = Field(
        default=None, ge=_lo("mults_per_s"), le=_hi("mults_per_s"), description="e_i, multiplications per second"
    )
    rate: float | None = Field(default=None, ge=_lo("rate"), le=_hi("rate"), description="rho_i, radio bytes per second")
    compute_capacity: float | None = Field(
        default=None, ge=_lo("compute_capacity"), le=_hi("compute_capacity"),
        description="multiplications per period (default mults_per_s * period_s)",
    )
    bandwidth_capacity: float | None = Field(
        default=None, ge=_lo("bandwidth_capacity"), le=_hi("bandwidth_capacity"),
        description="bytes sent per period (default rate * period_s)",
    )


class RequestSpec(_Spec):
    """One image from ``source`` to be classified by zoo CNN ``cnn``."""

    _change: ClassVar[str] = ("inst.with_spec(requests=[q.model_copy(update={{\"{field}\": ...}}) if q.id == {id} else q "
                              "for q in inst.spec.requests])")

    def _place(self) -> str:
        return f"request {text_of(self.id)}"

    id: str = Field(min_length=1)
    source: str = Field(min_length=1, description="id of a node in 'sources'")
    cnn: str = Field(min_length=1, description="zoo CNN name, e.g. 'lenet'")


class ObjectiveSpec(_Spec):
    """Objective options (MODEL.md sections 5 and 8)."""

    _change: ClassVar[str] = "inst.with_spec(objective=inst.objective.model_copy(update={{\"{field}\": ...}}))"

    def _place(self) -> str:
        return "objective"

    kind: Literal["latency", "makespan"] = Field(
        default="latency", description="sum of request latencies (eq. 5) or the largest one"
    )
    shared_weight: float = Field(
        default=0.0, ge=_lo("shared_weight"), le=_hi("shared_weight"), description="lambda: seconds charged per shared byte"
    )
    admission: bool = Field(default=False, description="allow rejecting requests at rejection_penalty each")
    rejection_penalty: float | None = Field(
        default=None, gt=_lo("rejection_penalty"), le=_hi("rejection_penalty"), description="seconds per rejected request (default: 1000 x a bound on any latency)"
    )
    uplink: Literal["parallel", "serial"] = Field(
        default="parallel", description="transfers of one sender in parallel (paper) or serialised"
    )


class QuantizationSpec(_Spec):
    """DefQ input quantization on the source, for a CNN served with early exits (MODEL.md section 8).

    An entry declares that the CNN is served with early exits (internal classifiers); its shares
    describe THAT deployment. Expected share of a request's multiplications:
    ``w = f + (1 - f) ((1 - a) l_clean + a l_x)`` with ``x = defended`` when DefQ is on, else
    ``attacked`` (``optdist.defences.placement``). The four exit shares (``exit_work_share``,
    ``late_share_*``) must be set: an entry leaving any to its default is refused
    (``defence.CNN.quantization``). The defaults are the measured multi-exit CNN on MNIST
    (benchmarks/defences/defq_eval, exits 1-2, RAD 5 %, DeepSloth L-inf 0.1, DefQ[20,60]), to copy
    only for a deployment like it.
    """

    _change: ClassVar[str] = "inst.with_spec(defence={{CNN: {{..., \"quantization\": {{..., \"{field}\": ...}}}}}})"

    use: Literal["off", "on", "auto"] = Field(
        default="auto", description="DefQ off (the early exits only), on, or chosen by the optimizer"
    )
    attack_share: float = Field(default=0.0, ge=0, le=1, description="a: share of requests that are slow-down attacks")
    exit_work_share: float = Field(
        default=0.3228, ge=0, le=1, description="f: share of a request's multiplications done up to the early exit "
        "(required; default: the multi-exit MNIST CNN's measured value)"
    )
    late_share_clean: float = Field(default=0.18, ge=0, le=1, description="share of clean requests past the early exit "
                                    "(required; default: the multi-exit MNIST CNN's measured value)")
    late_share_attacked: float = Field(
        default=0.517, ge=0, le=1, description="share of attacked requests past the early exit, DefQ off "
        "(required; default: the multi-exit MNIST CNN's measured value)"
    )
    late_share_defended: float = Field(
        default=0.502, ge=0, le=1, description="share of attacked requests past the early exit, DefQ on "
        "(required; default: the multi-exit MNIST CNN's measured value)"
    )
    accuracy_drop_pct: float = Field(default=0.11, ge=0, le=_hi("accuracy_pct"), description="accuracy lost (%) on clean "
                                     "inputs with DefQ on (default: the multi-exit MNIST CNN's measured value)")


class DefenceSpec(_Spec):
    """Defence options of one CNN, chosen jointly with the placement (``--method defended``)."""

    _change: ClassVar[str] = "inst.with_spec(defence={{CNN: {{..., \"{field}\": ...}}}})"

    mode: Literal["distribute", "dp", "hybrid", "auto"] = Field(
        default="auto",
        description="distribute only (Nf), DP noise at a cut computed on the source, distribution up to a noised "
        "cut, or the best of all",
    )
    cuts: list[str] | None = Field(
        default=None,
        description="layers whose output may be noised (default: every layer followed by an intermediate layer "
        "before the split point)",
    )
    epsilons: list[Annotated[float, Field(ge=_lo("epsilons"), le=_hi("epsilons"))]] | None = Field(
        default=None, description="Laplace budgets to try (default: the paper's grid)"
    )
    max_accuracy_drop_pct: float = Field(default=2.0, ge=0, le=_hi("accuracy_pct"), description="user bound on the accuracy lost (%)")
    accuracy_weight: float = Field(default=0.0, ge=0, le=_hi("accuracy_weight"), description="seconds charged per accuracy-% lost, per request")
    quantization: QuantizationSpec | None = Field(
        default=None, description="DefQ and the expected load of the CNN served with early exits (the four exit "
        "shares set); null: served with its final classifier only, no DefQ"
    )


class InstanceSpec(_Spec):
    """The JSON document of an instance file."""

    def _place(self) -> str:
        return "inst.spec"

    format: Literal["optdist-instance/1"] = FORMAT
    name: str = Field(min_length=1)
    description: str = ""
    tau: float = Field(gt=0, le=1, description="tolerated SSIM of an inversion attack (privacy level)")
    period_s: float = Field(
        default=1.0, ge=_lo("period_s"), le=_hi("period_s"), description="seconds over which capacities are counted"
    )
    networks: dict[str, str] = Field(
        default_factory=dict,
        description="your own CNNs: name -> profile file (from `optdist profile --module`), relative to this file",
    )
    devices_catalog: str | None = Field(
        default=None, min_length=1,
        description="a device catalog file adding or overriding device types, relative to this file",
    )
    privacy: dict[str, str | None] = Field(
        default_factory=dict,
        description="CNN -> privacy table (bundled name like 'paper', or a .json path); null = no privacy limit",
    )
    devices: list[NodeSpec] = Field(min_length=1)
    sources: list[NodeSpec] = Field(min_length=1)
    requests: list[RequestSpec] = Field(min_length=1)
    objective: ObjectiveSpec = Field(default_factory=ObjectiveSpec)
    defence: dict[str, DefenceSpec] = Field(
        default_factory=dict, description="CNN -> defence options (method 'defended'); empty: distribute only"
    )


class InstanceError(DocumentError):
    """An invalid instance file; ``problems`` lists every problem found."""

    kind = "instance"


_CAPACITY_FIX = ("or leave it out (default: {rate} x period_s); a capacity that must never bind is a large "
                 "finite number, not Infinity")
_FIXES = {
    "tau": "give the tolerated SSIM as a number in (0, 1], e.g. 0.8 (low privacy) or 0.4 (high)",
    "period_s": "give the period in seconds as a number in [1e-06, 1e+06], e.g. 1.0",
    "memory": "give the memory in bytes as a number in (0, 1e+15], e.g. 1073741824 for 1 GiB",
    "mults_per_s": "give multiplications per second as a number in [1e+03, 1e+16], e.g. 560e6 for an RPi3",
    "rate": "give the radio rate in bytes per second as a number in [1, 1e+12], e.g. 9025000 for 802.11n 72.2 Mbit/s",
    "compute_capacity": "give multiplications per period as a number in [0, 1e+22], "
    + _CAPACITY_FIX.format(rate="mults_per_s"),
    "bandwidth_capacity": "give bytes per period as a number in [0, 1e+18], " + _CAPACITY_FIX.format(rate="rate"),
    "shared_weight": "give lambda in seconds per shared byte as a number in [0, 1], e.g. 1e-9",
    "rejection_penalty": "give seconds per rejected request as a number in (0, 1e+09], or leave it out "
    "(default: 1000 x a bound on any latency)",
    "epsilons": f"give {EPS_RULE}, e.g. [1, 5, 10]",
    "admission": "write true or false (JSON booleans, not 0/1 or strings)",
    "devices": "give a list of at least one device, each an object, e.g. {\"id\": \"d1\", \"type\": \"rpi3\"}",
    "sources": "give a list of at least one source, each an object, e.g. {\"id\": \"cam1\", \"type\": \"rpi3\"}",
    "requests": "give a list of at least one request, each an object, e.g. "
    "{\"id\": \"r1\", \"source\": \"cam1\", \"cnn\": \"lenet\"}",
    "format": f"set \"format\": \"{FORMAT}\"",
    "kind": "use 'latency' or 'makespan'",
    "uplink": "use 'parallel' or 'serial'",
}


# --- schema problems in the user's terms --------------------------------------------------------
# The translation of pydantic's errors is :func:`optdist.jsonfile.schema_problems`; an instance
# describes its places here: what each expects and an example (:func:`_expected`), its objects
# (:data:`_OBJECTS`), and its own fixes (a node or request written as a string, an id).


def _expected() -> dict[str, tuple[str, str]]:
    """What each place of the document expects, and an example value (JSON text), by place:
    list indices as ``[]``, the user's own keys of ``networks``, ``privacy`` and ``defence`` as ``*``."""
    share = lambda f: (number_in(QuantizationSpec, f, "a share"), "0.5")  # noqa: E731
    out = {
        "format": (f'the text "{FORMAT}"', f'"{FORMAT}"'),
        "name": ("a non-empty string naming the instance", '"lenet-1x10"'),
        "description": ("a string", '"1 LeNet request on 10 RPi3 devices"'),
        "tau": (number_in(InstanceSpec, "tau", "the tolerated SSIM of an inversion attack"), "0.6"),
        "period_s": (number_in(InstanceSpec, "period_s", "the seconds over which capacities are counted"), "1.0"),
        "networks": ("an object mapping each of your own CNNs to its profile file", '{"mynet": "mynet.profile.json"}'),
        "networks.*": ("the path of a profile file (a string), relative to the instance file", '"mynet.profile.json"'),
        "devices_catalog": ("the path of a device-catalog file (a non-empty string), relative to the instance file",
                            '"mydevices.json"'),
        "privacy": ("an object mapping each CNN to its privacy table", '{"lenet": "paper"}'),
        "privacy.*": ('a bundled privacy table\'s name such as "paper", the path of a table file (a string), or null '
                      "for no privacy limit", '"paper"'),
        "objective": ("an object of objective options", '{"kind": "latency"}'),
        "objective.kind": ('"latency" or "makespan"', '"latency"'),
        "objective.shared_weight": (number_in(ObjectiveSpec, "shared_weight", "seconds charged per shared byte"), "1e-9"),
        "objective.admission": ("true or false", "true"),
        "objective.rejection_penalty": (number_in(ObjectiveSpec, "rejection_penalty", "seconds per rejected request")
                                        + ", or left out", "100"),
        "objective.uplink": ('"parallel" or "serial"', '"parallel"'),
        "defence": ("an object mapping each CNN to its defence options", '{"lenet": {"mode": "auto"}}'),
        "defence.*": ("an object of defence options", '{"mode": "auto"}'),
        "defence.*.mode": ('"distribute", "dp", "hybrid" or "auto"', '"auto"'),
        "defence.*.cuts": ("a list of layer names, or null", '["conv1", "pool1"]'),
        "defence.*.cuts[]": ("a layer name (a string)", '"conv1"'),
        "defence.*.epsilons": (f"a list of Laplace budgets, numbers in [{_lo('epsilons'):g}, {_hi('epsilons'):g}], or null",
                               "[1, 5, 10]"),
        "defence.*.epsilons[]": (f"a Laplace budget, a number in [{_lo('epsilons'):g}, {_hi('epsilons'):g}]", "5"),
        "defence.*.max_accuracy_drop_pct": (number_in(DefenceSpec, "max_accuracy_drop_pct", "a percentage"), "2.0"),
        "defence.*.accuracy_weight": (number_in(DefenceSpec, "accuracy_weight", "seconds charged per accuracy-% lost"), "0.01"),
        "defence.*.quantization": ("an object of DefQ options, or null", '{"use": "auto"}'),
        "defence.*.quantization.use": ('"off", "on" or "auto"', '"auto"'),
        "defence.*.quantization.attack_share": share("attack_share"),
        "defence.*.quantization.exit_work_share": share("exit_work_share"),
        "defence.*.quantization.late_share_clean": share("late_share_clean"),
        "defence.*.quantization.late_share_attacked": share("late_share_attacked"),
        "defence.*.quantization.late_share_defended": share("late_share_defended"),
        "defence.*.quantization.accuracy_drop_pct": (number_in(QuantizationSpec, "accuracy_drop_pct", "a percentage"), "0.11"),
        "requests": ("a list of at least one request, each an object", '[{"id": "r1", "source": "cam1", "cnn": "lenet"}]'),
        "requests[]": ('a request, an object with an "id", a "source" and a "cnn"', '{"id": "r1", "source": "cam1", "cnn": "lenet"}'),
        "requests[].id": ("a non-empty string, unique among the requests", '"r1"'),
        "requests[].source": ('the id of a node in "sources" (a string)', '"cam1"'),
        "requests[].cnn": ('a CNN\'s name (a string): a zoo CNN such as "lenet", or one named in "networks"', '"lenet"'),
    }
    for group, one, nid in (("devices", "device", "d1"), ("sources", "source", "cam1")):
        obj = f'{{"id": "{nid}", "type": "rpi3"}}'
        out[group] = (f"a list of at least one {one}, each an object", f"[{obj}]")
        out[f"{group}[]"] = (f'a {one}, an object with an "id" and a "type" (or the numbers a type gives)', obj)
        node = {
            "id": ("a non-empty string, unique among the devices and sources", f'"{nid}"'),
            "type": ('a device type of the catalog (a string), e.g. "rpi3", "rpi4" or "jetson-nano"', '"rpi3"'),
            "memory": (number_in(NodeSpec, "memory", "bytes of memory"), "1073741824 for 1 GiB"),
            "mults_per_s": (number_in(NodeSpec, "mults_per_s", "multiplications per second"), "560e6 for an RPi3"),
            "rate": (number_in(NodeSpec, "rate", "radio bytes per second"), "9025000 for 802.11n at 72.2 Mbit/s"),
            "compute_capacity": (number_in(NodeSpec, "compute_capacity", "multiplications per period") + ", or left out "
                                 "(default: mults_per_s x period_s)", "560e6"),
            "bandwidth_capacity": (number_in(NodeSpec, "bandwidth_capacity", "bytes sent per period") + ", or left out "
                                   "(default: rate x period_s)", "9025000"),
        }
        out |= {f"{group}[].{f}": v for f, v in node.items()}
    return out


#: the object a place (as in :func:`_expected`) holds, and how to call it, for unknown keys
_OBJECTS: dict[str, tuple[type[BaseModel], str]] = {
    "": (InstanceSpec, "the instance"), "devices[]": (NodeSpec, "a device"), "sources[]": (NodeSpec, "a source"),
    "requests[]": (RequestSpec, "a request"), "objective": (ObjectiveSpec, "the objective"),
    "defence.*": (DefenceSpec, "a CNN's defence options"), "defence.*.quantization": (QuantizationSpec, "the DefQ options"),
}
_MAPS = ("networks", "privacy", "defence")  # objects whose keys are the user's own (CNN names)


def _example_id(loc: tuple) -> str:
    """An id for the node or request at ``loc`` (``devices[2]`` -> ``"d3"``) for examples."""
    if len(loc) >= 2 and isinstance(loc[1], int):
        return {"devices": "d", "sources": "cam", "requests": "r"}.get(str(loc[0]), "x") + str(loc[1] + 1)
    return "x1"


def _special(e: dict, loc: tuple, place: str) -> str | None:
    """An instance's own fixes: a node or request written as something else than an object."""
    if e["type"] not in ("model_type", "dict_type", "model_attributes_type"):
        return None
    value = e.get("input")
    null = ", or remove the null" if value is None else ""
    if place in ("devices[]", "sources[]"):
        typ = value if isinstance(value, str) and value in device_catalog() else "rpi3"
        return f'write the {place[:-3].rstrip("s")} as an object, in braces: {{"id": "{_example_id(loc)}", "type": "{typ}"}}{null}'
    if place == "requests[]":
        return f'write the request as an object, in braces: {{"id": "{_example_id(loc)}", "source": "cam1", "cnn": "lenet"}}{null}'
    if place == "defence.*" and loc[-1] in DefenceSpec.model_fields:  # options written without their CNN
        return (f'"{loc[-1]}" is a defence option, not a CNN: "defence" maps each CNN to its options, in braces, '
                f'e.g. "defence": {{"lenet": {{"mode": "auto"}}}}')
    return None


@cache
def _schema() -> Schema:
    return Schema(
        "the instance", expected=_expected(), objects=_OBJECTS, maps=_MAPS, fixes=_FIXES, hint=SCHEMA_HINT,
        lists={"devices": "object", "sources": "object", "requests": "object", "defence.*.epsilons": "number",
               "defence.*.cuts": "string"},
        quotable=frozenset({"name", "description", "devices[].id", "sources[].id", "requests[].id",
                            "requests[].source"}),
        nullable=frozenset({"privacy.*"}), special=_special,
        example=lambda loc, place: f'"{_example_id(loc)}"' if place.endswith("[].id") else None)


def schema_problems(err: ValidationError) -> list[Problem]:
    """One :class:`Problem` per schema error of an instance document, in the user's terms
    (:func:`optdist.jsonfile.schema_problem`): field path, value as typed, what is expected, a fix with an example."""
    return jsonfile_schema_problems(err, _schema())


def _q(text: str) -> str:
    """``text`` as the user typed it in JSON: ``"rpi5"`` (invisible characters escaped)."""
    return text_of(text)


def _choices(names, limit: int | None = None) -> str:
    """``"a", "b", "c"`` (sorted; past ``limit``: ``..., and N more``)."""
    names = sorted(names)
    shown = ", ".join(map(_q, names[:limit]))
    return shown + (f", and {len(names) - limit} more" if limit is not None and len(names) > limit else "")


def _did_you_mean(text: str, names) -> str:
    """``'did you mean "rpi4"? '`` for a close name among ``names``, else ""."""
    close = closest(text, sorted(names), cutoff=MANY_NAMES_CUTOFF)
    return f"did you mean {_q(close)}? " if close else ""


def _base_of(path: Path | None) -> str:
    """What the files an instance names are relative to, as a fix says it: its file (``path``, the
    file or its folder), or for an instance given as a dict (``path`` None) the working folder.
    Before, a dict's fix said "relative to the instance file" too."""
    if path is None:
        return "the working folder (a dict has no instance file)"
    return "the instance file"


def _relative(base: Path | None, ref: str) -> Path:
    p = Path(ref)
    return p if p.is_absolute() or base is None else base / p


def referenced_files(path: str | Path) -> list[Path]:
    """The files an instance file names (network profiles, device catalog, privacy-table files),
    resolved relative to it, as written (existing or not); [] if ``path`` cannot be read as an
    instance. Used to keep output files off every input (MODEL.md is silent; CLI safety).
    """
    path = Path(path)
    try:
        doc = read_json(path, MAX_BYTES, InstanceError, "instance")
    except (OSError, DocumentError):
        return []
    return files_named(doc, path.parent)


def files_named(doc: object, folder: Path) -> list[Path]:
    """The files the instance document ``doc`` (its decoded JSON, not validated) names: network
    profiles, device catalog, privacy-table files, resolved relative to ``folder`` (the instance
    file's), as written; [] if ``doc`` is no JSON object (:func:`referenced_files` reads it first)."""
    if not isinstance(doc, dict):
        return []
    refs: list[str] = []
    for key in ("networks", "privacy"):
        if isinstance(doc.get(key), dict):
            refs += [v for v in doc[key].values() if isinstance(v, str) and is_json_name(v)]
    if isinstance(doc.get("devices_catalog"), str):
        refs.append(doc["devices_catalog"])
    return [_relative(folder, r) for r in refs]


def _network_profiles(spec: InstanceSpec, base: Path | None, problems: list[Problem]) -> dict[str, Profile]:
    """The profiles of ``spec.networks`` by instance key (each keeps its file's ``cnn`` name), problems appended."""
    out: dict[str, Profile] = {}
    zoo = set(available_cnns())
    for name, ref in spec.networks.items():
        p = f"networks.{name}"
        if not name:
            problems.append(Problem("networks", "empty network name", "give every network a name"))
            continue
        if not ref.strip():
            problems.append(Problem(p, f"empty path {_q(ref)}", f"give the path of the profile file relative to "
                                    f"{_base_of(base)}, e.g. {_q(name)}: {_q(name + '.profile.json')}"))
            continue
        if name in zoo:
            problems.append(Problem(p, f"{_q(name)} is a zoo CNN", f"name your network differently (zoo CNNs: {_choices(zoo)})"))
            continue
        path = _relative(base, ref)
        try:
            prof = load_profile_file(path)
        except FileNotFoundError:
            problems.append(Problem(p, f"profile file {path} not found", "give the path of a profile file relative to "
                                    f"{_base_of(base)}; write one with `optdist profile --module pkg.mod:builder "
                                    "--input C,H,W --out FILE`"))
            continue
        except ProfileFileError as e:
            problems += [Problem(f"{p} ({path}: {q.path})", q.message, q.fix) for q in e.problems]
            continue
        out[name] = prof
    return out


#: the fix of a write into :meth:`Instance.segment_seconds`
_SECONDS_FIX = ("it is derived from the CNN's profile and the nodes' mults_per_s (or measured times): change those with "
                "inst.with_spec(...)")


@dataclass(frozen=True)
class Instance:
    """A validated instance resolved to numbers.

    Nodes: devices ``0..D-1`` then sources ``D..D+S-1``. Arrays have one entry per node.
    """

    spec: InstanceSpec
    path: Path | None
    node_ids: tuple[str, ...]
    n_devices: int
    memory: np.ndarray
    compute_capacity: np.ndarray
    bandwidth_capacity: np.ndarray
    mults_per_s: np.ndarray
    rate: np.ndarray
    request_ids: tuple[str, ...]
    request_source: np.ndarray  # node index of each request's source
    request_cnn: tuple[str, ...]
    profiles: dict[str, Profile]
    limits: dict[str, PrivacyLimits]
    node_types: tuple[str | None, ...] = field(default=())
    _seconds: dict[str, np.ndarray] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._freeze()

    def __setstate__(self, state: dict) -> None:  # unpickled (a worker process): read-only again
        self.__dict__.update(state)
        self._freeze()

    def _freeze(self) -> None:
        """Make the instance read-only, as its spec is (:class:`_Spec`): its arrays (copies, so that
        a caller's array stays its own) and its ``profiles`` and ``limits`` mappings, derived from the
        spec when it was made. Before, ``inst.rate[0] = 0`` or ``inst.profiles.clear()`` was taken
        and ended in a solver's or a KeyError's words far from the change."""
        node = text_of(self.node_ids[0]) if self.node_ids else '"d1"'
        request = text_of(self.request_ids[0]) if self.request_ids else '"r1"'
        for name in ("memory", "compute_capacity", "bandwidth_capacity", "mults_per_s", "rate", "request_source"):
            value = getattr(self, name)
            if isinstance(value, ReadOnlyArray) and not value.flags.writeable and value.base is None:
                continue
            fix = (RequestSpec._change.format(field="source", id=request) if name == "request_source" else
                   NodeSpec._change.format(field=name, id=node))
            object.__setattr__(self, name, ReadOnlyArray.of(value, f"inst.{name}", f"change the spec with {fix}; it "
                                                            "validates the change as loading a file does and derives "
                                                            "the instance again"))
        for cnn, seconds in list(self._seconds.items()):  # an unpickled cache: read-only again
            if not isinstance(seconds, ReadOnlyArray):
                self._seconds[cnn] = ReadOnlyArray.of(seconds, "inst.segment_seconds(r)", _SECONDS_FIX)
        for name, derived in (("profiles", "networks"), ("limits", "tau, privacy")):
            value = getattr(self, name)
            if not isinstance(value, ReadOnlyDict):
                object.__setattr__(self, name, ReadOnlyDict(value, f"inst.{name}", f"change the spec ({derived}) with "
                                                            f"{_WITH_SPEC}"))

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def n_nodes(self) -> int:
        return len(self.node_ids)

    @property
    def n_requests(self) -> int:
        return len(self.request_ids)

    @property
    def objective(self) -> ObjectiveSpec:
        return self.spec.objective

    def is_source(self, node: int) -> bool:
        return node >= self.n_devices

    def node_index(self, node_id: str) -> int:
        """The index of node ``node_id`` (devices first, then sources); ValueError naming the
        instance, its nodes and the fix for an id it does not have (was "tuple.index(x): x not in tuple")."""
        try:
            return self.node_ids.index(node_id)
        except ValueError:
            raise ValueError(f"node {text_of(node_id)}: no such node in {text_of(self.name)} (its {self.n_nodes} nodes: "
                             f"{self.node_ids[0]} ... {self.node_ids[-1]}) (fix: {_did_you_mean(str(node_id), self.node_ids)}"
                             f"give a device or source id of the instance)") from None

    def _cnn_of(self, r: int) -> str:
        """The CNN of request ``r``, a 0-based index in ``[0, n_requests)`` as
        :func:`optdist.evaluate.request_index` takes it: one past the requests, a negative one (not
        counted from the end: -1 was the last request, -2 refused), a bool or one of another kind
        (a request id, ``np.True_``) is a ValueError naming the instance, its range and the fix.
        Was a bare IndexError ("tuple index out of range") or TypeError ("tuple indices must be
        integers"), and ``np.True_`` a TypeError of the message itself."""
        try:
            if r is True or r is False or r < 0:
                raise IndexError
            return self.request_cnn[r]
        except (IndexError, TypeError, ValueError):  # ValueError: r < 0 of an array of several
            eg = (f", e.g. {self.request_ids.index(r)} for request {text_of(r)}" if isinstance(r, str) and r in self.request_ids
                  else "")
            raise ValueError(f"request index {json_text(r)}: {text_of(self.name)} has requests 0..{self.n_requests - 1} "
                             f"(fix: give a 0-based request index{eg})") from None

    def profile(self, r: int) -> Profile:
        """The profile of request ``r``'s CNN (``r``: a 0-based request index; else :meth:`_cnn_of`'s ValueError)."""
        return self.profiles[self._cnn_of(r)]

    def request_class(self, r: int) -> tuple[str, int]:
        """``(cnn, source node)`` of request r: requests with equal classes are interchangeable
        (same network, same source: the same placements, costs and usage; MODEL.md section 6)."""
        return self._cnn_of(r), int(self.request_source[r])

    def segment_seconds(self, r: int) -> np.ndarray:
        """``(L, N)`` seconds one segment of layer k of request r's CNN takes on node j (MODEL.md sections 5, 9).

        ``c_k / e_j``, except on a node whose catalog ``type`` the profile has measured times for
        (``measured_seconds``), where the measured seconds replace it. The one home of that
        quotient: every latency computation uses it. Cached per CNN; read-only.
        """
        cnn = self._cnn_of(r)
        out = self._seconds.get(cnn)
        if out is None:
            out = ReadOnlyArray.of(segment_seconds(self.profiles[cnn], self.mults_per_s, self.node_types or (None,) * self.n_nodes),
                                   "inst.segment_seconds(r)", _SECONDS_FIX)
            self._seconds[cnn] = out
        return out

    def timing_class(self, j: int) -> str | None:
        """Node j's type when some CNN of the instance has measured times for it, else None: two nodes
        with equal numbers but different timing classes compute at different speeds (section 9)."""
        t = self.node_types[j] if j < len(self.node_types) else None
        return t if any(p.measured_seconds(t) is not None for p in self.profiles.values()) else None

    def measured_warnings(self) -> list[str]:
        """One line per measured-times table (``measured_seconds``, MODEL.md section 9) of a CNN this
        instance uses that names a device type no node of the instance has: its times are unused,
        which is a typo (``rpi-4``) unless the profile is shared with instances of other types."""
        types = sorted({t for t in self.node_types if t is not None})
        out = []
        for key, prof in sorted(self.profiles.items()):
            for t, _ in prof.measured:
                if t not in types:
                    where = f"networks.{key} ({self.spec.networks[key]})" if key in self.spec.networks else key
                    out.append(f"{where}: measured_seconds.{t} applies to no node (node types here: "
                               f"{', '.join(types) or 'none'}); if {text_of(t)} is a typo, fix the type name in the profile "
                               f"or re-measure with --measure TYPE")
        return out

    def limit(self, r: int) -> PrivacyLimits:
        """The privacy limits of request ``r``'s CNN (``r``: a 0-based request index; else :meth:`_cnn_of`'s ValueError)."""
        return self.limits[self._cnn_of(r)]

    def rejection_penalty(self) -> float:
        """Seconds per rejected request: the set value, else 1000 x a bound on any one latency."""
        if self.objective.rejection_penalty is not None:
            return self.objective.rejection_penalty
        slowest_e, slowest_rho = float(self.mults_per_s.min()), float(self.rate.min())
        bound = 0.0
        for cnn, prof in self.profiles.items():
            work = sum(la.total_mults for la in prof.layers) / slowest_e
            for _, times in prof.measured:  # measured times (section 9) may be slower than any c_k / e_j
                work = max(work, sum(la.segments * s for la, s in zip(prof.layers, times.seconds_per_segment)))
            data = sum(la.out_bytes for la in prof.layers) / slowest_rho
            bound = max(bound, work + data)
        return 1000.0 * max(bound, 1e-6)

    def content_digest(self) -> str:
        """SHA-256 (64 hex digits) of the problem this instance states, its name and description
        left out: its spec as canonical JSON (keys sorted) without the nodes, requests and the
        files it names, and what they resolve to (:func:`resolved_content`: each node's numbers
        and device type, each request's source and CNN, each CNN's profile as the models read it,
        its privacy limits at ``tau``), a privacy-table file by its bytes. So a copy under
        another name, re-saved with other spacing or key order, naming its files by another path
        (relative, absolute) or writing a catalog default out hashes the same, and an edit of a
        node, request, limit, objective or of a file it names (a device catalog's capacities, a
        profile) does not. Placement files record it (``instance_digest``:
        :meth:`optdist.assignment.Assignment.to_json`) to tell an edited version of an instance
        from the one they were made for."""
        spec = self.spec.model_dump(mode="json", exclude={"name", "description", "devices", "sources", "requests",
                                                          "devices_catalog", "networks"})
        base = self.path.parent if self.path else None
        spec["privacy"] = {cnn: _file_bytes_digest(_relative(base, ref)) if isinstance(ref, str) and is_json_name(ref)
                           else ref for cnn, ref in self.spec.privacy.items()}
        doc = {"spec": spec, "n_devices": self.n_devices, **resolved_content(self)}
        text = json.dumps(exact_floats(doc), sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def with_spec(self, **changes: Any) -> Instance:
        """A copy with top-level spec fields replaced (e.g. ``tau=0.6``), validated exactly as
        loading a file with those fields is (:func:`parse`; files it names are relative to this
        instance's file) and resolved again: a field the format does not have (``taux=0.5``) or a
        value out of its range (``tau=-5``) is an :class:`InstanceError` naming the field and the
        fix. A value may be given as the document writes it (``objective={"kind": "makespan"}``)
        or as the spec holds it (``objective=inst.objective.model_copy(update={"kind":
        "makespan"})``, a list of :class:`NodeSpec`). Before, the changes were copied in
        unchecked: ``with_spec(tau=-5)`` solved, ``with_spec(taux=0.5)`` was ignored."""
        data = self.spec.model_dump()
        data.update({name: _plain(value) for name, value in changes.items()})
        return parse(data, f"{text_of(self.name)}.with_spec({', '.join(changes)})", self.path)


def _plain(value: Any) -> Any:
    """``value`` as a JSON document holds it: a spec model as its fields, a tuple or list as a
    list, a mapping as a dict (what :meth:`Instance.with_spec` validates)."""
    if isinstance(value, BaseModel):  # a defence entry as given: its unset fields stay unset (exit shares)
        return value.model_dump(exclude_unset=isinstance(value, DefenceSpec))
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (dict, MappingProxyType)):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _visible(problems: list[Problem], at: str, what: str, text: str, example: str) -> None:
    """A problem where ``text`` (the instance's name, a node's or request's id: printed in every
    report, table and violation line) holds a NUL, line break, bidi override or other control or
    invisible character, which garbles what is printed."""
    if escaped(text) != text:
        problems.append(Problem(at, f"{what} {_q(text)} holds control or invisible characters",
                                f"write the {what} in visible characters, e.g. {example}"))


@contextlib.contextmanager
def _table_problems(problems: list[Problem], cnn: str, path: Path | None):
    """The problems, at ``privacy.<cnn>``, of reading that CNN's privacy table in the block (the
    instance file ``path``, None for a dict): the table's own, each with its field and fix; a
    table not found; another error."""
    try:
        yield
    except PrivacyTableError as e:  # the table's own problems, each with its field and fix
        problems += [Problem(f"privacy.{cnn}", f"{e.source}: {p.path}: {p.message}", p.fix) for p in e.problems]
    except FileNotFoundError as e:
        problems.append(Problem(f"privacy.{cnn}", str(e), f"give the path of a privacy-table file relative to "
                                f"{'this instance file' if path else _base_of(path)} (a name ending in .json), a bundled table name, or null for no privacy limit"))
    except (OSError, ValueError) as e:
        problems.append(Problem(f"privacy.{cnn}", str(e), "name a bundled table (models/privacy/<cnn>-<name>.json) or a valid table file"))


def _unknown_privacy_key(cnn: str, used: list[str], cnns: set[str], own: dict[str, Profile]) -> Problem:
    """The problem of ``privacy.<cnn>`` keyed by a CNN the instance does not have (neither a zoo CNN
    nor one of its ``networks``): a misspelt key (``LeNet`` for ``lenet``) whose CNN the requests
    use (``used``) is offered first, in any case; the fix names the requests' CNNs, with an example.
    Before, the fix listed the zoo alone and offered no name that differed in case."""
    close = closest(cnn, used, ignore_case=True, cutoff=MANY_NAMES_CUTOFF)
    hint = f"did you mean {_q(close)}? " if close else _did_you_mean(cnn, cnns)
    eg = close or (used[0] if used else "lenet")
    known = [] if eg in own else bundled_tables(eg)
    table = "paper" if "paper" in known else known[0] if known else "TABLE.json"
    return Problem(f"privacy.{cnn}", f"unknown CNN {_q(cnn)}: the instance's requests use {_choices(used) or 'no CNN'}",
                   f"{hint}key each table by the CNN it is for, e.g. \"privacy\": {{{_q(eg)}: {_q(table)}}} (the "
                   f"zoo's CNNs: {zoo_choices()}{'; your networks: ' + _choices(own) if own else ''}), or remove the entry")


def _file_name(problems: list[Problem], name: str) -> None:
    """A problem where the instance's ``name`` cannot be part of a file name (a ``/`` or ``\\``,
    or ``.``/``..``): the files made from an instance take it (``pareto-<name>.csv``,
    ``<name>.diagnosis.json``, ``runs/rl/<name>``), and "a/b" made ``pareto-a/b.csv`` in a
    folder that does not exist, ".." made ``runs/rl/..``."""
    if "/" not in name and "\\" not in name and name.strip() not in (".", ".."):
        return
    example = "-".join(part for part in re.split(r"[/\\]", name) if part.strip(". ")) or "lenet-1x10"
    problems.append(Problem("name", f"name {_q(name)} is no file name: the files made from the instance take it "
                            "(pareto-<name>.csv, <name>.diagnosis.json, runs/rl/<name>)",
                            f"write the name without / or \\, e.g. \"name\": {_q(example)}"))


def resolve(spec: InstanceSpec, path: Path | None = None) -> Instance:
    """Check ``spec`` beyond its schema and resolve it; raises :class:`InstanceError`."""
    where = str(path) if path else spec.name
    problems: list[Problem] = []
    folder = path.parent if path else None  # user files are named relative to the instance file
    catalog = device_catalog()
    unread = False  # the instance's catalog could not be read: its types are not called unknown (one error, no cascade)
    if spec.devices_catalog is not None:
        cat_path = _relative(folder, spec.devices_catalog)
        types_ = sorted({n.type for n in [*spec.devices, *spec.sources] if n.type is not None and n.type not in catalog})
        later = (f" (the device types {', '.join(map(_q, types_))} are looked up once it reads)" if types_ else "")
        try:
            catalog = device_catalog(cat_path)
        except FileNotFoundError:
            unread = True
            problems.append(Problem("devices_catalog", f"device catalog {cat_path} not found{later}",
                                    f"give the path of a catalog file relative to {_base_of(path)}"))
        except DeviceCatalogError as e:
            unread = True
            problems += [Problem(f"devices_catalog ({cat_path}: {q.path})", q.message + (later if i == 0 else ""), q.fix)
                         for i, q in enumerate(e.problems)]
    own = _network_profiles(spec, folder, problems)
    cnns = set(available_cnns()) | set(own)

    _visible(problems, "name", "name", spec.name, '"name": "lenet-1x10"')
    _file_name(problems, spec.name)
    rows: list[dict] = []
    types: list[str | None] = []
    seen: dict[str, str] = {}
    for group in ("devices", "sources"):
        for i, node in enumerate(getattr(spec, group)):
            p = f"{group}[{i}]"
            _visible(problems, f"{p}.id", "id", node.id, f'"id": "{"d" if group == "devices" else "cam"}{i + 1}"')
            if node.id != node.id.strip():  # " d1 " and "d1" would be two nodes that print alike
                problems.append(Problem(f"{p}.id", f"id {_q(node.id)} starts or ends with white space", f"write \"id\": {_q(node.id.strip())}"))
            if node.id in seen:
                problems.append(Problem(f"{p}.id", f"duplicate node id {_q(node.id)} (also {seen[node.id]})", "give every device and source a unique id"))
            seen[node.id] = p
            base: dict = {}
            if node.type is not None:
                if node.type not in catalog and unread:
                    pass  # reported with the catalog that could not be read
                elif node.type not in catalog:
                    problems.append(Problem(f"{p}.type", f"unknown device type {_q(node.type)}",
                                            f"{_did_you_mean(node.type, catalog)}use one of {_choices(catalog)}, e.g. "
                                            f"\"type\": \"rpi3\", or give the numbers (memory, mults_per_s, rate) "
                                            "instead of a type"))
                else:
                    base = catalog[node.type]
            if node.memory is not None and not is_whole(node.memory):  # as device catalogs refuse it
                problems.append(Problem(f"{p}.memory", f"got {json_text(node.memory)}, not a whole number of bytes",
                                        f"give the memory in whole bytes, e.g. \"memory\": {int(node.memory)}"))
            vals = {f: getattr(node, f) if getattr(node, f) is not None else base.get(f) for f in NODE_FIELDS}
            for f in ("memory", "mults_per_s", "rate"):
                if vals[f] is None and (node.type is None or node.type in catalog):  # else the type is the problem
                    problems.append(Problem(f"{p}.{f}", f"missing {f} (no catalog type gives it)", _FIXES[f] + ", or set \"type\""))
            if vals["mults_per_s"] is not None and vals["compute_capacity"] is None:
                vals["compute_capacity"] = vals["mults_per_s"] * spec.period_s
            if vals["rate"] is not None and vals["bandwidth_capacity"] is None:
                vals["bandwidth_capacity"] = vals["rate"] * spec.period_s
            rows.append(vals)
            types.append(node.type)

    source_ids = {s.id for s in spec.sources}
    device_ids = {d.id for d in spec.devices}
    req_seen: set[str] = set()
    for i, rq in enumerate(spec.requests):
        p = f"requests[{i}]"
        _visible(problems, f"{p}.id", "id", rq.id, f'"id": "r{i + 1}"')
        if rq.id != rq.id.strip():
            problems.append(Problem(f"{p}.id", f"id {_q(rq.id)} starts or ends with white space", f"write \"id\": {_q(rq.id.strip())}"))
        if rq.id in req_seen:
            problems.append(Problem(f"{p}.id", f"duplicate request id {_q(rq.id)}", "give every request a unique id"))
        req_seen.add(rq.id)
        if rq.source not in source_ids:
            hint = " (it is a device: sources are the trusted cameras)" if rq.source in device_ids else ""
            add = "" if hint else f", or add it to \"sources\", e.g. {{\"id\": {_q(rq.source)}, \"type\": \"rpi3\"}}"
            problems.append(Problem(f"{p}.source", f"source {_q(rq.source)} does not exist{hint}",
                                    f"{_did_you_mean(rq.source, source_ids)}use one of {_choices(source_ids, 8)}{add}"))
        if rq.cnn not in cnns:
            if rq.cnn not in spec.networks:
                problems.append(Problem(f"{p}.cnn", f"unknown CNN {_q(rq.cnn)}", f"{_did_you_mean(rq.cnn, cnns)}use one "
                                        f"of {_choices(cnns) or zoo_choices()}, or name your own network's profile file in \"networks\": "
                                        f"{{{_q(rq.cnn)}: \"FILE.json\"}}"))

    used = sorted({rq.cnn for rq in spec.requests} & cnns)
    limits: dict[str, PrivacyLimits] = {}
    profiles = {c: own[c] if c in own else load_profile(c) for c in used}
    for cnn in used:
        if cnn not in spec.privacy:
            bundled = "" if cnn in own else f"\"{cnn}\": \"paper\" (bundled table), "
            problems.append(Problem("privacy", f"no privacy table for CNN {_q(cnn)}", f"add {bundled}\"{cnn}\": \"TABLE.json\" (a path to a table file), or \"{cnn}\": null for no privacy limit"))
            continue
        ref = spec.privacy[cnn]
        with _table_problems(problems, cnn, path):
            table = None if ref is None else resolve_table(cnn, ref, folder, profiles[cnn])
            limits[cnn] = privacy_limits(profiles[cnn], table, spec.tau)
    for cnn in sorted(set(spec.privacy) - set(used)):  # no request uses it (yet): its table is still read
        if cnn in cnns and spec.privacy[cnn] is not None:  # a typo there was "ok" until a request used it
            with _table_problems(problems, cnn, path):
                resolve_table(cnn, spec.privacy[cnn], folder, own[cnn] if cnn in own else load_profile(cnn))
    for cnn in sorted(set(spec.defence) & set(own)):
        problems.append(Problem(f"defence.{cnn}", f"defences are measured on the zoo CNNs only; {_q(cnn)} is your own network",
                                "remove the entry (distribution alone protects it through its privacy table)"))
    for cnn in sorted(set(spec.privacy) - set(used)):
        if cnn not in cnns and cnn not in spec.networks:  # a network whose file failed is reported once, above
            problems.append(_unknown_privacy_key(cnn, used, cnns, own))

    if problems:
        raise InstanceError(where, problems)

    D = len(spec.devices)
    ids = tuple(n.id for n in spec.devices) + tuple(n.id for n in spec.sources)
    col = lambda f: np.array([float(r[f]) for r in rows])  # noqa: E731
    index = {nid: n for n, nid in enumerate(ids)}
    inst = Instance(
        spec=spec,
        path=path,
        node_ids=ids,
        n_devices=D,
        memory=col("memory"),
        compute_capacity=col("compute_capacity"),
        bandwidth_capacity=col("bandwidth_capacity"),
        mults_per_s=col("mults_per_s"),
        rate=col("rate"),
        request_ids=tuple(rq.id for rq in spec.requests),
        request_source=np.array([index[rq.source] for rq in spec.requests], dtype=np.int64),
        request_cnn=tuple(rq.cnn for rq in spec.requests),
        profiles=profiles,
        limits=limits,
        node_types=tuple(types),
    )
    if spec.defence:  # the defence options' own checks, so that validate sees what solve sees
        from optdist.defences.placement import check_defence  # imports this module

        check_defence(inst)
    return inst


def parse(data: dict, where: str = "instance", path: Path | None = None) -> Instance:
    """Validate a decoded JSON document and resolve it."""
    if not isinstance(data, dict):
        raise InstanceError(where, [not_an_object(data, "the instance", "wrap the fields in braces: {\"format\": "
                                                  "\"optdist-instance/1\", \"name\": ..., \"tau\": ..., \"devices\": [...], ...}; "
                                                  "instances/ holds examples")])
    try:
        spec = InstanceSpec.model_validate(data)
    except ValidationError as e:
        meaning = _meaning_problems(data, e.errors(), path)
        raise InstanceError(where, schema_problems(e) + (meaning or []), "" if meaning is not None else _UNCHECKED) from None
    return resolve(spec, path)


_UNCHECKED = ("the checks of meaning (device types, sources, CNNs, privacy tables, defences) run once these are "
              "fixed: validate again then")
_UNSET = " (not parsed)"  # an id, type, CNN or file name that stands for a value of the wrong kind

#: a value of the wrong kind at a place (as in :func:`_expected`) -> what stands for it in the
#: checks of meaning (:func:`_meaning_problems`), found nowhere (a node of no type, a request of
#: no CNN) or changing nothing (no privacy limit, tau 1); places not here are left out (their default)
_STAND_INS = {
    "name": "instance", "tau": 1.0, "devices": [{"id": _UNSET, "type": _UNSET}], "privacy": {}, "privacy.*": None,
    "networks.*": _UNSET, "requests": [{"id": _UNSET, "source": _UNSET, "cnn": _UNSET}],
    "devices[]": {"id": _UNSET, "type": _UNSET}, "devices[].id": _UNSET, "devices[].type": _UNSET, "sources[].type": _UNSET,
    "requests[]": {"id": _UNSET, "source": _UNSET, "cnn": _UNSET},
    **{f"requests[].{f}": _UNSET for f in ("id", "source", "cnn")},
}
#: places whose wrong value leaves the checks of meaning nothing to stand on (the requests' sources, CNNs, types)
_NO_STAND_IN = ("sources", "sources[]", "sources[].id", "networks", "devices_catalog")


def _meaning_problems(data: dict, errors: list[dict], path: Path | None) -> list[Problem] | None:
    """The problems of meaning (:func:`resolve`) of a document with schema ``errors``: each value
    of the wrong kind is replaced by a stand-in (:data:`_STAND_INS`) or left out, and a problem
    at or under a place already reported is not reported again. None when they cannot be checked
    (a wrong ``sources``, source id, ``networks`` or ``devices_catalog``, or a document that still fails)."""
    doc = copy.deepcopy(data)
    places: list[str] = []
    for e in errors:
        loc = tuple(e["loc"])
        place = place_of(loc, _MAPS)
        if not loc or place in _NO_STAND_IN:
            return None
        places.append(json_path(loc))
        if loc[0] == "defence":  # an entry with a wrong option is left out whole
            loc = loc[:2]
        *parents, leaf = loc
        try:
            parent = doc
            for part in parents:
                parent = parent[part]
            if place in _STAND_INS:
                parent[leaf] = copy.deepcopy(_STAND_INS[place])
            elif isinstance(parent, dict):
                parent.pop(leaf, None)
        except (KeyError, IndexError, TypeError):
            return None
    try:
        resolve(InstanceSpec.model_validate(doc), path)
    except ValidationError:
        return None
    except InstanceError as e:
        return [p for p in e.problems if not any(p.path == q or p.path.startswith((f"{q}.", f"{q}[", f"{q} ("))
                                                 for q in places)]
    return []


def load_instance(path: str | Path) -> Instance:
    """Load and validate an instance file; raises :class:`InstanceError` listing every problem.

    Files over :data:`MAX_BYTES`, unreadable or not JSON are an :class:`InstanceError` too
    (:func:`optdist.jsonfile.read_json`); a missing file is a :class:`FileNotFoundError` (naming
    the bundled instance a relative path means, :func:`bundled_instance`). A
    ``path`` of another type (42, an instance document) is a TypeError naming what is taken (it
    was pathlib's "expected str, bytes or os.PathLike object").
    """
    if not isinstance(path, (str, os.PathLike)):
        doc = ("; an instance document (a dict) is read by optdist.instance.parse(doc), and optdist.solve and "
               "optdist.evaluate take one as it is" if isinstance(path, dict) else "")
        raise TypeError(f"optdist.load_instance: path is {type(path).__name__} {json_text(path, 60)}; it takes the path of an "
                        f"instance file (str or pathlib.Path) (fix: e.g. optdist.load_instance(\"instances/tiny/"
                        f"lenet-1x4-tau0.8.json\"){doc})")
    path = Path(path)
    try:
        data = read_json(path, MAX_BYTES, InstanceError, "instance")
    except FileNotFoundError as e:
        if (bundled := bundled_instance(path)) is None:
            raise
        raise FileNotFoundError(f"{e} (fix: a relative path is read from the working folder, {Path.cwd()}; the "
                                f"bundled instance of that name is {bundled}: give that path)") from None
    return parse(data, str(path), path)


def bundled_instance(path: Path) -> Path | None:
    """The bundled instance (under :data:`optdist.paths.INSTANCES_DIR`) that a relative ``path``,
    not found from the working folder, names (``instances/tiny/x.json`` as the README writes it,
    or ``tiny/x.json``), else None. Run outside the repository, the README's
    ``optdist.load_instance("instances/paper/...")`` said only "instance file not found"."""
    from optdist.paths import INSTANCES_DIR

    if path.is_absolute() or path.exists():
        return None
    parts = path.parts[1:] if path.parts[:1] == ("instances",) else path.parts
    found = INSTANCES_DIR.joinpath(*parts) if parts else None
    return found if found is not None and found.is_file() else None


def validate_file(path: str | Path) -> list[Problem]:
    """Every problem of an instance file (empty list: valid)."""
    try:
        load_instance(path)
    except InstanceError as e:
        return e.problems
    return []


SCHEMA_FILES = {"instance": "schema.json", "profile": "profile.schema.json", "device-catalog": "device-catalog.schema.json",
                "privacy-table": "privacy-table.schema.json"}


def json_schema(kind: str = "instance") -> dict:
    """The published JSON Schema of the instance, profile, device-catalog or privacy-table format
    (``instances/<file>``). Assignments and results have no schema: no pydantic model reads them."""
    from optdist.devices import DeviceCatalog
    from optdist.privacy import FORMAT as TABLE_FORMAT, PrivacyTable
    from optdist.profiles import profile_json_schema

    def table_schema() -> dict:
        schema = PrivacyTable.model_json_schema()
        schema["properties"]["format"] = {"const": TABLE_FORMAT, "default": TABLE_FORMAT, "title": "Format"}
        return schema

    models = {"instance": ("optdist-instance/1", InstanceSpec.model_json_schema),
              "profile": ("optdist-profile/2", profile_json_schema),
              "device-catalog": ("optdist-device-catalog/1", DeviceCatalog.model_json_schema),
              "privacy-table": (TABLE_FORMAT, table_schema)}
    fmt, make = models[kind]
    schema = make()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://optdist.example/instances/{SCHEMA_FILES[kind]}"
    schema["title"] = f"optdist {kind} ({fmt})"
    return schema


def resolved_content(inst: Instance) -> dict:
    """What ``inst`` resolves its nodes, requests, networks and privacy tables to, all the
    model's coefficients depend on (floats as numbers: :func:`exact_floats` writes them exactly):
    ``nodes`` and ``node_types``, each node's ``memory``, ``compute_capacity``,
    ``bandwidth_capacity``, ``mults_per_s`` and ``rate``, ``requests`` with ``request_source`` and
    ``request_cnn``, each CNN's profile (``networks``: :func:`_network_content`) and its privacy
    limits at tau (``privacy``: Nf, device caps, layers on the source, split point)."""
    return {
        "nodes": list(inst.node_ids), "node_types": list(inst.node_types),
        **{k: getattr(inst, k).tolist() for k in ("memory", "compute_capacity", "bandwidth_capacity",
                                                  "mults_per_s", "rate", "request_source")},
        "requests": list(inst.request_ids), "request_cnn": list(inst.request_cnn),
        "networks": {cnn: _network_content(prof) for cnn, prof in inst.profiles.items()},
        "privacy": {cnn: {"split_point": lim.split_point, "nf": list(lim.nf), "device_cap": list(lim.device_cap),
                          "on_source": list(lim.on_source)} for cnn, lim in inst.limits.items()},
    }


def _network_content(prof: Profile) -> dict:
    """What the models read of a CNN profile: its name, input shape, each layer's fields (kind,
    segments, multiplications and weight bytes per segment, maps, output shape, beta, groups,
    kernel, op), the graph (each layer's input layers) and the measured seconds per segment by
    device type; not the provenance of a measurement (machine, date, torch version, repeats) nor
    the torch module names, which change no coefficient."""
    layers = []
    for k, la in enumerate(prof.layers):
        d = asdict(la)
        d.pop("torch_modules", None)
        d.update(out_shape=list(la.out_shape), kernel=list(la.kernel), inputs=list(prof.inputs(k)))
        layers.append(d)
    return {"cnn": prof.cnn, "input_shape": list(prof.input_shape), "layers": layers,
            "measured_seconds": {t: list(m.seconds_per_segment) for t, m in prof.measured}}


def exact_floats(value: Any) -> Any:
    """``value`` with every float written as its exact :meth:`float.hex` (``-0.0`` as ``0.0``'s) and
    numpy scalars as Python numbers, for a text that is the same in every process and platform."""
    if isinstance(value, dict):
        return {str(k): exact_floats(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [exact_floats(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        v = float(value)
        return "f:" + (v + 0.0).hex() if v == v else "f:nan"
    return value


def _file_bytes_digest(path: Path) -> str:
    """``"sha256:<hex>"`` of the file at ``path``'s bytes; its path, as given, where it cannot be read."""
    try:
        return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return str(path)
