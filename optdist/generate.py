"""Build instance documents from a seed: requests per CNN, devices by type mix, tau."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from optdist.devices import device_catalog
from optdist.instance import FORMAT, _did_you_mean, parse
from optdist.io import atomic_write_json
from optdist.jsonfile import quoted, text_of, value_text
from optdist.names import closest
from optdist.privacy import bundled_tables
from optdist.profiles import available_cnns, zoo_choices

MAX_REQUESTS = 1_000_000  # per CNN
MAX_NODES = 100_000  # devices per type, and sources


def _check_privacy_keys(privacy: Mapping, named: list[str], cnns: list[str], networks: Mapping[str, str]) -> None:
    """ValueError where ``privacy`` (CNN -> table) has a key that is no CNN ``requests`` names (``named``,
    a count of 0 too), or lacks one with requests (``cnns``), naming the key, the CNNs and the fix. The
    instance took a missing CNN's table as None, no privacy limit: a misspelt key (``LeNet``) left the
    network it meant unprotected without a word (MODEL.md section 6: every request's CNN is read through
    its own table)."""
    def table(c: str) -> str:  # a table of c for the example: a bundled one, else a file
        known = [] if c in networks else bundled_tables(c)
        return "paper" if "paper" in known else known[0] if known else f"{c}-privacy.json"

    example = "{" + ", ".join(f"{text_of(c)}: {text_of(table(c))}" for c in cnns) + "}"
    # one bundled table for every CNN: only where each has it (a network of one's own has none)
    one = ", or give one table for every CNN, e.g. privacy=\"paper\"" if all(table(c) == "paper" for c in cnns) else ""
    for key in privacy:
        if key not in named:
            hint = f"did you mean {text_of(close)}? " if (close := closest(key, named, ignore_case=True)) else ""
            raise ValueError(f"generate: privacy has a table for {text_of(key)}, which is no CNN of requests (those are "
                             f"{quoted(named)}) (fix: {hint}key each table by a CNN of requests, e.g. privacy={example}{one})")
    for c in cnns:
        if c not in privacy:
            raise ValueError(f"generate: privacy has no table for {text_of(c)}, a CNN of requests (its requests would "
                             f"run with no privacy limit) (fix: add it, e.g. privacy={example}; None for no privacy "
                             "limit)")


def _check_count(what: str, key: str, n: object, top: int, low: int = 0) -> None:
    if not isinstance(n, int | np.integer) or isinstance(n, bool) or not low <= n <= top:
        raise ValueError(f"{what} {key}={value_text(n)}: give a whole number in [{low}, {top:,}]")


def generate(
    name: str,
    requests: dict[str, int],
    devices: dict[str, int],
    tau: float,
    *,
    sources: int = 10,
    source_type: str = "rpi3",
    period_s: float = 1.0,
    privacy: str | dict[str, str | None] | None = "paper",
    seed: int = 0,
    description: str = "",
    objective: dict | None = None,
    networks: dict[str, str] | None = None,
    devices_catalog: str | None = None,
    base: str | Path | None = None,
) -> dict:
    """An instance document (validated later by :func:`optdist.instance.parse`).

    ``requests``: CNN -> number of requests; ``devices``: catalog type -> count. Each source
    camera serves one CNN (paper sec. 3.2): sources are split over the CNNs in proportion to
    their requests (at least one each), and each CNN's requests are dealt round-robin to its
    sources. The request order is shuffled with ``seed`` (the online arrival order).
    Counts are whole numbers up to :data:`MAX_REQUESTS` / :data:`MAX_NODES`, at least one request
    (``ValueError`` else, as for a ``seed`` that is no whole number >= 0); ``requests`` or
    ``devices`` that is no mapping is a ``TypeError``.
    ``privacy`` is one table for every CNN (``None``: no privacy limit) or CNN -> table, one for each
    CNN of ``requests`` (a ``ValueError`` names a key that is none of them, or a CNN without one: before,
    ``{"LeNet": "paper"}`` for lenet's requests made an instance with no privacy limit for lenet).
    ``networks`` (name -> profile file) and ``devices_catalog`` (a catalog file adding device
    types) are written into the instance as given: paths relative to ``base``, the folder the
    instance will be written to (default: the current folder).
    """
    for what, counts, eg in (("requests", requests, '{"lenet": 10}'), ("devices", devices, '{"rpi3": 10}')):
        if not isinstance(counts, Mapping):
            raise TypeError(f"generate: {what} is {value_text(counts)}, not a mapping of names to counts (fix: e.g. "
                            f"{what}={eg})")
    for c, n in requests.items():
        _check_count("requests", c, n, MAX_REQUESTS)
    if not any(requests.values()):  # was numpy's "attempt to get argmin of an empty sequence"
        raise ValueError(f"generate: requests {value_text(dict(requests))} has no positive count (fix: give at least "
                         "one request, e.g. requests={\"lenet\": 10})")
    for t, n in devices.items():
        _check_count("devices", t, n, MAX_NODES)
    _check_count("sources", "count", sources, MAX_NODES, low=1)
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool) or seed < 0:  # was numpy's SeedSequence error
        raise ValueError(f"generate: seed {value_text(seed)} is not a whole number >= 0 (fix: e.g. seed=0)")
    networks = dict(networks or {})
    folder = Path(base) if base is not None else Path(".")
    catalog = device_catalog(None if devices_catalog is None else folder / devices_catalog)
    for flag, t in [*(("--devices", t) for t in devices), ("--source-type", source_type)]:
        if t not in catalog:
            raise ValueError(f"{flag}: unknown device type {text_of(t)} (fix: {_did_you_mean(t, catalog)}use one of "
                             f"{quoted(sorted(catalog))}, or add it in a catalog file given with --devices-catalog FILE)")
    for c in requests:
        if c not in available_cnns() and c not in networks:
            own = f", or your networks {quoted(sorted(networks))}" if networks else ""
            raise ValueError(f"--requests: unknown CNN {text_of(c)} (fix: {_did_you_mean(c, [*available_cnns(), *networks])}"
                             f"use one of the zoo's CNNs: {zoo_choices()}{own}, or name your network's profile "
                             f"file with --networks {c}=FILE.json)")
    cnns = [c for c, n in requests.items() if n > 0]
    if isinstance(privacy, Mapping):
        _check_privacy_keys(privacy, list(requests), cnns, networks)
    rng = np.random.default_rng(seed)
    total = sum(requests[c] for c in cnns)
    n_src = max(sources, len(cnns)) if total >= len(cnns) else len(cnns)
    n_src = min(n_src, total) if total else n_src
    share = [max(1, round(n_src * requests[c] / total)) for c in cnns]
    while sum(share) > n_src:
        share[int(np.argmax(share))] -= 1
    while sum(share) < n_src:
        share[int(np.argmin([s / requests[c] for s, c in zip(share, cnns)]))] += 1
    src_docs, reqs = [], []
    s_id = 0
    for c, ns in zip(cnns, share):
        ids = [f"cam{s_id + q + 1}" for q in range(ns)]
        s_id += ns
        src_docs += [{"id": i, "type": source_type} for i in ids]
        reqs += [{"source": ids[q % ns], "cnn": c} for q in range(requests[c])]
    order = rng.permutation(len(reqs))
    reqs = [{"id": f"r{n + 1}", **reqs[q]} for n, q in enumerate(order)]
    devs = [{"id": f"{t}-{q + 1}", "type": t} for t, n in devices.items() for q in range(n)]
    priv = {c: privacy.get(c) for c in cnns} if isinstance(privacy, dict) else {c: privacy for c in cnns}
    doc = {
        "format": FORMAT,
        "name": name,
        "description": description,
        "tau": tau,
        "period_s": period_s,
        **({"networks": used} if (used := {c: networks[c] for c in cnns if c in networks}) else {}),
        **({"devices_catalog": devices_catalog} if devices_catalog is not None else {}),
        "privacy": priv,
        "devices": devs,
        "sources": src_docs,
        "requests": reqs,
    }
    if objective:
        doc["objective"] = objective
    return doc


def write_instances(docs: dict[str, dict], folder: str | Path) -> list[Path]:
    """Validate each instance document (:func:`optdist.instance.parse`) and write it atomically as
    ``folder/<name>.json``; nothing is written unless every document is valid.

    The files a document names (privacy tables, profiles, a device catalog) are checked where
    loading the written file looks for them: relative to ``folder``, not to the working
    directory. Raises :class:`optdist.instance.InstanceError` naming ``folder/<name>.json``.
    """
    folder = Path(folder)
    for name, doc in docs.items():
        target = folder / f"{name}.json"
        parse(doc, str(target), target)
    folder.mkdir(parents=True, exist_ok=True)
    return [atomic_write_json(folder / f"{name}.json", doc) for name, doc in docs.items()]
