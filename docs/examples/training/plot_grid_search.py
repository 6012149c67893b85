"""
Tuning with GridSearchCV: fine-tuning the shipped CNN
=====================================================

The classifiers are scikit-learn estimators, so ``GridSearchCV`` searches
their skorch parameters (``lr``, ``max_epochs``, ``module__*``) unchanged.
Training a CNN from scratch takes an hour here, too long for an example;
fine-tuning the shipped one takes seconds. The
:class:`~fer_sklearn.callbacks.InitFromPretrained` callback starts every
``fit`` from the shipped weights, so each clone that the search makes is
fine-tuned from the same start.

The question searched: how large a learning rate can fine-tuning take
before it forgets what the shipped network knows? The faces are the bundled
sample (900 PublicTest faces, 7 classes), cut into 3 stratified folds:
each score is measured on the fold the candidate did not train on. The
shipped weights were chosen on PublicTest, so these scores are not a test
figure (see the :doc:`performance page </performance>` for those).
"""

# %%
import matplotlib.pyplot as plt
import pandas as pd
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from fer_sklearn import FERCNNClassifier, load_fer2013_sample
from fer_sklearn.callbacks import InitFromPretrained

faces = load_fer2013_sample()
X, y = faces.data, faces.target

fine_tune = FERCNNClassifier(
    max_epochs=2,
    batch_size=64,
    random_state=0,
    callbacks=[("init", InitFromPretrained("cnn"))],
)
search = GridSearchCV(
    fine_tune,
    {"lr": [0.0, 1e-3, 1e-2, 1e-1]},
    cv=StratifiedKFold(3, shuffle=True, random_state=0),
    refit=False,
)
search.fit(X, y)
results = pd.DataFrame(search.cv_results_)
print(
    results[
        ["param_lr", "mean_test_score", "std_test_score", "mean_fit_time"]
    ].to_string(index=False)
)
print("best:", search.best_params_)

# %%
# ``lr=0`` keeps the shipped weights (only BatchNorm's running statistics
# follow the new faces): the starting point. Small rates keep what the
# network knows; at 0.1, the rate it was trained with from scratch, two
# epochs on 600 faces undo much of it.
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.errorbar(
    range(len(results)),
    results["mean_test_score"],
    yerr=results["std_test_score"],
    fmt="o-",
    capsize=4,
)
ax.set_xticks(range(len(results)), [f"{lr:g}" for lr in results["param_lr"]])
ax.set_xlabel("fine-tuning learning rate")
ax.set_ylabel("accuracy on the held-out fold")
ax.set_title("Fine-tuning the shipped CNN, 3-fold CV on the sample")
fig.tight_layout()
