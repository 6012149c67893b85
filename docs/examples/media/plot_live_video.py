"""
A video analysed as it plays: live and summarize
================================================

:func:`fer_sklearn.live` reads a webcam, a stream URL or a video file frame
by frame and yields each analysed frame's faces as it goes, dropping the
frames it cannot keep up with (``max_fps`` caps the rate).
:func:`fer_sklearn.summarize` turns the rows into one line per face: when it
was seen, for how many frames, its dominant emotion and its share of time
in each.

The clip is the video file named by ``$FER_SKLEARN_VIDEO`` where it is
set (the documentation's build sets it to a real clip of a man talking to
the camera for 20 seconds); elsewhere a short clip is made from a bundled
face drifting across the frame. From the
command line the same is ``fer-sklearn live CLIP.mp4 --max-fps 4``, one JSON
line per analysed frame, or ``--summary``.
"""

# %%
import os
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from PIL import Image

from fer_sklearn import live, load_fer2013_sample, summarize
from fer_sklearn.plotting import plot_emotion_timeline

clip = Path(os.environ.get("FER_SKLEARN_VIDEO", "no video given"))
if not clip.is_file():
    face = load_fer2013_sample().images[3]
    big = np.asarray(
        Image.fromarray(face).resize((200, 200), Image.Resampling.BICUBIC)
    )
    clip = Path(tempfile.mkdtemp()) / "drift.mp4"
    writer = cv2.VideoWriter(
        str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (500, 320)
    )
    for step in range(40):
        frame = np.full((320, 500), 128, np.uint8)
        frame[60:260, 20 + 6 * step : 220 + 6 * step] = big
        writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    writer.release()

# realtime=False reads the file as fast as the analysis goes (a camera, or
# realtime=True, would drop the frames the analysis cannot keep up with)
frames = []
for item in live(clip, max_fps=4, realtime=False):
    frames.append(item.faces)
table = pd.concat(frames, ignore_index=True)
print(f"{len(frames)} frames analysed, {len(table)} faces, ids "
      f"{sorted(table['face'].unique().tolist())}")
print(table[["frame", "time", "face", "score", "label"]].head())

# %%
# One line per face: the dominant emotion, and the share of time in each
summary = summarize(table)
shares = [c for c in summary.columns if c.startswith("share_")]
print(summary[["face", "first", "last", "frames", "dominant"]])
print(summary[shares].round(2).T)

# %%
# The face's probabilities over time
ax = plot_emotion_timeline(table)
ax.set_title(f"face 0 of {clip.name}")  # the file's name, not its path
ax.figure.tight_layout()
