"""Face finding on real photos and on synthetic group photos, per detector setting.

Rows: the shipped RetinaFace detector (:func:`fer_sklearn._faces.detect_faces`)
at several ``work_size`` and ``threshold`` settings (each box checked by a second
search around it, ``verify``, as by default; rows without it at thresholds
0.6 (the default), 0.3 and 0.05, where boxes on real photos' backgrounds,
clothes and hair come through for the check to drop), and, where dlib is
installed (``pip install dlib-bin``; no longer a dependency), dlib's HOG
frontal-face detector as fer_sklearn used it before (an 800-pixel copy, one
or two upsampling steps). Columns:

- **portraits**: how many of the single portraits in the photos folder
  (``img*.jpg``, one face each) give exactly one box, as they are (at most
  1280 px) and enlarged to a phone photo's 4032 px (faces 500 to 1700 px
  long), and cut by the frame's edge (the left 45% of the face cut
  away), and the boxes found in ``couple.jpg`` (two faces); and harder
  views of the same portraits (**found**: the face has a box centred in
  it): turned by 60 and 90 degrees about the face, blurred, and the face's
  lower half hidden;
- **no face**: how many of the images without a face hold a box: the
  parts of each portrait left, right of and below its face (a wall, hair,
  a shirt, a necklace), and scikit-learn's two sample photos; and two sets
  of hard negatives built here: **patterns** (20 products of sine gratings,
  like fabrics and wallpaper) and **printed text** (60 signs of four words
  each, 30 to 220 pixels high);
- **groups**: faces found in synthetic group photos (and, in brackets,
  boxes on no face): ``--group`` faces (cut from the portraits with their
  surroundings, each scaled so that its face is ``W`` pixels wide) side by
  side on a grey canvas, for several ``W``: a phone photo's 4032x1600 and a
  web photo's 1280x720 (the photos folder's own size). A face counts as
  found when a box's centre falls inside it. These stand in for a real
  group selfie, which the folder lacks;
- **ms/photo**: the median detection time over the portraits (at most
  1280 pixels), and over the 4032x1600 group photos.

Usage::

    python benchmarks/bench_faces.py [--photos ../shared/photos] [--group 7]
        [--csv-prefix docs/bench/faces]

``--csv-prefix P`` also writes the table as two CSV files, the photo
columns in ``P_photos.csv`` and the group columns in ``P_groups.csv``.
"""

import argparse
import csv
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image

from fer_sklearn._faces import detect_faces
from fer_sklearn.datasets._images import grey_levels, read_grey

HERE = Path(__file__).resolve()
#: (work_size, threshold, verify) of the RetinaFace rows; the default is (1280, 0.6, True)
RETINAFACE_SETTINGS = [(640, 0.6, True), (1280, 0.9, True), (1280, 0.6, False),
                       (1280, 0.6, True), (1280, 0.3, False), (1280, 0.3, True),
                       (1280, 0.05, False), (1280, 0.05, True), (1920, 0.6, True)]
HOG_SETTINGS = [(800, 1), (800, 2)]
#: canvas (width, height) -> the face widths placed on it
CANVASES = {(4032, 1600): [60, 90, 130], (1280, 720): [30, 45, 60]}


def hog_detector(work_size, upsample):
    """dlib's HOG detector as fer_sklearn ran it before, or None without dlib."""
    try:
        import dlib
    except ImportError:
        return None
    detector = dlib.get_frontal_face_detector()

    def detect(grey):
        scale = work_size / max(grey.shape)
        size = (round(grey.shape[1] * scale), round(grey.shape[0] * scale))
        work = np.asarray(Image.fromarray(grey).resize(size, Image.Resampling.BILINEAR))
        return [(r.left() / scale, r.top() / scale, r.width() / scale, r.height() / scale)
                for r in detector(work, upsample)]
    return detect


def single_faces(portraits):
    """(portrait, its face's box) of the portraits where one face is found
    at full resolution."""
    for grey in portraits:
        boxes = detect_faces(grey, work_size=max(grey.shape))
        if len(boxes) == 1:
            yield grey, boxes[0]


def face_tiles(portraits):
    """Each portrait's face with its surroundings (3 face widths square), and
    the face's width inside that tile."""
    tiles = []
    for grey, (x, y, w, h) in single_faces(portraits):
        side = 3 * w
        left, top = int(x + w / 2 - side / 2), int(y + h / 2 - side / 2)
        padded = np.pad(grey, side, mode="edge")
        tile = padded[top + side: top + 2 * side, left + side: left + 2 * side]
        tiles.append((tile, w))
    return tiles


