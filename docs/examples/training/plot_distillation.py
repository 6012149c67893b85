"""
Knowledge distillation: a small network taught by the shipped ensemble
======================================================================

A classifier given a ``teacher`` learns from the teacher's probabilities as
well as from the labels: with ``w = distill_weight``, its loss is
``(1 - w) * cross-entropy + w * T² * KL(teacher_T || student_T)``
at temperature ``T = distill_temperature`` (Hinton et al., 2015). This is
how the shipped default CNN was made: one FERNet taught by
``load_pretrained("cnn-ensemble")``, twelve forward passes per face
distilled into two.

Here a small FERNet (width 8) learns from 600 faces of the bundled sample,
with and without the shipped ensemble as its teacher, and is scored on the
other 300 (the sample is drawn from PublicTest, which the ensemble never
trained on). The teacher's probabilities are computed once and passed to
``fit`` as ``teacher_proba``: GridSearchCV splits them with ``X``, fold by
fold, like any sample-aligned fit parameter.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.model_selection import (
    GridSearchCV,
    StratifiedKFold,
    train_test_split,
)

from fer_sklearn import FERCNNClassifier, load_fer2013_sample, load_pretrained

faces = load_fer2013_sample()
X_train, X_test, y_train, y_test = train_test_split(
    faces.data,
    faces.target,
    train_size=600,
    stratify=faces.target,
    random_state=0,
)

teacher = load_pretrained("cnn-ensemble")
teacher_proba = teacher.predict_proba(X_train)
print(
    f"teacher on the 300 held-out faces: {teacher.score(X_test, y_test):.1%}"
)

# %%
# The same student, trained with and without the teacher. ``random_state``
# fixes everything else: initial weights, batches, augmentation.
student = dict(module__width=8, max_epochs=15, lr=0.05, random_state=0)
scores = {}
for weight in (0.0, 0.5, 0.9):
    clf = FERCNNClassifier(**student, distill_weight=weight)
    clf.fit(X_train, y_train, teacher_proba=teacher_proba)
    scores[weight] = clf.score(X_test, y_test)
    print(
        f"distill_weight={weight}: {scores[weight]:.1%} on the held-out faces"
    )

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.bar(
    [f"w={w}" for w in scores],
    [100 * s for s in scores.values()],
    color="tab:blue",
)
ax.axhline(
    100 * teacher.score(X_test, y_test),
    color="black",
    ls="--",
    label="teacher",
)
ax.set_ylabel("held-out accuracy (%)")
ax.set_title("A width-8 FERNet on 600 faces, with and without the teacher")
ax.legend(loc="lower right")
fig.tight_layout()

# %%
# The distillation settings are ordinary parameters: a grid search over
# them, with the teacher's probabilities split fold by fold.
search = GridSearchCV(
    FERCNNClassifier(**student),
    {"distill_weight": [0.5, 0.9], "distill_temperature": [1.0, 3.0]},
    cv=StratifiedKFold(2, shuffle=True, random_state=0),
)
search.fit(X_train, y_train, teacher_proba=teacher_proba)
results = pd.DataFrame(search.cv_results_)[["params", "mean_test_score"]]
print(results.to_string(index=False))

# %%
# A fitted teacher can also be passed as ``teacher=``; wrap it in
# :class:`sklearn.frozen.FrozenEstimator` so that ``clone`` (inside
# GridSearchCV or ``cross_val_score``) keeps it fitted, or give the name of a
# shipped model (``teacher="cnn-ensemble"``), which is loaded inside ``fit``.
# The probabilities are then computed in ``fit``, once per call.
from sklearn.frozen import FrozenEstimator  # noqa: E402

clf = FERCNNClassifier(
    **student, teacher=FrozenEstimator(teacher), distill_weight=0.9
)
clf.fit(X_train, y_train)
print(f"teacher=FrozenEstimator(...): {clf.score(X_test, y_test):.1%}")
print(np.isclose(clf.score(X_test, y_test), scores[0.9]))
