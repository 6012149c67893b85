"""
Faces in photos and videos with analyze
=======================================

:func:`fer_sklearn.analyze` finds the faces in photos, videos, arrays or
folders, crops each one the way FER2013 frames its faces, classifies it and
returns one DataFrame row per face. In a video, each face keeps one id from
frame to frame.

The package ships no photographs, so this example makes its own: faces of
the bundled sample, enlarged on a plain background (a "photo" of two people
side by side), and a short video in which one of them drifts across the
frame.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

from fer_sklearn import analyze, load_fer2013_sample
from fer_sklearn.plotting import plot_emotion_timeline

faces = load_fer2013_sample()


def enlarged(face, size=200):
    return np.asarray(
        Image.fromarray(face).resize((size, size), Image.Resampling.BICUBIC)
    )


# Enlarged 48x48 faces are blurry: keep two in which analyze finds one face.
found = [
    i
    for i in range(40)
    if len(
        analyze(
            np.pad(enlarged(faces.images[i]), 100, constant_values=128), "rnn"
        )
    )
    == 1
][:2]
photo = np.full((400, 700), 128, np.uint8)
for left, index in zip((60, 440), found):
    photo[100:300, left : left + 200] = enlarged(faces.images[index])

table = analyze(photo)
print(
    table[
        ["face", "x", "y", "width", "height", "label", "happy", "neutral"]
    ].round(2)
)

fig, ax = plt.subplots(figsize=(7, 4))
ax.imshow(photo, cmap="gray")
for row in table.itertuples():
    ax.add_patch(
        plt.Rectangle(
            (row.x, row.y),
            row.width,
            row.height,
            fill=False,
            color="orange",
            lw=2,
        )
    )
    ax.text(
        row.x,
        row.y - 8,
        f"{row.face}: {row.label} {getattr(row, row.label):.2f}",
        color="orange",
    )
ax.set_axis_off()
ax.set_title("analyze(photo): one row, one box per face")

# %%
# A video: 40 frames of the first face moving right, written with OpenCV.
# ``analyze`` reads it frame by frame (``every=2``: every other frame) and
# tracks the face, so all its rows share one ``face`` id.
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402

video = Path(tempfile.mkdtemp()) / "drift.mp4"
writer = cv2.VideoWriter(
    str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (500, 320)
)
for step in range(40):
    frame = np.full((320, 500), 128, np.uint8)
    frame[60:260, 20 + 6 * step : 220 + 6 * step] = enlarged(
        faces.images[found[0]]
    )
    writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
writer.release()

clip = analyze(video, every=2)
print(
    f"{len(clip)} rows from {clip['frame'].nunique()} frames; face ids: "
    f"{sorted(clip['face'].unique())}"
)
print(clip[["frame", "time", "face", "x", "label"]].head())

# %%
# Each emotion's probability over time, for the face seen most:
ax = plot_emotion_timeline(clip)
ax.figure.tight_layout()