def group_photo(tiles, n_faces, face_width, rng, canvas_size=(4032, 1600)):
    """A canvas with ``n_faces`` tiles side by side (faces ``face_width`` px
    wide), and the faces' boxes."""
    width, height = canvas_size
    canvas = np.full((height, width), 128, dtype=np.uint8)
    chosen = rng.choice(len(tiles), size=n_faces, replace=len(tiles) < n_faces)
    step = width // n_faces
    jitter = height // 16
    faces = []
    for k, index in enumerate(chosen):
        tile, tile_face = tiles[index]
        side = max(1, round(tile.shape[0] * face_width / tile_face))
        side = min(side, step, height)
        scaled = np.asarray(Image.fromarray(tile).resize((side, side)))
        left = k * step + (step - side) // 2
        top = (height - side) // 2
        if height > side + 2 * jitter:
            top += int(rng.integers(-jitter, jitter + 1))
        canvas[top: top + side, left: left + side] = scaled
        shown = side * tile_face / tile.shape[0]  # the face's width after scaling
        faces.append((left + side / 2 - shown / 2, top + side / 2 - shown / 2, shown, shown))
    return canvas, faces


def no_face_images(portraits):
    """The parts of each portrait beside and below its face, and
    scikit-learn's two sample photos (a temple, a flower)."""
    from sklearn.datasets import load_sample_images

    parts = []
    for grey, (x, y, w, h) in single_faces(portraits):
        margin = w // 3
        for part in (grey[:, :max(0, x - margin)], grey[:, x + w + margin:],
                     grey[min(y + h + h // 2, grey.shape[0]):, :]):
            if min(part.shape) > 60:
                parts.append(np.ascontiguousarray(part))
    samples = load_sample_images()
    return parts + [grey_levels(Image.fromarray(image), name)
                    for image, name in zip(samples.images, samples.filenames)]


def hard_portraits(portraits):
    """Harder views of each single portrait, by name: turned by 60 and 90
    degrees about its face, blurred (a Gaussian of a fortieth of the face's
    width), and its face's lower half hidden (a mask, a hand); each with its
    face's box."""
    import cv2

    views = {"turned 60": [], "turned 90": [], "blurred": [], "lower half hidden": []}
    for grey, (x, y, w, h) in single_faces(portraits):
        centre = (x + w / 2, y + h / 2)
        for angle in (60, 90):
            turn = cv2.getRotationMatrix2D(centre, angle, 1.0)
            views[f"turned {angle}"].append((cv2.warpAffine(
                grey, turn, grey.shape[::-1], borderMode=cv2.BORDER_REPLICATE), (x, y, w, h)))
        views["blurred"].append((cv2.GaussianBlur(grey, (0, 0), w / 40), (x, y, w, h)))
        hidden = grey.copy()
        hidden[int(y + 0.55 * h):int(y + 1.05 * h), x:x + w] = 200
        views["lower half hidden"].append((hidden, (x, y, w, h)))
    return views


def patterns(rng, count=20, size=(960, 1280)):
    """Hard negatives like fabrics and wallpaper: products of two sine
    gratings of random frequency and phase."""
    rows, columns = np.mgrid[:size[0], :size[1]]
    images = []
    for _ in range(count):
        frequency = rng.uniform(0.01, 0.1)
        wave = (np.sin(columns * frequency + rng.uniform(0, 6))
                * np.sin(rows * frequency * rng.uniform(0.5, 2)))
        images.append((127 + 100 * wave).astype(np.uint8))
    return images


SIGN_WORDS = ["SALE 50%", "OPEN", "COFFEE", "NO PARKING", "EXIT", "Hello World", "BOSS",
              "OO", "@@", "8 8", "o_o", ":-)", "XOXO", "B O O", "(o)(o)", "TEAM 2026"]


def signs(rng, count=60, size=(1280, 960)):
    """Hard negatives like signs and shirts' prints: four words of random
    size (30 to 220 pixels) and grey on a plain ground, in Pillow's default
    font (DejaVu Sans where Pillow has FreeType)."""
    from PIL import ImageDraw, ImageFont

    images = []
    for _ in range(count):
        image = Image.new("L", size, int(rng.integers(150, 255)))
        draw = ImageDraw.Draw(image)
        for _ in range(4):
            font = ImageFont.load_default(int(rng.integers(30, 220)))
            draw.text((int(rng.integers(0, size[0] - 380)), int(rng.integers(0, size[1] - 160))),
                      SIGN_WORDS[rng.integers(len(SIGN_WORDS))],
                      fill=int(rng.integers(0, 100)), font=font)
        images.append(np.asarray(image))
    return images


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


def detectors():
    """(name, setting, detect) of every row."""
    rows = [("RetinaFace", f"work_size={w}, threshold={t}" + ("" if v else ", verify=False"),
             lambda grey, w=w, t=t, v=v: detect_faces(grey, work_size=w, threshold=t, verify=v))
            for w, t, v in RETINAFACE_SETTINGS]
    for work_size, upsample in HOG_SETTINGS:
        detect = hog_detector(work_size, upsample)
        if detect is not None:
            rows.append(("dlib HOG (before)", f"work_size={work_size}, upsample={upsample}",
                         detect))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", default=str(HERE.parents[2] / "shared" / "photos"))
    parser.add_argument("--group", type=int, default=7, help="faces per group photo")
    parser.add_argument("--groups", type=int, default=3, help="group photos per face width")
    parser.add_argument("--csv-prefix", default=None,
                        help="also write the table as PREFIX_photos.csv and PREFIX_groups.csv")
    args = parser.parse_args(argv)
    folder = Path(args.photos)
    portraits = [read_grey(p) for p in sorted(folder.glob("img*.jpg"))]
    couple = read_grey(folder / "couple.jpg")
    tiles = face_tiles(portraits)
    empty = no_face_images(portraits)
    rng = np.random.default_rng(0)
    groups = {(canvas, w): [group_photo(tiles, args.group, w, rng, canvas)
                            for _ in range(args.groups)]
              for canvas, widths in CANVASES.items() for w in widths}
    negatives = {"no face": empty, "patterns": patterns(rng), "printed text": signs(rng)}
    harder = hard_portraits(portraits)
    print(f"{len(portraits)} portraits, couple.jpg, {len(empty)} images without a face, "
          f"{len(negatives['patterns'])} patterns and {len(negatives['printed text'])} signs; "
          f"groups of {args.group} faces ({args.groups} per canvas and face width, faces "
          f"cut from {len(tiles)} portraits)\n")
    enlarged = [np.asarray(Image.fromarray(grey).resize(
        (round(grey.shape[1] * 4032 / max(grey.shape)), round(grey.shape[0] * 4032 / max(grey.shape))),
        Image.Resampling.BICUBIC)) for grey in portraits]
    cut = [np.ascontiguousarray(grey[:, x + int(0.45 * w):])
           for grey, (x, y, w, h) in single_faces(portraits)]
    # photo columns: portraits giving exactly one box
    header = ["detector", "setting", "portraits", "portraits at 4032 px",
              "faces cut by the edge"] + [f"{name}: found" for name in harder] + [
              "couple: boxes"] + [f"{name}: with a box" for name in negatives] + [
        f"group {c[0]} px, faces {w} px" for c, w in groups] + [
        "ms per portrait", "ms per 4032-px photo"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    table = []
    for name, setting, detect in detectors():
        seconds, exact = [], 0
        for grey in portraits:
            started = time.perf_counter()
            boxes = detect(grey)
            seconds.append(time.perf_counter() - started)
            exact += len(boxes) == 1
        cells = [name, setting, f"{exact}/{len(portraits)}",
                 f"{sum(len(detect(grey)) == 1 for grey in enlarged)}/{len(enlarged)}",
                 f"{sum(len(detect(grey)) == 1 for grey in cut)}/{len(cut)}"]
        for views in harder.values():
            hits = sum(found([face], detect(grey))[0] for grey, face in views)
            cells.append(f"{hits}/{len(views)}")
        cells.append(str(len(detect(couple))))
        cells += [f"{sum(bool(detect(image)) for image in images)}/{len(images)}"
                  for images in negatives.values()]
        for photos in groups.values():
            counts = [found(faces, detect(canvas)) for canvas, faces in photos]
            hits, extra = (sum(c[i] for c in counts) for i in (0, 1))
            cells.append(f"{hits}/{args.group * len(counts)}" + (f" (+{extra})" if extra else ""))
        cells.append(f"{1000 * statistics.median(seconds):.0f}")
        large = []
        for (canvas, _), photos in groups.items():
            for photo, _ in photos if canvas[0] == 4032 else ():
                started = time.perf_counter()
                detect(photo)
                large.append(time.perf_counter() - started)
        cells.append(f"{1000 * statistics.median(large):.0f}")
        print("| " + " | ".join(cells) + " |", flush=True)
        table.append(cells)
    if args.csv_prefix:
        grouped = [i for i, name in enumerate(header) if name.startswith("group ")]
        for part, columns in (("photos", [i for i in range(len(header)) if i not in grouped]),
                              ("groups", [0, 1, *grouped])):
            with open(f"{args.csv_prefix}_{part}.csv", "w", newline="") as handle:
                csv.writer(handle).writerows([[row[i] for i in columns]
                                              for row in [header, *table]])


if __name__ == "__main__":
    main()
