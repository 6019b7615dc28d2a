"""The close match of a name the user mistyped, for the "did you mean X?" of an error message.

No imports beyond the standard library: the CLI's parser, :mod:`optdist.options` and the document
readers all use it, and none of them may load Pyomo or pydantic for it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

#: how alike (:class:`difflib.SequenceMatcher` ratio) a name must be to the word to be offered;
#: 0.6 is difflib's own default: ``hihgs`` -> ``highs``, ``greedyy`` -> ``greedy``
CUTOFF = 0.6


def closest(word: object, names: Iterable[object], *, ignore_case: bool = False, cutoff: float = CUTOFF) -> str | None:
    """The name among ``names`` closest to the unknown ``word`` (:func:`difflib.get_close_matches`,
    ratio at least ``cutoff``), as ``names`` spells it; None where none is that close.

    ``ignore_case``: compare without case (``HiGHS`` -> ``highs``, ``Greedyy`` -> ``greedy``), the
    name returned as ``names`` spells it. ``word`` and the names are compared as text (``str``), so
    a number or None the user wrote where a name goes finds no match rather than a TypeError; on a
    tie the name listed first wins (pass them sorted for a stable answer)."""
    spelled = {}
    for name in map(str, names):
        spelled.setdefault(name.lower() if ignore_case else name, name)
    key = str(word).lower() if ignore_case else str(word)
    close = difflib.get_close_matches(key, list(spelled), n=1, cutoff=cutoff)
    return spelled[close[0]] if close else None
