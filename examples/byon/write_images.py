"""Write bundled photo patches as PNG files: a stand-in for your own image folder (optdist calibrate --images).

    python write_images.py imgs 400

writes ``imgs/0000.png`` ... : the first N 32x32 RGB crops of the adversary's split of the
bundled "natural" set (photos shipped with scikit-image and scikit-learn, optdist.attacks.datasets).
"""

import sys
from pathlib import Path

from PIL import Image

from optdist.attacks.datasets import load


def main(folder: str, n: int) -> None:
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    x = load("natural")["attack"].x  # (3000, 3, 32, 32) uint8, ten photos x 300 crops
    picks = x[:: max(1, len(x) // n)][:n]  # spread over the ten photos
    for i, img in enumerate(picks):
        Image.fromarray(img.transpose(1, 2, 0)).save(out / f"{i:04d}.png")
    print(f"{len(picks)} images -> {out}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
