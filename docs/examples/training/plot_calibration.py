"""
What a probability means: calibration
=====================================

A model is calibrated when, among the faces it gives a probability of 0.8,
about 80% are right. The shipped models carry a ``temperature`` fitted on
PublicTest that makes their probabilities so: one number, or (for the
shipped ``cnn``) a curve ``(a, b, d)`` that gives each face
``T = exp(a + b*c + d*c**2)`` at its top probability ``c``, because the
network, trained with label smoothing, is too unsure of its surest faces
and about right in the middle. ``temperature=1`` gives the raw
probabilities back. The labels are the same either way.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.calibration import CalibratedClassifierCV, CalibrationDisplay
from sklearn.frozen import FrozenEstimator

from fer_sklearn import load_fer2013_sample, load_pretrained

faces = load_fer2013_sample()
shipped = load_pretrained("cnn")                    # its fitted temperature
torch_raw = load_pretrained("cnn", temperature=1.0)  # the network's own
print("shipped temperature:", shipped.temperature)

proba = {"temperature 1 (raw)": torch_raw.predict_proba(faces.data),
         "shipped temperature": shipped.predict_proba(faces.data)}
for name, p in proba.items():
    right = shipped.classes_[p.argmax(axis=1)] == faces.target
    print(f"{name}: mean top probability {p.max(axis=1).mean():.3f}, "
          f"accuracy {right.mean():.3f}")

# %%
# Top-label reliability on the 900 sample faces (PublicTest, the split the
# temperature was fitted on: the two-fold figures on the performance page
# are the fair ones).
fig, ax = plt.subplots(figsize=(5, 4.5))
for name, p in proba.items():
    right = shipped.classes_[p.argmax(axis=1)] == faces.target
    CalibrationDisplay.from_predictions(right, p.max(axis=1), n_bins=10, name=name, ax=ax)
ax.set_xlabel("top probability")
ax.set_ylabel("share of faces right")
ax.set_title("shipped cnn on the bundled sample")
fig.tight_layout()

# %%
# A model of your own: scikit-learn's temperature scaling around the frozen,
# fitted model, on faces it was not trained on (here half of the sample),
# then the temperature copied into the model.
calibrate, held_out = np.arange(0, 900, 2), np.arange(1, 900, 2)
calibrated = CalibratedClassifierCV(FrozenEstimator(torch_raw), method="temperature")
calibrated.fit(faces.data[calibrate], faces.target[calibrate])
temperature = 1 / calibrated.calibrated_classifiers_[0].calibrators[0].beta_
print(f"temperature fitted on 450 faces: {temperature:.3f}")
mine = load_pretrained("cnn", temperature=temperature)
same = np.array_equal(mine.predict(faces.data), torch_raw.predict(faces.data))
print("labels unchanged:", same)
