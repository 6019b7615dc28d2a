"""The one definition of the black-box inversion attacker (numpy-free, torch-free).

Both the privacy-table calibration (:mod:`optdist.attacks.calibrate`) and the measured DP sweep
(:mod:`optdist.defences.dp_measure`) build their adversary from an :class:`Attacker`: its own
images (``samples`` drawn from the dataset's ``attack`` split with ``data_seed``), the inverse
network of :func:`optdist.attacks.inversion.decoder` (``architecture``) trained by MSE with Adam
(``lr``, ``batch``, cosine decay, ``epochs``, training seed ``seed``), scored by mean SSIM on
``test_samples`` images of the ``test`` split drawn with ``test_seed``.

A privacy table records its attacker in ``provenance["attacker"]`` (:meth:`Attacker.record`);
tables written before that field existed are read from their ``adversary_samples`` and
``attack`` entries (:meth:`Attacker.from_provenance`). The DP sweep compared with a table uses
:func:`stronger` of the table's attacker and :data:`CALIBRATION` (MODEL.md section 8: a DP
decision is only as private as the attacker it was measured against).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from optdist.attacks.datasets import Dataset, Split

#: The architecture tag of :func:`optdist.attacks.inversion.decoder` (He et al.'s inverse network).
DECODER = "optdist.attacks.inversion.decoder"


@dataclass(frozen=True)
class Attacker:
    """The adversary's data, training budget and inverse-network architecture.

    Defaults are the attacker behind the shipped ``models/privacy/lenet-calibrated.json``.
    ``strength`` orders attackers of the same architecture and optimiser: more images and more
    epochs are stronger.
    """

    samples: int = 5000  # adversary's images from the attack split
    epochs: int = 6
    batch: int = 64
    lr: float = 2e-3
    architecture: str = DECODER
    seed: int = 0  # training seed of the first inverse network
    data_seed: int = 1  # seed of the adversary's image subset
    test_samples: int = 500  # held-out images the attack is scored on
    test_seed: int = 2

    def __post_init__(self) -> None:
        for name in ("samples", "epochs", "batch", "test_samples"):
            if getattr(self, name) < 1:
                raise ValueError(f"attacker {name} must be >= 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ValueError(f"attacker lr must be > 0, got {self.lr}")

    def adversary(self, ds: Dataset) -> Split:
        """The adversary's own images: ``samples`` of ``ds``'s attack split, drawn with ``data_seed``."""
        return ds["attack"].subset(self.samples, self.data_seed)

    def scored(self, ds: Dataset) -> Split:
        """The held-out images the attack is scored on: ``test_samples`` of the test split (``test_seed``)."""
        return ds["test"].subset(self.test_samples, self.test_seed)

    def record(self) -> dict[str, Any]:
        """JSON-ready fields, as stored in ``provenance["attacker"]`` of a table or sweep."""
        return dataclasses.asdict(self)

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> Attacker:
        """Inverse of :meth:`record`; raises ValueError naming an unknown or invalid field."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(rec) - known)
        if unknown:
            from optdist.jsonfile import quoted

            raise ValueError(f"attacker record: unknown field(s) {quoted(unknown)}; known: {quoted(sorted(known))}")
        return cls(**rec)

    @classmethod
    def from_provenance(cls, prov: dict[str, Any]) -> Attacker | None:
        """The attacker a privacy table records, or None if it records none (e.g. a paper's table).

        Reads ``prov["attacker"]`` if present, else the calibration's older free-text fields:
        ``adversary_samples`` ("5000 from ..."), ``test_samples``, ``attack.epochs`` and
        ``attack.optimizer`` ("Adam lr 0.002, batch 64, ...").
        """
        if "attacker" in prov:
            return cls.from_record(prov["attacker"])
        attack = prov.get("attack")
        adv = re.match(r"\s*(\d+)\b", str(prov.get("adversary_samples", "")))
        if not isinstance(attack, dict) or "epochs" not in attack or adv is None:
            return None
        opt = str(attack.get("optimizer", ""))
        lr = re.search(r"lr ([0-9.eE+-]+)", opt)
        batch = re.search(r"batch (\d+)", opt)
        default = cls()
        return cls(
            samples=int(adv.group(1)),
            epochs=int(attack["epochs"]),
            batch=int(batch.group(1)) if batch else default.batch,
            lr=float(lr.group(1)) if lr else default.lr,
            test_samples=int(prov.get("test_samples", default.test_samples)),
        )

    def covers(self, other: Attacker) -> bool:
        """True iff this attacker is at least as strong as ``other``: same architecture, optimiser and
        data draw, at least as many images and epochs."""
        return (
            self.architecture == other.architecture
            and (self.lr, self.batch, self.data_seed) == (other.lr, other.batch, other.data_seed)
            and self.samples >= other.samples
            and self.epochs >= other.epochs
        )

    def describe(self) -> str:
        return (
            f"{self.samples} attack-split images (seed {self.data_seed}), {self.epochs} epochs, "
            f"Adam lr {self.lr:g} batch {self.batch}, {self.architecture}, seed {self.seed}; "
            f"scored on {self.test_samples} test images (seed {self.test_seed})"
        )


#: The project's calibration attacker (``optdist calibrate`` defaults).
CALIBRATION = Attacker()


def stronger(a: Attacker, b: Attacker) -> Attacker:
    """An attacker covering both ``a`` and ``b``: ``a`` with the larger image count and epochs.

    Raises ValueError if they differ in architecture, optimiser or data draw (no order exists).
    """
    if (a.architecture, a.lr, a.batch, a.data_seed) != (b.architecture, b.lr, b.batch, b.data_seed):
        raise ValueError(f"attackers not comparable (architecture, lr, batch, data seed differ): {a} vs {b}")
    return dataclasses.replace(a, samples=max(a.samples, b.samples), epochs=max(a.epochs, b.epochs))


def for_table(provenance: dict[str, Any] | None) -> tuple[Attacker, str]:
    """The attacker a DP measurement compared with a privacy table must (at least) use, and why.

    ``provenance``: the table's (None: no table). :func:`stronger` of the attacker the table
    records and :data:`CALIBRATION` (the table's own if the two are not comparable); a table
    recording none (e.g. a paper's) gets :data:`CALIBRATION`. Raises ValueError for an invalid record.
    """
    recorded = None if provenance is None else Attacker.from_provenance(provenance)
    if recorded is None:
        why = "no privacy table" if provenance is None else "the table records no attacker"
        return CALIBRATION, f"calibration attacker ({why})"
    try:
        chosen = stronger(recorded, CALIBRATION)
    except ValueError:  # another optimiser or data draw: no order, the table's own attacker is the one to meet
        return recorded, "the table's attacker (not comparable with the calibration attacker)"
    return chosen, "the table's attacker" if chosen == recorded else "stronger of the table's and the calibration attacker"

