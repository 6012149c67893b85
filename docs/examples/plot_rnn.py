"""
The recurrent alternative: FERRNNClassifier
===========================================

``FERRNNClassifier`` reads each face as a sequence of 48-pixel rows with a
bidirectional GRU, and with ``module__sweeps=2`` also as a sequence of
columns. No convolution is involved.
"""

# %%
from fer_sklearn import FERRNNClassifier, load_fer2013_sample, load_pretrained
from fer_sklearn.plotting import plot_confusion_matrix

faces = load_fer2013_sample()
for name in ("cnn", "rnn"):
    print(f"shipped {name}: accuracy on the sample {load_pretrained(name).score(faces.data, faces.target):.3f}")

# %%
# A small RNN trained briefly: rows only against rows and columns
for sweeps in (1, 2):
    rnn = FERRNNClassifier(max_epochs=3, module__hidden_size=32, module__num_layers=1,
                           module__sweeps=sweeps, random_state=0)
    rnn.fit(faces.data[:600], faces.target[:600])
    print(f"sweeps={sweeps}: held-out accuracy {rnn.score(faces.data[600:], faces.target[600:]):.3f}")

# %%
display = plot_confusion_matrix(faces.target, load_pretrained("rnn").predict(faces.data),
                                normalize="true")
