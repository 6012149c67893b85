"""Measure how FER2013 frames a face, relative to the detector's box.

Runs ``fer_sklearn._faces``'s detector on the bundled sample's faces,
enlarged 4x (192x192) and padded so that faces touching the frame are
found, and prints how large the 48x48 frame is next to the box, and where
its centre lies, in the box's long sides. ``crop_faces`` uses these figures
(``MARGIN``, ``UPWARD_SHIFT``)::

    python scripts/calibrate_crop.py
"""

import numpy as np
from PIL import Image

from fer_sklearn import load_fer2013_sample
from fer_sklearn._faces import detect_faces

SIZE, PAD = 192, 64


def main():
    faces = load_fer2013_sample().images
    boxes = []
    for face in faces:
        big = np.asarray(Image.fromarray(face).resize((SIZE, SIZE), Image.Resampling.BICUBIC))
        found = detect_faces(np.pad(big, PAD, mode="edge"))
        if len(found) == 1:
            x, y, w, h = found[0]
            boxes.append((x - PAD, y - PAD, w, h))
    boxes = np.array(boxes, dtype=float)
    side = boxes[:, 2:].max(axis=1)  # the box's long side
    centre_y = boxes[:, 1] + boxes[:, 3] / 2
    centre_x = boxes[:, 0] + boxes[:, 2] / 2
    ratio = SIZE / side
    print(f"one face found in {len(boxes)} of {len(faces)} sample faces")
    print(f"frame side / box's long side: median {np.median(ratio):.2f}, quartiles "
          f"{np.percentile(ratio, 25):.2f} and {np.percentile(ratio, 75):.2f}")
    print(f"frame centre - box centre, in long sides: x {np.median((SIZE / 2 - centre_x) / side):+.3f}, "
          f"y {np.median((SIZE / 2 - centre_y) / side):+.3f} (negative: above)")


if __name__ == "__main__":
    main()
