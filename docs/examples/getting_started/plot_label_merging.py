"""
Merging Disgust into Angry
==========================

Disgust is 1.5% of FER2013. The classic protocol merges it into Angry and
reports 6-class accuracy. :class:`~fer_sklearn.LabelMerger` merges labels
(codes or names) and the probability columns of a 7-class model.
"""

# %%
import numpy as np
from sklearn.metrics import accuracy_score

from fer_sklearn import LabelMerger, load_fer2013_sample, load_pretrained
from fer_sklearn.plotting import plot_label_distribution

faces = load_fer2013_sample()
merge = LabelMerger().fit(faces.target)
y6 = merge.transform(faces.target)
print("classes before:", merge.input_classes_, "after:", merge.classes_)

# %%
# Names work the same way
names = faces.target_names[faces.target]
print(LabelMerger().fit_transform(names)[:8])

# %%
# A 7-class model scored on 6 classes: merge its probabilities
clf = load_pretrained("cnn", engine="onnx")
proba6 = merge.merge_proba(clf.predict_proba(faces.data), classes=clf.classes_)
print(f"7-class accuracy: {clf.score(faces.data, faces.target):.3f}")
predicted6 = merge.classes_[proba6.argmax(1)]
print(f"6-class accuracy: {accuracy_score(y6, predicted6):.3f}")

# %%
ax = plot_label_distribution(faces.target, names=["7 classes"])
ax = plot_label_distribution(y6, names=["6 classes"])
