"""
The study's CNN against the default CNN
=======================================

Two shipped models, both trained on all 28,709 Training faces:

- ``load_pretrained("study")``: the course study's network (three blocks of
  three convolutions, no BatchNorm) trained by the study's protocol: Keras'
  initialisation, pixels scaled to 0..1, Adam, batch 128, no augmentation,
  6 classes (Disgust merged into Angry), the model of epoch 32;
- ``load_pretrained("cnn")``: the default FERNet (BatchNorm, dropout,
  augmentation, SGD with Nesterov momentum and a one-cycle schedule,
  distilled from an ensemble), 7 classes, with flip averaging. Its
  probabilities are merged to the study's 6 classes
  (:meth:`~fer_sklearn.LabelMerger.merge_proba`).

Both are scored on the bundled sample (900 PublicTest faces, the split both
were validated on; the :doc:`performance page </performance>` has the
figures on all of PublicTest).
"""

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import recall_score

from fer_sklearn import LabelMerger, load_fer2013_sample, load_pretrained
from fer_sklearn.plotting import label_names

faces = load_fer2013_sample()
merge = LabelMerger().fit(np.arange(7))
y6 = merge.transform(faces.target)

predictions = {}
for name in ("study", "cnn"):
    clf = load_pretrained(name, engine="onnx")  # prediction only: the fast engine
    started = time.perf_counter()
    proba = clf.predict_proba(faces.data)
    seconds = time.perf_counter() - started
    if len(clf.classes_) == 7:
        proba = merge.merge_proba(proba, clf.classes_)
    predictions[name] = merge.classes_[proba.argmax(axis=1)]
    accuracy = np.mean(predictions[name] == y6)
    print(
        f"{name:6s} 6-class accuracy {accuracy:.1%}, "
        f"{len(y6) / seconds:.0f} faces/s"
    )

# %%
# Recall of each class: where the default network's gain comes from.
names = label_names(merge.classes_)
recalls = {
    name: recall_score(y6, predicted, labels=merge.classes_, average=None)
    for name, predicted in predictions.items()
}
fig, ax = plt.subplots(figsize=(7, 3.5))
width = 0.4
for k, (name, recall) in enumerate(recalls.items()):
    ax.bar(np.arange(6) + (k - 0.5) * width, recall, width, label=name)
ax.set_xticks(np.arange(6), names)
ax.set_ylabel("recall on the sample")
ax.set_ylim(0, 1)
ax.legend()
fig.tight_layout()
