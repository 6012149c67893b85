"""
Tuning with GridSearchCV
========================

The classifiers are scikit-learn estimators: grids over skorch parameters
(``lr``) and network parameters (``module__width``) work unchanged. A small
subset and two epochs keep this example short; real searches train longer.
"""

# %%
import pandas as pd
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from fer_sklearn import FERCNNClassifier, LabelMerger, load_fer2013_sample

faces = load_fer2013_sample()
X, y = faces.data[:400], LabelMerger().fit_transform(faces.target[:400])

search = GridSearchCV(
    FERCNNClassifier(max_epochs=2, random_state=0),
    {"lr": [0.01, 0.05], "module__width": [8, 16]},
    cv=StratifiedKFold(2, shuffle=True, random_state=0),
)
search.fit(X, y)
results = pd.DataFrame(search.cv_results_)[["params", "mean_test_score", "mean_fit_time"]]
print(results.to_string(index=False))
print("best:", search.best_params_)
