"""Add ``weights_sha256`` (the sha256 of ``NAME.pt``) to each ``NAME.json`` sidecar in this folder
that lacks it, leaving every other field as it is: the sidecars of targets trained before
``optdist train-target`` wrote the hash (priv32). ``optdist.attacks.targets.load`` refuses a .pt
whose hash differs from its sidecar's. Run from anywhere: ``python models/weights/stamp_sha256.py``
(retraining, `optdist train-target NAME --force`, writes the hash too, but takes minutes)."""

import hashlib
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent

for sidecar in sorted(HERE.glob("*.json")):
    pt = sidecar.with_suffix(".pt")
    meta = json.loads(sidecar.read_text())
    if not pt.is_file() or "weights_sha256" in meta:
        continue
    meta["weights_sha256"] = hashlib.sha256(pt.read_bytes()).hexdigest()
    sidecar.write_text(json.dumps(meta, indent=1) + "\n")
    print(f"{sidecar.name}: weights_sha256 {meta['weights_sha256']}")
