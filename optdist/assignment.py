"""Per-map assignments ``A[r,k,p,i]``: who computes each segment, and their JSON form.

In memory an assignment holds, for every request r and layer k, an int array of length
``P_k`` whose entry p is the node index owning segment p (``A[r,k,p,i] = 1``). Rejected
requests (admission control) have no owners. On disk (``optdist-assignment/1``) each layer
is run-length encoded as ``[[node_id, count], ...]`` in segment order, or a plain list of
node ids per segment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from optdist.instance import Instance
from optdist.io import atomic_write_json

FORMAT = "optdist-assignment/1"


@dataclass
class Assignment:
    """Owners per request and layer; ``owners[r] is None`` means request r is rejected."""

    owners: list[list[np.ndarray] | None]
    meta: dict = field(default_factory=dict)

    @property
    def admitted(self) -> np.ndarray:
        return np.array([o is not None for o in self.owners], dtype=bool)

    def counts(self, inst: Instance, r: int, k: int) -> np.ndarray:
        """``n[r,k,i]``: number of segments of layer k node i owns."""
        own = self.owners[r]
        assert own is not None
        return np.bincount(own[k], minlength=inst.n_nodes)

    @classmethod
    def from_counts(cls, inst: Instance, counts: list[list[np.ndarray] | None], meta: dict | None = None) -> Assignment:
        """Label maps in order from per-layer counts (maps of one layer are interchangeable).

        Only valid where per-map identity does not matter; a formulation with flows between
        elementwise layers must label along its flows instead (``optdist.milp.extract``).
        """
        owners: list[list[np.ndarray] | None] = []
        for r, per_layer in enumerate(counts):
            if per_layer is None:
                owners.append(None)
                continue
            owners.append([np.repeat(np.arange(inst.n_nodes), np.asarray(c, dtype=np.int64)) for c in per_layer])
        return cls(owners, dict(meta or {}))

    def to_json(self, inst: Instance) -> dict:
        ids = inst.node_ids
        reqs = {}
        for r, own in enumerate(self.owners):
            rid = inst.request_ids[r]
            if own is None:
                reqs[rid] = {"rejected": True}
                continue
            layers = {}
            for k, la in enumerate(inst.profile(r).layers):
                a = own[k]
                runs: list[list] = []
                for node in a.tolist():
                    if runs and runs[-1][0] == ids[node]:
                        runs[-1][1] += 1
                    else:
                        runs.append([ids[node], 1])
                layers[la.name] = runs
            reqs[rid] = {"layers": layers}
        return {"format": FORMAT, "instance": inst.name, "meta": self.meta, "requests": reqs}

    def save(self, inst: Instance, path: str | Path) -> Path:
        return atomic_write_json(path, self.to_json(inst), indent=None)

    @classmethod
    def from_json(cls, inst: Instance, data: dict, where: str = "assignment") -> Assignment:
        """Decode ``optdist-assignment/1``; raises ValueError naming the field and the fix."""
        if data.get("format") != FORMAT:
            raise ValueError(f"{where}: format is {data.get('format')!r}, expected {FORMAT!r}")
        reqs = data.get("requests")
        if not isinstance(reqs, dict):
            raise ValueError(f"{where}: 'requests' must map request ids to their layers")
        index = {nid: i for i, nid in enumerate(inst.node_ids)}
        owners: list[list[np.ndarray] | None] = []
        for r, rid in enumerate(inst.request_ids):
            entry = reqs.get(rid)
            if entry is None:
                raise ValueError(f"{where}: requests.{rid} missing (fix: give its layers, or {{\"rejected\": true}})")
            if entry.get("rejected"):
                owners.append(None)
                continue
            per_layer = []
            for la in inst.profile(r).layers:
                v = entry.get("layers", {}).get(la.name)
                p = f"{where}: requests.{rid}.layers.{la.name}"
                if v is None:
                    raise ValueError(f"{p} missing (fix: list the owner of each of its {la.segments} segments)")
                seq: list[str] = []
                for item in v:
                    if isinstance(item, list):
                        seq.extend([item[0]] * int(item[1]))
                    else:
                        seq.append(item)
                if len(seq) != la.segments:
                    raise ValueError(f"{p} has {len(seq)} owners, the layer has {la.segments} segments")
                unknown = sorted({s for s in seq if s not in index})
                if unknown:
                    raise ValueError(f"{p}: unknown node ids {unknown[:5]} (fix: use ids from the instance)")
                per_layer.append(np.array([index[s] for s in seq], dtype=np.int64))
            owners.append(per_layer)
        return cls(owners, dict(data.get("meta", {})))

    @classmethod
    def load(cls, inst: Instance, path: str | Path) -> Assignment:
        return cls.from_json(inst, json.loads(Path(path).read_text()), str(path))
