"""Reading torch checkpoints safely: weights only, never a pickled object.

Every ``state_dict`` optdist reads (trained attack targets, ``--weights``, the DefQ cache, RL
policies) goes through :func:`load_state_dict`: ``torch.load(weights_only=True)`` on a file that
starts as ``torch.save`` writes it. Pickled objects are never loaded, as they can run code, so
torch's advice to retry with ``weights_only=False`` is never passed on to the user.
"""

from __future__ import annotations

import pickle
import re
import warnings
from pathlib import Path

import torch

_TORCH_BOILERPLATE = ("Weights only load failed", "Please file an issue", "Check the documentation")


class CheckpointError(ValueError):
    """A file that is not a plain ``state_dict`` of tensors; ``reason`` says why, without the
    file's name or a fix (the caller adds both). ``empty``: the file has 0 bytes (a save that never
    wrote): the fix is to write it again, not to save less."""

    def __init__(self, reason: str, empty: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.empty = empty


def one_line(e: Exception) -> str:
    """An exception's message on one line (``load_state_dict`` lists its mismatches line by line)."""
    return " ".join(str(e).split())[:400]


def _refusal(e: Exception) -> str:
    """torch's reason for a weights-only refusal (e.g. 'Trying to load unsupported GLOBAL posix.system ...',
    'Unsupported global: GLOBAL torch.nn.modules.linear.Linear was not an allowed global by default.'),
    without its boilerplate: the lines that mention ``weights_only`` (torch 2.6+ advises re-running
    with it "set to `False`") and the advice to allowlist the global ("Please use
    `torch.serialization.add_safe_globals(...)`"), both of which would load code."""
    for line in str(e).splitlines():
        line = line.strip().removeprefix("WeightsUnpickler error:").strip()
        if line and not line.startswith(_TORCH_BOILERPLATE) and "weights_only" not in line:
            return line.split(" Please use ", 1)[0]  # whole: a long global's name is the reason
    return type(e).__name__


def _first_sentence(e: Exception) -> str:
    """The first sentence of an exception's message, whole and on one line: what torch found
    (e.g. 'PytorchStreamReader failed reading zip archive: failed finding central directory.'),
    without its tail of advice ('This is an internal miniz error. If you are seeing ...'); a
    fixed cut (160 characters, before) stopped mid-sentence and dropped what the reader needs."""
    return re.split(r"(?<=[.!?]) ", " ".join(str(e).split()), maxsplit=1)[0]


def load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The ``state_dict`` (name -> tensor, on the CPU) saved in ``path`` by ``torch.save``.

    Raises :class:`CheckpointError` for anything else: not a file, an empty file (0 bytes: a save
    that never wrote, e.g. killed or on a full disk), not a torch file, pickled objects (refused by
    ``weights_only=True``, never loaded), a damaged or cut-short file, or not a mapping of names to
    tensors."""
    state = load_weights_only(path)
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError("not a state_dict (a mapping of names to tensors)")
    return state


def load_weights_only(path: Path) -> object:
    """What ``torch.save`` wrote in ``path``, read by ``torch.load(weights_only=True)`` (tensors
    and plain containers of them, numbers and strings: e.g. a training checkpoint's state dicts,
    an optimiser's included); :class:`CheckpointError` as for :func:`load_state_dict`, without its
    check that the value is a mapping of names to tensors."""
    if not path.is_file():
        raise CheckpointError("not a file")
    with path.open("rb") as f:
        head = f.read(4)
    if not head:  # said as such: "this starts with b''" left the reader to work out that nothing is there
        raise CheckpointError("empty (0 bytes), not a PyTorch file: nothing was saved in it", empty=True)
    if head[:2] != b"PK" and head[:1] != b"\x80":  # torch.save writes a zip archive (legacy: a pickle)
        raise CheckpointError(f"not a PyTorch file (torch.save writes a zip archive; this starts with {head!r})")
    try:
        with warnings.catch_warnings():  # torch warns about the pickle protocol before refusing
            warnings.simplefilter("ignore", UserWarning)
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise CheckpointError(f"refused by torch.load(weights_only=True), it holds more than tensors ({_refusal(e)}); "
                              "pickled objects are never loaded, as they can run code") from None
    except Exception as e:  # RuntimeError, EOFError, ... for a damaged or cut-short file
        why = f"{type(e).__name__}: {_first_sentence(e)}" if str(e).strip() else type(e).__name__
        raise CheckpointError(f"not a readable PyTorch file, damaged or cut short ({why})") from None
    return state


def read_state_dict(path: Path, what: str, fix: str | None = None) -> dict[str, torch.Tensor]:
    """:func:`load_state_dict`, its error a ValueError ``"{what}: {reason}; {fix}"``; ``fix``
    (default: save the state_dict only, or, for an empty file, save it again) is the caller's."""
    try:
        return load_state_dict(path)
    except CheckpointError as e:
        if fix is None:
            fix = ("save it again: torch.save(net.state_dict(), PATH) (the save that made it never wrote: killed, "
                   "or a full disk)" if e.empty else "save the state_dict only: torch.save(net.state_dict(), PATH)")
        raise ValueError(f"{what}: {e.reason}; {fix}") from None
