"""
The study's six figures
=======================

The course study this library grew from showed six figures: input faces,
label distributions of two splits, training curves, 36 test faces beside
their softmax bars, true vs predicted label counts, and the confusion
matrix. Each is a function of :mod:`fer_sklearn.plotting`.

With ``FER2013_PATH`` set, the distributions use the full Training and
PublicTest splits; otherwise the bundled sample stands in.
"""

# %%
import os

import numpy as np
from skorch.dataset import ValidSplit

from fer_sklearn import (
    FERCNNClassifier,
    load_fer2013,
    load_fer2013_sample,
    load_pretrained,
)
from fer_sklearn import plotting

faces = load_fer2013_sample()
clf = load_pretrained("cnn")
proba = clf.predict_proba(faces.data)
predicted = clf.classes_[proba.argmax(axis=1)]

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
# 3. Training and validation curves. The shipped CNN trained for an hour;
# here a small CNN trains for a few epochs on 600 sample faces, holding out a
# stratified 25% for validation, so that the figure builds in seconds.
small = FERCNNClassifier(
    max_epochs=6,
    module__width=8,
    random_state=0,
    train_split=ValidSplit(4, stratified=True),
)
small.fit(faces.data[:600], faces.target[:600])
fig = plotting.plot_history(small)

# %%
# 4. 36 faces beside their softmax bars (true label black when right, blue
# when wrong)
fig = plotting.plot_predictions(
    faces.images, proba, faces.target, classes=clf.classes_
)

# %%
# 5. True vs predicted label counts
ax = plotting.plot_label_counts(faces.target, predicted)

# %%
# 6. The confusion matrix, on 6 classes as in the study (Disgust merged into
# Angry, probabilities merged too)
from fer_sklearn import LabelMerger

merge = LabelMerger().fit(np.arange(7))
predicted6 = merge.classes_[
    merge.merge_proba(proba, clf.classes_).argmax(axis=1)
]
display = plotting.plot_confusion_matrix(
    merge.transform(faces.target), predicted6
)
