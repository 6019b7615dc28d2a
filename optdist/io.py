"""Atomic file writes (a crash never leaves a half-written result behind) and native stdout control."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import math
import os
import re
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class OutputPathError(ValueError):
    """An output path optdist refuses to write; the message names the path and the fix."""


class OutputSpaceError(OutputPathError):
    """No output file can be written where the path would be (a full disk, ``ulimit -f 0``:
    :func:`_check_space`): ``remedy`` is the fix in place; ``elsewhere`` whether another folder
    (on another disk) would do instead (False for the file-size limit, which holds everywhere)."""

    def __init__(self, message: str, remedy: str = "", elsewhere: bool = True):
        super().__init__(message)
        self.remedy, self.elsewhere = remedy, elsewhere


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"))


def check_replaceable(path: str | Path, flag: str = "", example: str = "result.json") -> None:
    """Refuse to replace anything at ``path`` but a regular file (``flag``, e.g. ``"--out"``, prefixes the message).

    Output files are replaced by a rename, which would put a regular file in place of a device
    (``/dev/null``), a pipe, a socket or a symbolic link: each is an :class:`OutputPathError`.
    A symbolic link is refused rather than written through (the rename would replace the link
    itself); give its target instead (for a link to a folder, a file in it). A missing ``path``
    is fine. ``example``: a file name of what the caller writes, the fix of a directory (or a
    link to one) at ``path`` (``DIR/model.lp`` for ``optdist export --out DIR``, which suggested
    ``DIR/result.json``).
    """
    path = Path(path)
    who = f"{flag} {path}" if flag else str(path)
    if str(path) == "-":
        raise OutputPathError(f"{who}: '-' is not standard output here; optdist would write a file named '-' "
                              f"(fix: optdist prints its result on stdout itself; to keep the file, give {flag or 'a path'} FILE "
                              "and then `cat FILE`)")
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):  # nothing there (a folder on the way may be missing or a file)
        return
    except OSError as e:
        raise OutputPathError(f"{who}: cannot be inspected ({e.strerror}) (fix: check the path and its permissions)") from None
    if stat.S_ISLNK(st.st_mode):
        if _links_to_special(path):
            raise OutputPathError(f"{who} is a symbolic link (to {os.readlink(path)}) to a terminal, pipe or device, "
                                  "not a regular file; optdist writes a new file and renames it into place (fix: the path "
                                  "must be a regular file, not a terminal, pipe or device: give FILE and then `cat FILE`; "
                                  "optdist prints its result on stdout itself)")
        if path.is_dir():  # its target is no file either: a file in the folder is what the fix names
            raise OutputPathError(f"{who} is a symbolic link to the folder {os.readlink(path)} (fix: give a file name "
                                  f"in it, e.g. {path / example})")
        raise OutputPathError(f"{who} is a symbolic link (to {os.readlink(path)}); optdist replaces output files and "
                              f"would replace the link, not write through it (fix: give the target path {path.resolve()}, "
                              "or remove the link)")
    kind = next((name for test, name in _KINDS if test(st.st_mode)), None if stat.S_ISREG(st.st_mode) else "not a regular file")
    if kind == "a directory":
        raise OutputPathError(f"{who} is a directory (fix: give a file name in it, e.g. {path / example})")
    if kind is not None:
        raise OutputPathError(f"{who} is {kind}; optdist writes a new file and renames it into place, which would "
                              f"replace it (fix: give the path of a regular file, e.g. {example})")


def _links_to_special(path: Path) -> bool:
    """Whether the symbolic link ``path`` leads under /proc or /dev (``/dev/stdout``, a process's
    file descriptor) or to anything but a regular file or folder (a terminal, a pipe, a device)."""
    with contextlib.suppress(OSError, RuntimeError):
        first = Path(os.path.normpath(path.absolute().parent / os.readlink(path)))  # /dev/stdout -> /proc/self/fd/1
        for target in (first, Path(os.path.realpath(path))):  # -> /proc/PID/fd/pipe:[N], /dev/pts/0, a deleted file
            if target.parts[:2] in (("/", "proc"), ("/", "dev")):
                return True
        st = os.stat(path)
        return not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode))
    return False


def check_not_an_input(out: str | Path, inputs: list[Path], flag: str = "--out") -> None:
    """:class:`OutputPathError` if ``out`` is one of ``inputs`` (the same file by path or inode)."""
    out = Path(out)
    for f in inputs:
        same = out.resolve() == Path(f).resolve()
        with contextlib.suppress(OSError):
            same = same or os.path.samefile(out, f)
        if same:
            raise OutputPathError(f"{flag} {out} is the input file {f}; it would be overwritten "
                                  "(fix: write the result elsewhere)")


def make_output_folder(path: str | Path, flag: str = "--out") -> Path:
    """Create the output folder ``path`` (and its parents) a command owns, before its work starts;
    ValueError naming ``flag``, the path and the fix when it, or a folder above it, is a file, and
    :class:`OutputPathError` (a ValueError) when it cannot be created or no file can be created in
    it (permissions, a read-only or special file system, a full disk or ``ulimit -f 0``, checked
    before any folder is made): found before minutes of work, not when
    the first result is written. :func:`check_output_folder` finds the same without creating it."""
    path = Path(path)
    above = next((p for p in (path, *path.absolute().parents) if p.is_dir()), None)
    if above is not None:  # a full disk or `ulimit -f 0`: refused before the folder is made
        _check_space(above, f"{flag} {path}", flag)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise _not_a_folder(path, flag) from None
    except OSError as e:  # permissions, a read-only or special file system (/proc, /sys)
        raise _cannot_create_folder(path, flag, e) from None
    _probe_writable(path, f"{flag} {path}: cannot create a file in it")
    return path


def check_output_folder(path: str | Path, flag: str = "--out") -> Path:
    """What :func:`make_output_folder` would refuse, in its words, found without creating any
    folder: ``path`` or a folder above it is a file (ValueError), no file can be created in
    ``path`` where it exists, or, where it does not, in the nearest folder above it, where it
    would be created, or that disk is full or the file-size limit is 0 (:class:`OutputPathError`,
    as :func:`check_output_file`). Returns ``path``. A command that checks several folders before
    its work so leaves none behind when one of them is refused."""
    path = Path(path)
    if path.is_dir():
        _probe_writable(path, f"{flag} {path}: cannot create a file in it")
        _check_space(path, f"{flag} {path}", flag)
        return path
    if os.path.lexists(path):  # a file, a link to none
        raise _not_a_folder(path, flag)
    above = next(p for p in path.absolute().parents if os.path.lexists(p))  # the root is there
    if not above.is_dir():
        raise _not_a_folder(path, flag)
    try:
        _probe(above)  # creating a file there takes what creating a folder there takes
    except OSError as e:
        raise _cannot_create_folder(path, flag, e) from None
    _check_space(above, f"{flag} {path}", flag)
    return path


def _not_a_folder(path: Path, flag: str) -> ValueError:
    """The error of a folder ``path`` that is a file, a link to nothing or under a file."""
    if path.is_symlink() and not path.exists():  # a dangling link: "exists and is not a folder" did not say so
        return ValueError(f"{flag} {path}: is a symbolic link to {os.readlink(path)}, which does not exist (fix: create "
                          f"that folder, remove the link, or give another {flag})")
    return ValueError(f"{flag} {path}: exists and is not a folder, or a folder above it is a file (fix: move that "
                      f"file away, or give another {flag})")


def _cannot_create_folder(path: Path, flag: str, e: OSError) -> OutputPathError:
    return OutputPathError(f"{flag} {path}: cannot create the folder ({_why_not_writable(e)}) (fix: choose a "
                           f"writable folder on an ordinary file system)")


def refuse_overwrite(paths: list[Path], force: bool, where: str) -> None:
    """Before any work: :class:`OutputPathError` naming the existing ones of ``paths`` (the files a
    command would replace, e.g. committed weights) and ``--force``, unless ``force``. ``where``
    says which option chose the paths and how else to avoid them, e.g. ``"--out DIR"``."""
    taken = [str(p) for p in paths if os.path.lexists(p)]
    if taken and not force:
        raise OutputPathError(f"{', '.join(taken)} already exist{'s' if len(taken) == 1 else ''}; not overwritten "
                              f"(fix: give --force to replace {'it' if len(taken) == 1 else 'them'}, or another {where})")


def check_output_file(path: str | Path, flag: str = "--out", example: str = "result.json") -> Path:
    """Check, before any work, that an output file can be written at ``path``; return ``path``.

    Raises :class:`OutputPathError` naming ``flag``, the path and the fix for: anything but a
    regular file there (:func:`check_replaceable`), a missing parent folder (optdist does not
    create folders for a file the user names), a parent that is not a folder, or a folder in
    which no file can be created (permissions, a read-only or special file system such as /proc).
    ``example``: a file name of what the caller writes, in the fix of a directory at ``path``.
    """
    path = Path(path)
    check_replaceable(path, flag, example)
    folder = path.parent
    if not folder.exists():
        above = next((p for p in folder.parents if p.exists()), None)
        if above is not None and not above.is_dir():
            raise OutputPathError(f"{flag} {path}: {above} is a file, not a folder (fix: give a path in a folder)")
        raise OutputPathError(f"{flag} {path}: the folder {folder} does not exist (fix: create it first, "
                              f"mkdir -p {folder}, or give a path in an existing folder)")
    if not folder.is_dir():
        raise OutputPathError(f"{flag} {path}: {folder} is a file, not a folder (fix: give a path in a folder)")
    _probe_writable(folder, f"{flag} {path}: cannot create a file in {folder.resolve()}")
    _check_space(folder, f"{flag} {path}", flag)
    return path


#: an output folder with less free space than this (one block: the disk is full) is refused before the
#: work; a write that fails on a nearly full disk later is the write path's to report (the result kept)
MIN_FREE_BYTES = 4096


def _check_space(folder: Path, who: str, flag: str) -> None:
    """:class:`OutputSpaceError` where the file system of ``folder`` has less than
    :data:`MIN_FREE_BYTES` free, or the file-size limit (``ulimit -f``) is 0: the write would fail
    after the work (creating an empty file, :func:`_probe_writable`, still succeeds on a full disk)."""
    try:
        st = os.statvfs(folder)
    except (OSError, AttributeError):  # no statvfs (Windows) or a file system that does not say
        return
    free = (st.f_bfree if hasattr(os, "geteuid") and os.geteuid() == 0 else st.f_bavail) * st.f_frsize
    other = f"another {flag}" if flag else "another path"
    if st.f_blocks and free < MIN_FREE_BYTES:
        raise OutputSpaceError(f"{who}: the disk of {folder.resolve()} is full (only {free:,} bytes free); writing "
                               f"would fail after the work (fix: free space on that disk, or give {other} on a "
                               "disk with space)", "free space on that disk", True)
    limit = None
    with contextlib.suppress(ImportError, OSError, ValueError):
        import resource

        limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    if limit == 0:
        raise OutputSpaceError(f"{who}: the file-size limit is 0 (`ulimit -f 0`): no file can be written "
                               "(fix: raise it, `ulimit -f unlimited`)", "raise it, `ulimit -f unlimited`", False)


#: the documents a placement's writer (:meth:`SolveResult.save <optdist.result.SolveResult.save>`,
#: :meth:`Assignment.save <optdist.assignment.Assignment.save>`) may replace: its own outputs
PLACEMENT_FORMATS = ("optdist-result/1", "optdist-assignment/1")
#: the optdist document formats, for the "did you mean" of a misspelt one (``optdist-reslt/1``)
KNOWN_FORMATS = (*PLACEMENT_FORMATS, "optdist-instance/1", "optdist-profile/2", "optdist-profile/1",
                 "optdist-privacy-table/1", "optdist-device-catalog/1", "optdist-diagnosis/1", "optdist-bench-record/1",
                 "optdist-bench-grid/1", "optdist-rl-policy/1", "optdist-rl-ppo/1", "optdist-dp-measured/1",
                 "optdist-dp-tables/1", "optdist-defq-measured/1", "optdist-defq-tables/1")


def misspelt_format(fmt: object, formats: tuple[str, ...] = KNOWN_FORMATS) -> str | None:
    """The format of ``formats`` that ``fmt`` (a document's ``format``) is a misspelling of
    (``optdist-reslt/1`` -> ``optdist-result/1``); None where ``fmt`` is not text, names a known
    kind (its part before the ``/``: another version is no misspelling) or is close to none."""
    if not isinstance(fmt, str) or fmt in formats:
        return None
    if fmt.partition("/")[0] in {f.partition("/")[0] for f in KNOWN_FORMATS}:
        return None
    from optdist.names import MANY_NAMES_CUTOFF, closest

    return closest(fmt, formats, ignore_case=True, cutoff=MANY_NAMES_CUTOFF)
_SNIFF_BYTES = 64 * 1024  # optdist writes "format" first: read this much to find it
_PARSE_BYTES = 16 * 1024 * 1024  # a file whose head shows no format is parsed whole up to this size


def document_format(path: str | Path) -> str | None:
    """The ``format`` field of the JSON object in the regular file ``path`` (optdist writes it
    first, so its head is read; a file up to 16 MiB is parsed whole), or None for a file that is
    no JSON object or has no string ``format``. OSError if it cannot be read."""
    with open(path, "rb") as f:
        head = f.read(_SNIFF_BYTES)
        m = re.match(rb'\s*\{\s*"format"\s*:\s*"([^"\\]{1,200})"', head)
        if m:
            return m.group(1).decode("utf-8", "replace")
        if len(head) == _SNIFF_BYTES and os.fstat(f.fileno()).st_size > _PARSE_BYTES:
            return None
        data = head + f.read()
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return None
    fmt = doc.get("format") if isinstance(doc, dict) else None
    return fmt if isinstance(fmt, str) else None


def check_overwritable(path: str | Path, formats: tuple[str, ...] = PLACEMENT_FORMATS, flag: str = "--out",
                       override: str | None = None) -> None:
    """Refuse to replace a non-empty regular file at ``path`` whose document is not of one of
    ``formats`` (by its ``format`` field, :func:`document_format`): an instance, a profile, any
    other file. :class:`OutputPathError` naming ``flag``, the path, what the file is, and the fix;
    nothing there, an empty file or anything but a regular file (:func:`check_replaceable`'s to
    judge) passes. ``override``: how the caller replaces it anyway (e.g. ``"force=True"``), said in the fix."""
    path = Path(path)
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode) or st.st_size == 0:
            return
        fmt = document_format(path)
    except (FileNotFoundError, NotADirectoryError):
        return
    except OSError as e:
        raise OutputPathError(f"{flag} {path}: exists and cannot be read ({e.strerror}) to tell whether it may be "
                              "replaced (fix: give another path, or remove the file first)") from None
    if fmt in formats:
        return
    what = (f"an {fmt} document" if fmt is not None and fmt[:1] in "aeiou" else
            f"a {fmt} document" if fmt is not None else "not an optdist document")
    close = misspelt_format(fmt, formats)
    mean = f" (a misspelt {close}?)" if close else ""
    raise OutputPathError(f"{flag} {path}: exists and is {what}{mean}, not {' or '.join(formats)}: writing would replace it "
                          "(fix: give another path, or remove the file first if it is no longer needed"
                          + (f", or pass {override} to replace it)" if override else ")"))


def _why_not_writable(e: OSError) -> str:
    """``e`` (from creating a file or folder) in a user's words."""
    why = {errno.EACCES: "permission denied", errno.EPERM: "permission denied",
           errno.EROFS: "a read-only file system", errno.ENOSPC: "the disk is full"}.get(e.errno)
    if why is None:  # e.g. /proc answers "No such file or directory" for a folder that exists
        why = "the file system does not allow new files there" + ("" if e.errno == errno.ENOENT else f": {e.strerror}")
    return why


def _probe_writable(folder: Path, what: str) -> None:
    """Create and remove a file in ``folder``; :class:`OutputPathError` starting with ``what`` if
    that fails. A real probe: permissions, read-only and special file systems and root all answer
    truthfully (``os.access`` does not for root)."""
    try:
        _probe(folder)
    except OSError as e:
        raise OutputPathError(f"{what} ({_why_not_writable(e)}); optdist writes a temporary file there and renames "
                              "it into place (fix: choose a writable folder on an ordinary file system)") from None


def _probe(folder: Path) -> None:
    """Create and remove a file in ``folder``; OSError where that fails."""
    fd, probe = tempfile.mkstemp(dir=folder, prefix=".optdist-", suffix=".probe")
    os.close(fd)
    os.unlink(probe)


#: errno of a failed write -> (the reason in words, the fix in place ("" if none), where else to write)
_WRITE_FAILURES = {
    errno.ENOSPC: ("no space left on the device", "free space on that disk", "on a disk with space"),
    errno.EDQUOT: ("the disk quota is exceeded", "free space within the quota", "on a disk with space"),
    errno.EFBIG: ("the file is larger than the file-size limit (`ulimit -f`) or than the file system allows",
                  "raise the limit (`ulimit -f unlimited`)", "on another file system"),
    errno.EROFS: ("the file system is read-only", "", "on a writable file system"),
    errno.EACCES: ("permission denied", "", "in a folder you may write to"),
    errno.EPERM: ("permission denied", "", "in a folder you may write to"),
    errno.EIO: ("an input/output error of the device", "check the disk", "on another disk"),
    errno.ENOENT: ("its folder no longer exists", "create the folder again", "in an existing folder"),
}


class OutputWriteError(OSError):
    """An output file that could not be written (:func:`atomic_path`, so every writer of optdist):
    the message names the file, the reason in words (no space left, the file-size limit, a
    read-only file system, permissions) and the fix. Nothing is left at the path but what was
    there before (the temporary file is removed). ``errno`` is the failed call's; ``filename`` the
    path; ``reason`` the words; ``remedy`` the fix in place ("" where the path cannot be made
    writable by the user, e.g. a read-only file system); ``flag`` the option that chose the path,
    where known (:meth:`named`)."""

    def __init__(self, path: str | Path, cause: OSError, flag: str = ""):
        self.path, self.cause, self.flag = Path(path), cause, flag
        self.reason, self.remedy, elsewhere = _WRITE_FAILURES.get(
            cause.errno, (cause.strerror or str(cause), "check the path", "elsewhere"))
        other = f"give another {flag} {elsewhere}" if flag else f"write it {elsewhere}"
        self.fix = f"{self.remedy}, or {other}" if self.remedy else other
        kept = " (the file there before is unchanged)" if os.path.lexists(self.path) else ""
        who = f"{flag} {self.path}" if flag else str(self.path)
        self.message = f"cannot write {who}: {self.reason}; nothing was written{kept} (fix: {self.fix})"
        super().__init__(cause.errno, self.reason)
        self.filename = str(self.path)

    def __str__(self) -> str:
        return self.message

    def named(self, flag: str) -> OutputWriteError:
        """This error with the option that chose the path named (``--out``), in its message and fix."""
        return self if self.flag else OutputWriteError(self.path, self.cause, flag)


@contextlib.contextmanager
def naming(flag: str) -> Iterator[None]:
    """In the block, an :class:`OutputWriteError` names ``flag`` (``--out``, ``--json``): the option to change."""
    try:
        yield
    except OutputWriteError as e:
        raise e.named(flag) from e.cause


def _write_failure(e: OSError, path: Path, tmp: str | None) -> bool:
    """Whether ``e``, raised while writing ``path`` through ``tmp``, is the write's failure (not,
    e.g., a file the writer in the block reads that is missing, or a closed stdout)."""
    if isinstance(e, (OutputWriteError, BrokenPipeError, InterruptedError)):
        return False
    if e.filename is not None:  # the path, the temporary file beside it (mkstemp names its own), a folder above
        f = Path(os.fsdecode(e.filename)) if isinstance(e.filename, (str, bytes, os.PathLike)) else None
        if f is None or not (f == path or f.parent == path.parent or f in path.parents or str(f) == str(tmp)):
            return False  # another file's: e.g. a missing font the plotter reads
    return e.errno != errno.ENOENT or not path.parent.is_dir()


@contextlib.contextmanager
def atomic_path(path: str | Path, keep_suffix: bool = False) -> Iterator[Path]:
    """A temporary path in ``path``'s folder to write, renamed onto ``path`` after the block.

    Its name ends in ``.tmp``, then ``path``'s extension if ``keep_suffix`` (for writers that pick
    the format by extension, e.g. Pyomo and matplotlib); it begins with (at most 100 characters
    of) ``path``'s name, so that a name near the file system's limit of 255 can still be written.
    The parent folders are created if missing (callers writing a user-named file check it first
    with :func:`check_output_file`). Anything but a regular file at ``path`` is refused before
    and again just before the rename (:func:`check_replaceable`), so a rename never replaces a
    device, pipe, socket, folder or link. If the block raises, the temporary file is removed.
    A write that fails (a full disk, the file-size limit, a read-only file system, permissions),
    in the block or in the rename, is an :class:`OutputWriteError` naming ``path``, the reason in
    words and the fix; ``path`` keeps what it held.
    """
    path = Path(path)
    check_replaceable(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:100]}.", suffix=".tmp" + (path.suffix if keep_suffix else ""))
        os.close(fd)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        yield Path(tmp)
        check_replaceable(path)
        os.replace(tmp, path)
    except OSError as e:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if not _write_failure(e, path, tmp):
            raise
        raise OutputWriteError(path, e) from e
    except BaseException:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename (:func:`atomic_path`)."""
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode())


#: the top-level field of a document written with ``non_finite=True`` (:func:`atomic_write_json`)
#: that names each value JSON cannot hold: JSON pointer (RFC 6901) -> ``"Infinity"``,
#: ``"-Infinity"`` or ``"NaN"``; the value itself is written as null there
NON_FINITE = "non_finite"
_NON_FINITE_WORDS = {"Infinity": math.inf, "-Infinity": -math.inf, "NaN": math.nan}


def atomic_write_json(path: str | Path, obj: Any, indent: int | None = 1, *, non_finite: bool = False) -> Path:
    """Write ``obj`` as strict JSON (RFC 8259: no ``Infinity``, ``-Infinity`` or ``NaN``, which
    jq, JavaScript and strict parsers refuse) to ``path`` (:func:`atomic_path`); numpy scalars and
    arrays and paths are written as numbers, lists and strings.

    A non-finite float in ``obj`` is refused (ValueError naming ``path``, the field as a JSON
    pointer, and the fix) unless ``non_finite``: then ``obj`` (a dict) is written with null in its
    place and a top-level :data:`NON_FINITE` field naming it (``{"bound": null, "non_finite":
    {"/bound": "Infinity"}}``), which :func:`restore_non_finite` reads back to the same value.
    Nothing is written where a value is refused."""
    return atomic_write_text(path, json_dumps(obj, indent, non_finite=non_finite, where=str(path)))


def json_dumps(obj: Any, indent: int | None = 1, *, non_finite: bool = False, where: str = "(document)") -> str:
    """The text :func:`atomic_write_json` writes for ``obj`` (strict JSON, a final newline); the
    ValueError of a non-finite value (without ``non_finite``) names ``where``."""
    found: list[tuple[str, float]] = []
    plain = _finite_only(obj, "", found)
    if found and not (non_finite and isinstance(plain, dict)):
        pointer, value = found[0]
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise ValueError(f"{where}: field {pointer or '(document)'} is {_word(value)}{more}, which JSON cannot hold "
                         f"(fix: the writer converts it, e.g. atomic_write_json(..., non_finite=True), which writes "
                         f"null and names it in {json.dumps(NON_FINITE)})")
    if found:
        plain[NON_FINITE] = {w: _word(value) for w, value in found}
    return json.dumps(plain, indent=indent, default=_json_default, allow_nan=False) + "\n"


def restore_non_finite(doc: Any, where: str = "document") -> Any:
    """``doc`` (decoded JSON) with the values its :data:`NON_FINITE` field names put back as the
    floats they were (``inf``, ``-inf``, ``nan``; the field removed): the inverse of
    :func:`atomic_write_json` with ``non_finite=True``. A document without the field is returned
    as it is (also one written before, with bare ``Infinity``, which Python's json reads).
    ValueError naming ``where``, the pointer and the fix for a field that is not an object of
    pointers to words, a word that is none of ``"Infinity"``, ``"-Infinity"``, ``"NaN"``, or a
    pointer (RFC 6901) to no null value."""
    if not isinstance(doc, dict) or NON_FINITE not in doc:
        return doc
    named = doc.pop(NON_FINITE)
    words = ", ".join(map(json.dumps, _NON_FINITE_WORDS))
    fix = f'e.g. {{"/bound": "Infinity"}}: a JSON pointer to a null value and one of {words}; or remove the field'
    if not isinstance(named, dict):
        raise ValueError(f"{where}: field {json.dumps(NON_FINITE)} is {type(named).__name__}, not an object of JSON "
                         f"pointers to words (fix: {fix})")
    for pointer, word in named.items():
        if word not in _NON_FINITE_WORDS:
            raise ValueError(f"{where}: field {json.dumps(NON_FINITE)} names {json.dumps(pointer)} as "
                             f"{json.dumps(word)}, which is none of {words} (fix: {fix})")
        parts = pointer.split("/")[1:] if pointer.startswith("/") else None
        try:
            if parts is None:
                raise LookupError
            parent = doc
            for part in parts[:-1]:
                parent = parent[_unescape(part, parent)]
            key = _unescape(parts[-1], parent)
            if parent[key] is not None:
                raise LookupError
        except (LookupError, TypeError, ValueError):
            raise ValueError(f"{where}: field {json.dumps(NON_FINITE)} names {json.dumps(pointer)} as "
                             f"{json.dumps(word)}, but no null value is there (fix: {fix})") from None
        parent[key] = _NON_FINITE_WORDS[word]
    return doc


def _word(value: float) -> str:
    return "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"


def _unescape(part: str, parent: Any) -> str | int:
    """A JSON pointer's reference token (RFC 6901: ``~1`` is ``/``, ``~0`` is ``~``) as the key of ``parent``."""
    key = part.replace("~1", "/").replace("~0", "~")
    if not isinstance(parent, list):
        return key
    if not key.isdigit():  # RFC 6901: an array index is digits (no sign: "-1" names no element)
        raise ValueError(key)
    return int(key)


def _finite_only(o: Any, where: str, found: list[tuple[str, float]]) -> Any:
    """``o`` with each non-finite float (also a numpy one, in an array too) replaced by None, its
    JSON pointer and value appended to ``found``; containers are copied, the rest left to json."""
    if isinstance(o, dict):
        return {k: _finite_only(v, f"{where}/{_escape(k)}", found) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite_only(v, f"{where}/{i}", found) for i, v in enumerate(o)]
    if type(o).__module__ == "numpy" and hasattr(o, "tolist"):  # arrays and scalars
        o = o.tolist()
        return _finite_only(o, where, found) if isinstance(o, (list, float)) else o
    if isinstance(o, float) and not math.isfinite(o):
        found.append((where, o))
        return None
    return o


def _escape(key: Any) -> str:
    """``key`` (a dict key, as json writes it) as a JSON pointer's reference token."""
    if not isinstance(key, str):  # json's own text of the key (True -> true, 1.5 -> 1.5)
        key = json.loads(json.dumps({key: 0})[1:].rsplit(":", 1)[0])
    return key.replace("~", "~0").replace("/", "~1")


def _json_default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"cannot serialise {type(o).__name__} to JSON")


def _flush_c_stdio() -> None:
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).fflush(None)


@contextlib.contextmanager
def quiet_native_stdout(enabled: bool = True) -> Iterator[None]:
    """While the block runs, what native code writes to file descriptor 1 goes to /dev/null.

    Solver libraries print banners and logs straight to the process's stdout (e.g. HiGHS's
    "Running HiGHS ..." line); the CLI shows them only with ``--tee``. Python-level output in
    the block is silenced too. Does nothing if ``enabled`` is false or stdout has no descriptor.
    """
    if not enabled:
        yield
        return
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):
        yield
        return
    _flush_c_stdio()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    try:
        yield
    finally:
        with contextlib.suppress(OSError, ValueError):
            sys.stdout.flush()
        _flush_c_stdio()
        os.dup2(saved, 1)
        os.close(saved)
