"""
Quick start: the shipped CNN on the bundled sample
==================================================

Load the 900 FER2013 faces that ship with the package, load the pretrained
CNN (no download), and look at what it gets right and wrong.
"""

# %%
# Data and model
# --------------
# The sample is drawn from PublicTest, the split the shipped models were
# selected on: the figures below are validation figures.
from sklearn.metrics import classification_report

from fer_sklearn import load_fer2013_sample, load_pretrained
from fer_sklearn.plotting import plot_confusion_matrix, plot_predictions

faces = load_fer2013_sample()
# the shipped CNN on ONNX Runtime: the fast engine for prediction (int8,
# flip averaging inside the graph; load_pretrained("cnn") gives the torch model)
clf = load_pretrained("cnn", engine="onnx")
print(faces.images.shape, clf.classes_)

# %%
# Accuracy and per-class recall
# -----------------------------
predicted = clf.predict(faces.data)
print(
    classification_report(
        faces.target, predicted, target_names=faces.target_names
    )
)

# %%
# The confusion matrix
# --------------------
display = plot_confusion_matrix(faces.target, predicted, normalize="true")

# %%
# What it says about six faces
# ----------------------------
# Each face beside its probabilities; the title is the true label, blue
# where the prediction (the highlighted bar) is wrong.
fig = plot_predictions(faces.images[:6], clf.predict_proba(faces.data[:6]), faces.target[:6],
                       classes=clf.classes_, target_names=faces.target_names,
                       n_faces=6, n_cols=3)
# sphinx_gallery_thumbnail_number = 2
