"""
The study's six figures
=======================

The course study this library grew from showed six figures: input faces,
label distributions of two splits, training curves, 36 test faces beside
their softmax bars, true vs predicted label counts, and the confusion
matrix. Each is a function of :mod:`fer_sklearn.plotting`.

The figures here are drawn from the study's network trained by the study's
protocol and shipped as ``load_pretrained("study")``; the faces are the
bundled sample (900 PublicTest faces: the study's validation split). With
``FER2013_PATH`` set, the label distributions use the full Training and
PublicTest splits; otherwise the sample stands in.
"""

# %%
import os

import numpy as np

from fer_sklearn import LabelMerger, load_fer2013, load_fer2013_sample
from fer_sklearn import load_pretrained, plotting

faces = load_fer2013_sample()
# the study's CNN, trained by the study's protocol (6 classes, 32 epochs)
study = load_pretrained("study")
merge = LabelMerger().fit(np.arange(7))  # Disgust -> Angry, as the study
y6 = merge.transform(faces.target)
proba = study.predict_proba(faces.data)
predicted = study.classes_[proba.argmax(axis=1)]
print(f"the study's CNN on the sample: {np.mean(predicted == y6):.1%}")

# %%
# 1. Input faces
fig = plotting.plot_faces(faces.images, faces.target, max_faces=24)

# %%
# 2. Label distributions of two splits
if os.environ.get("FER2013_PATH"):
    full = load_fer2013()
    splits = [full.target[full.usage == u] for u in ("Training", "PublicTest")]
    ax = plotting.plot_label_distribution(
        *splits, names=["Training", "PublicTest"]
    )
else:
    ax = plotting.plot_label_distribution(
        faces.target[:450],
        faces.target[450:],
        names=["sample, first half", "second half"],
    )

# %%
# 3. Training and validation curves: the real log of the shipped model's
# run (``scripts/train_pretrained.py study``: all 28,709 Training faces,
# PublicTest as validation through skorch's ``predefined_split``), restored
# as the loaded classifier's ``history``. The star is the study's own best
# validation accuracy. As in the study, validation accuracy stops rising
# after about 10 epochs while the training accuracy climbs: overfitting.
fig = plotting.plot_history(study)
ax_acc = fig.axes[0]
ax_acc.plot(9, 0.5862, "k*", markersize=12, label="the study: 58.62%")
ax_acc.legend()
best = int(np.argmax(study.history[:, "valid_acc"]))
print(
    f"best validation accuracy {study.history[best, 'valid_acc']:.2%} at "
    f"epoch {best + 1}; {study.history[-1, 'valid_acc']:.2%} at epoch "
    f"{len(study.history)} (the shipped model)"
)

# %%
# 4. 36 faces beside their softmax bars (true label black when right, blue
# when wrong)
fig = plotting.plot_predictions(
    faces.images, proba, y6, classes=study.classes_
)

# %%
# 5. True vs predicted label counts
ax = plotting.plot_label_counts(y6, predicted)

# %%
# 6. The confusion matrix, on the study's 6 classes
display = plotting.plot_confusion_matrix(y6, predicted)
