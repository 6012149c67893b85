"""
The recurrent alternative: FERRNNClassifier
===========================================

``FERRNNClassifier`` classifies faces with recurrent layers only. Its
default network, ``ReNet``, cuts the face into blocks and runs a
bidirectional GRU along every row of blocks, then along every column, three
times over (48x48 to 12x12, 6x6, 3x3); ``module="rnn"`` (``RowRNN``) reads
whole 48-pixel rows, and with ``module__sweeps=2`` also columns. No
convolution is involved in either.
"""

# %%
# The shipped RNN beside the shipped CNN
# --------------------------------------
# Both on the 900 bundled PublicTest faces (validation: the split they
# were selected on), each on its default engine: recall per emotion.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import recall_score

from fer_sklearn import FERRNNClassifier, load_fer2013_sample, load_pretrained, pretrained_info
from fer_sklearn.plotting import plot_confusion_matrix

faces = load_fer2013_sample()
print("shipped rnn: teacher", pretrained_info("rnn").get("teacher", "none"))
recalls = {}
for name in ("cnn", "rnn"):
    predicted = load_pretrained(name, engine="onnx").predict(faces.data)
    recalls[name] = recall_score(faces.target, predicted, average=None)
    print(f"shipped {name}: accuracy on the sample {np.mean(predicted == faces.target):.3f}")

fig, ax = plt.subplots(figsize=(6, 3.2))
positions = np.arange(len(faces.target_names))
for offset, (name, recall) in zip((-0.2, 0.2), recalls.items()):
    ax.bar(positions + offset, recall, width=0.4, label=name)
ax.set_xticks(positions, faces.target_names)
ax.set_ylabel("recall")
ax.set_ylim(0, 1)
ax.legend()
ax.set_title("recall per emotion, bundled sample")
fig.tight_layout()

# %%
# Small recurrent networks trained briefly on 600 sample faces, scored on
# the other 300: whole rows (and columns) against ReNet's block sweeps. Far
# too little data for either to learn much; the shipped model above is
# trained on all 28,709 Training faces.
candidates = {
    "RowRNN, rows only": dict(
        module="rnn", module__hidden_size=32, module__sweeps=1
    ),
    "RowRNN, rows and columns": dict(
        module="rnn", module__hidden_size=32, module__sweeps=2
    ),
    "ReNet, 2 layers": dict(module__hidden_sizes=(32, 48)),
}
for label, params in candidates.items():
    rnn = FERRNNClassifier(max_epochs=3, random_state=0, **params)
    rnn.fit(faces.data[:600], faces.target[:600])
    score = rnn.score(faces.data[600:], faces.target[600:])
    print(f"{label}: held-out accuracy {score:.3f}")

# %%
# The shipped RNN's confusion matrix on the sample
display = plot_confusion_matrix(
    faces.target, load_pretrained("rnn", engine="onnx").predict(faces.data), normalize="true"
)
# sphinx_gallery_thumbnail_number = 1
