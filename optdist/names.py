"""The close match of a name the user mistyped, for the "did you mean X?" of an error message, and
the characters a network name may hold (:func:`unsafe_network_name`).

No imports beyond the standard library: the CLI's parser, :mod:`optdist.options` and the document
readers all use it, and none of them may load Pyomo or pydantic for it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

#: how alike (:class:`difflib.SequenceMatcher` ratio) a name must be to the word to be offered;
#: 0.6 is difflib's own default: ``hihgs`` -> ``highs``, ``greedyy`` -> ``greedy``
CUTOFF = 0.6
#: the cutoff among many names alike in parts (a command's flags, a solver's ~90 option names, an
#: instance's ids and the catalogs' names), where 0.6 offered wrong ones: ``--cut`` -> ``--out``,
#: ``--nodes`` -> ``--episodes``, HiGHS's ``node_limit`` -> ``time_limit``, the CNN ``resnet`` -> ``lenet``
MANY_NAMES_CUTOFF = 0.75
#: the cutoff among a few fixed words (a JSON field's literal values), where a longer spelling of
#: one is still offered: ``"convolution"`` -> ``"conv"`` (ratio 0.53)
FEW_WORDS_CUTOFF = 0.5


def closest(word: object, names: Iterable[object], *, ignore_case: bool = False, cutoff: float = CUTOFF) -> str | None:
    """The name among ``names`` closest to the unknown ``word`` (:func:`difflib.get_close_matches`,
    ratio at least ``cutoff``), as ``names`` spells it; None where none is that close.

    ``ignore_case``: compare without case (``HiGHS`` -> ``highs``, ``Greedyy`` -> ``greedy``), the
    name returned as ``names`` spells it. ``word`` and the names are compared as text (``str``), so
    a number or None the user wrote where a name goes finds no match rather than a TypeError; on a
    tie a name that starts with ``word`` wins (``ReLU2`` -> ``ReLU21``; difflib's
    :func:`~difflib.get_close_matches` alone gave ``ReLU52``), else the larger string, as
    get_close_matches orders them (``rpi5`` -> ``rpi4``)."""
    spelled = {}
    for name in map(str, names):
        spelled.setdefault(name.lower() if ignore_case else name, name)
    key = str(word).lower() if ignore_case else str(word)
    ranked = []
    for name in spelled:
        m = difflib.SequenceMatcher(None, name, key)  # as get_close_matches scores them
        if m.real_quick_ratio() >= cutoff and m.quick_ratio() >= cutoff and (ratio := m.ratio()) >= cutoff:
            ranked.append((ratio, name.startswith(key), name))
    return spelled[max(ranked)[2]] if ranked else None


#: the most bytes (UTF-8) a network name may have: ``<name>-<table>.json`` within a file name's 255
MAX_NETWORK_NAME_BYTES = 200
#: the characters a network name may hold (:func:`unsafe_network_name`), as an error says them
NETWORK_NAME_CHARS = f"letters, digits, _, - and . (a letter, digit or _ first; at most {MAX_NETWORK_NAME_BYTES} bytes)"
_NETWORK_NAME = re.compile(r"[^\W][\w.-]*")  # \w: Unicode letters and digits, and _


def unsafe_network_name(name: str) -> str | None:
    """None where ``name`` is a safe network name, else a safe example made from it for the fix
    (``my/net`` -> ``my-net``; ``mynet`` where nothing is left). A network's name becomes file names
    (``runs/attacks/<name>``, ``<name>-<table>.json``) and a key of the CLI's ``NAME=VALUE,...`` pairs
    (``--requests``, ``--privacy``, ``--networks``), so it holds :data:`NETWORK_NAME_CHARS` only:
    what an instance's name may not hold (``/``, ``\\``, ``.`` or ``..``: ``optdist.instance._file_name``;
    control or invisible characters: ``optdist.instance._visible``), the ``,`` and ``=`` that split
    those pairs and white space are all outside it; and it has at most :data:`MAX_NETWORK_NAME_BYTES`
    bytes (before, a 300-letter name was profiled, then ``optdist generate --privacy NAME=paper`` said
    "[Errno 36] File name too long")."""
    if _NETWORK_NAME.fullmatch(name) and len(name.encode()) <= MAX_NETWORK_NAME_BYTES:
        return None
    example = "-".join(re.findall(r"[\w.]+", name)).strip(".-")
    example = example.encode()[:MAX_NETWORK_NAME_BYTES].decode(errors="ignore").rstrip(".-")
    return example if _NETWORK_NAME.fullmatch(example) else "mynet"
