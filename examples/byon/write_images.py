"""Write bundled photo patches as PNG files: a stand-in for your own image folder (optdist calibrate --images).

    python write_images.py imgs 400

writes ``imgs/0000.png`` ... : the first N 32x32 RGB crops of the adversary's split of the
bundled "natural" set (photos shipped with scikit-image and scikit-learn, optdist.attacks.datasets).
"""

import argparse
from pathlib import Path

from PIL import Image

from optdist.attacks.datasets import load


def main(folder: str, n: int) -> None:
    x = load("natural")["attack"].x  # (3000, 3, 32, 32) uint8, ten photos x 300 crops
    if n > len(x):  # 100000 wrote the 3000 there are, as if asked
        raise SystemExit(f"write_images.py: n {n}: the set holds {len(x)} images (fix: give at most {len(x)})")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    picks = x[:: max(1, len(x) // n)][:n]  # spread over the ten photos
    for i, img in enumerate(picks):
        Image.fromarray(img.transpose(1, 2, 0)).save(out / f"{i:04d}.png")
    print(f"{len(picks)} images -> {out}")


def whole(text: str) -> int:
    """The argument n as a whole number (abc was argparse's "invalid int value: 'abc'", with no fix)."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"\"{text}\" is no whole number (fix: e.g. python write_images.py imgs 400)") from None


if __name__ == "__main__":  # a missing or bad argument was an IndexError / ValueError / ZeroDivisionError traceback
    ap = argparse.ArgumentParser(description="Write bundled photo patches as PNG files, e.g. python write_images.py imgs 400")
    ap.add_argument("folder", help="where the PNG files go (created if missing)")
    ap.add_argument("n", type=whole, help="how many images, a whole number >= 1 (the set holds 3000)")
    args = ap.parse_args()
    if args.n < 1:
        ap.error(f"n {args.n}: give a whole number >= 1 (fix: e.g. python write_images.py imgs 400)")
    main(args.folder, args.n)
