"""Face finding on real photos and on synthetic group photos, per detector setting.

For each setting of :func:`fer_sklearn._faces.detect_faces` (``work_size``,
``upsample``) it prints:

- **portraits**: how many of the single portraits in the photos folder
  (``img*.jpg``, one face each) give exactly one box, and the boxes found
  in ``couple.jpg`` (two faces);
- **groups**: faces found in synthetic group photos (and, in brackets,
  boxes on no face): ``--group`` faces
  (cut from the portraits with their surroundings, each scaled so that its
  face is ``W`` pixels wide) side by side on a grey canvas as wide as a
  phone photo (4032 px), for several ``W``. A face counts as found when a
  box's centre falls inside it. These stand in for a real group selfie,
  which the folder lacks; the faces are ones the detector finds in their
  own photo;
- **ms/photo**: the median detection time over the portraits.

Usage::

    python benchmarks/bench_faces.py [--photos ../shared/photos] [--group 7] [--csv FILE]
"""

import argparse
import csv
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image

from fer_sklearn._faces import detect_faces
from fer_sklearn.datasets._images import read_grey

HERE = Path(__file__).resolve()
SETTINGS = [(800, 1), (1200, 1), (1600, 1), (800, 2)]
FACE_WIDTHS = [60, 90, 130, 200]
CANVAS = (4032, 1600)


def face_tiles(portraits):
    """Each portrait's face with its surroundings (3 face widths square), and
    the face's box inside that tile, found at full resolution."""
    tiles = []
    for grey in portraits:
        boxes = detect_faces(grey, work_size=max(grey.shape), upsample=1)
        if len(boxes) != 1:
            continue
        x, y, w, h = boxes[0]
        side = 3 * w
        left, top = int(x + w / 2 - side / 2), int(y + h / 2 - side / 2)
        padded = np.pad(grey, side, mode="edge")
        tile = padded[top + side: top + 2 * side, left + side: left + 2 * side]
        tiles.append((tile, w))
    return tiles


def group_photo(tiles, n_faces, face_width, rng):
    """A canvas with ``n_faces`` tiles side by side (faces ``face_width`` px
    wide), and the faces' boxes."""
    canvas = np.full(CANVAS[::-1], 128, dtype=np.uint8)
    chosen = rng.choice(len(tiles), size=n_faces, replace=len(tiles) < n_faces)
    step = CANVAS[0] // n_faces
    faces = []
    for k, index in enumerate(chosen):
        tile, width = tiles[index]
        side = max(1, round(tile.shape[0] * face_width / width))
        side = min(side, step, CANVAS[1])
        scaled = np.asarray(Image.fromarray(tile).resize((side, side)))
        left = k * step + (step - side) // 2
        top = (CANVAS[1] - side) // 2 + int(rng.integers(-100, 101)) if CANVAS[1] > side + 200 \
            else (CANVAS[1] - side) // 2
        canvas[top: top + side, left: left + side] = scaled
        shown = side * width / tile.shape[0]  # the face's width after scaling
        faces.append((left + side / 2 - shown / 2, top + side / 2 - shown / 2, shown, shown))
    return canvas, faces


def found(faces, boxes):
    """How many faces have a box centred inside them, and how many boxes
    are centred in no face."""
    def inside(box, face):
        bx, by, bw, bh = box
        fx, fy, fw, fh = face
        return fx <= bx + bw / 2 <= fx + fw and fy <= by + bh / 2 <= fy + fh

    hits = sum(any(inside(box, face) for box in boxes) for face in faces)
    extra = sum(not any(inside(box, face) for face in faces) for box in boxes)
    return hits, extra


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", default=str(HERE.parents[2] / "shared" / "photos"))
    parser.add_argument("--group", type=int, default=7, help="faces per group photo")
    parser.add_argument("--groups", type=int, default=3, help="group photos per face width")
    parser.add_argument("--csv", default=None, help="also write the table here (CSV)")
    args = parser.parse_args(argv)
    folder = Path(args.photos)
    portraits = [read_grey(p) for p in sorted(folder.glob("img*.jpg"))]
    couple = read_grey(folder / "couple.jpg")
    tiles = face_tiles(portraits)
    rng = np.random.default_rng(0)
    groups = {w: [group_photo(tiles, args.group, w, rng) for _ in range(args.groups)]
              for w in FACE_WIDTHS}
    print(f"{len(portraits)} portraits, couple.jpg; groups of {args.group} faces on "
          f"{CANVAS[0]}x{CANVAS[1]} canvases ({args.groups} per face width, faces cut "
          f"from {len(tiles)} portraits)\n")
    header = ["work_size", "upsample", "portraits: exactly 1", "couple: boxes"] + [
        f"group, faces {w} px" for w in FACE_WIDTHS] + ["ms/photo"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    table = []
    for work_size, upsample in SETTINGS:
        seconds, exact = [], 0
        for grey in portraits:
            started = time.perf_counter()
            boxes = detect_faces(grey, work_size=work_size, upsample=upsample)
            seconds.append(time.perf_counter() - started)
            exact += len(boxes) == 1
        pairs = len(detect_faces(couple, work_size=work_size, upsample=upsample))
        cells = [str(work_size), str(upsample), f"{exact}/{len(portraits)}", str(pairs)]
        for w in FACE_WIDTHS:
            counts = [found(faces, detect_faces(canvas, work_size=work_size,
                                                upsample=upsample))
                      for canvas, faces in groups[w]]
            hits, extra = (sum(c[i] for c in counts) for i in (0, 1))
            cells.append(f"{hits}/{args.group * len(counts)}" + (f" (+{extra})" if extra else ""))
        cells.append(f"{1000 * statistics.median(seconds):.0f}")
        print("| " + " | ".join(cells) + " |", flush=True)
        table.append(cells)
    if args.csv:
        with open(args.csv, "w", newline="") as handle:
            csv.writer(handle).writerows([header, *table])


if __name__ == "__main__":
    main()
