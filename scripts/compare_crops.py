"""Compare ways of cropping a detected face: the box crop against crops
aligned by the eyes, on the bundled sample's faces turned in the plane.

Each of the 900 sample faces is enlarged 4x (192x192), padded by 64 pixels
(the border repeated) and rotated about its centre by an angle drawn
uniformly in +-``--max-angle`` degrees (and by 0, as a second set); the
detector is run on it, and where it finds exactly one face that face is
cropped three ways and classified by the shipped ``cnn`` (ONNX engine, its
default flips):

- **box**: ``crop_faces``, upright (a square of the box's long side,
  centred 0.02 of it above the box's centre): ``analyze``'s crop before;
- **eyes level**: ``align_crop``, the same square rotated about its centre
  so that the eyes are level: ``analyze``'s crop now;
- **eyes level, eye scale**: rotated likewise, its side and centre set
  from the eyes: a side of ``k`` eye distances, centred ``c`` eye distances
  below the eyes' midpoint, ``k`` and ``c`` the medians measured on the
  even-numbered faces upright (so the odd-numbered ones, which the
  accuracies are reported on separately, played no part in them).

Printed: faces found, and the accuracy (7 classes) on the faces found of
the original 48x48 faces and of each crop, for all faces and for the odd
ones::

    python scripts/compare_crops.py [--max-angle 25] [--seed 0] [--no-verify]

``--no-verify`` searches without the detector's second search around each
box (``verify=False``).
"""

import argparse

import numpy as np
from PIL import Image

from fer_sklearn import load_fer2013_sample, load_pretrained
from fer_sklearn._faces import align_crop, crop_faces, eye_axes, find_faces

SIZE, PAD = 192, 64


def turned(face, angle):
    """A sample face enlarged, padded and rotated by ``angle`` degrees."""
    big = Image.fromarray(face).resize((SIZE, SIZE), Image.Resampling.BICUBIC)
    padded = np.pad(np.asarray(big), PAD, mode="edge")
    return np.asarray(Image.fromarray(padded).rotate(
        angle, resample=Image.Resampling.BILINEAR, fillcolor=int(np.median(padded))))


def calibrate(faces, verify=True):
    """(k, c): the FER2013 frame's side and the drop of its centre below the
    eyes' midpoint, in eye distances (medians over upright faces)."""
    sides, drops = [], []
    centre = np.array([PAD + SIZE / 2, PAD + SIZE / 2])
    for face in faces:
        boxes, _, points = find_faces(turned(face, 0.0), verify=verify)
        if len(boxes) != 1:
            continue
        distance, _, down, middle = eye_axes(points[0])
        sides.append(SIZE / distance)
        drops.append(float(np.dot(centre - middle, down)) / distance)
    return float(np.median(sides)), float(np.median(drops))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-angle", type=float, default=25.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-verify", action="store_true",
                        help="without the detector's second search around each box")
    args = parser.parse_args(argv)
    sample = load_fer2013_sample()
    faces, labels = sample.images, sample.target
    verify = not args.no_verify
    k, c = calibrate(faces[0::2], verify)
    print(f"eye scale from the {len(faces[0::2])} even-numbered faces upright: side {k:.2f} "
          f"eye distances, centre {c:.2f} eye distances below the eyes")
    model = load_pretrained("cnn", engine="onnx")
    rng = np.random.default_rng(args.seed)
    angles = rng.uniform(-args.max_angle, args.max_angle, len(faces))
    for title, set_angles in (("upright", np.zeros(len(faces))),
                              (f"turned by up to +-{args.max_angle:g} degrees", angles)):
        found, crops = [], {"box": [], "eyes level": [], "eyes level, eye scale": []}
        for index, (face, angle) in enumerate(zip(faces, set_angles)):
            image = turned(face, angle)
            boxes, _, points = find_faces(image, verify=verify)
            if len(boxes) != 1:
                continue
            found.append(index)
            box = tuple(int(v) for v in boxes[0])
            crops["box"].append(crop_faces(image, [box])[0])
            crops["eyes level"].append(align_crop(image, box, points[0], scale="box"))
            crops["eyes level, eye scale"].append(
                align_crop(image, box, points[0], scale="eyes", eye_side=k, eye_drop=c))
        found = np.array(found)
        odd = found % 2 == 1
        truth = labels[found]
        print(f"\n{title}: one face found in {len(found)} of {len(faces)} "
              f"({int(odd.sum())} of the {len(faces) // 2} odd-numbered)")
        rows = {"the original 48x48 faces": faces[found]}
        rows.update({name: np.stack(images) for name, images in crops.items()})
        for name, images in rows.items():
            right = model.predict(images.reshape(len(images), -1)) == truth
            print(f"  {name:28s} accuracy {right.mean():.2%} (odd faces {right[odd].mean():.2%})")


if __name__ == "__main__":
    main()
