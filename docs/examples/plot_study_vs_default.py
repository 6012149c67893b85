"""
The study's CNN against the default CNN
=======================================

The study's network (``module="study"``: three blocks of three convolutions,
no BatchNorm, Adam, no augmentation) and the default ``FERNet`` (BatchNorm,
dropout, augmentation, SGD with Nesterov momentum and a cosine schedule),
trained briefly on the same 600 faces and scored on the other 300.

This short run only shows the API. The full runs, on all Training rows, are
in the :doc:`performance page </performance>`.
"""

# %%
import time

import torch

from fer_sklearn import FERCNNClassifier, LabelMerger, load_fer2013_sample

faces = load_fer2013_sample()
y = LabelMerger().fit_transform(faces.target)
train, test = slice(0, 600), slice(600, None)

models = {
    "study CNN": FERCNNClassifier(
        module="study",
        optimizer=torch.optim.Adam,
        lr=1e-3,
        lr_schedule=None,
        batch_size=128,
        augment_shift=0,
        augment_rotation=0,
        augment_zoom=0,
        augment_flip=False,
        max_epochs=4,
        random_state=0,
    ),
    "default CNN (narrow)": FERCNNClassifier(
        module__width=16, max_epochs=4, random_state=0
    ),
}
for name, clf in models.items():
    started = time.perf_counter()
    clf.fit(faces.data[train], y[train])
    print(
        f"{name:22s} {time.perf_counter() - started:5.1f} s, "
        f"held-out accuracy {clf.score(faces.data[test], y[test]):.3f}"
    )
