import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from sklearn.metrics import ConfusionMatrixDisplay  # noqa: E402

from fer_sklearn import FERCNNClassifier, load_fer2013_sample, plotting  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def sample():
    return load_fer2013_sample()


def test_plot_faces(sample):
    fig = plotting.plot_faces(sample.images[:10], sample.target[:10], n_cols=4)
    axes = fig.get_axes()
    assert len(axes) == 12  # 3 rows of 4, the last two blank
    drawn = [ax for ax in axes if ax.get_images()]
    assert len(drawn) == 10
    assert [ax.get_title() for ax in drawn] == [sample.target_names[t] for t in sample.target[:10]]
    np.testing.assert_array_equal(drawn[0].get_images()[0].get_array(), sample.images[0])


def test_plot_label_distribution(sample):
    ax = plotting.plot_label_distribution(
        sample.target, sample.target[:100], names=["all", "first 100"]
    )
    assert len(ax.patches) == 14
    assert [t.get_text() for t in ax.get_xticklabels()] == list(sample.target_names)
    heights = [p.get_height() for p in ax.patches[:7]]
    assert heights == np.bincount(sample.target).tolist()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["all", "first 100"]


def test_plot_history(sample):
    from skorch.dataset import ValidSplit

    clf = FERCNNClassifier(max_epochs=2, module__width=4, random_state=0,
                           train_split=ValidSplit(4, stratified=True))
    clf.fit(sample.data[:120], sample.target[:120])
    fig = plotting.plot_history(clf)
    ax_acc, ax_loss = fig.get_axes()
    assert ax_acc.get_title() == "Accuracy" and ax_loss.get_title() == "Loss"
    assert [len(line.get_xdata()) for line in ax_acc.get_lines()] == [2, 2]
    np.testing.assert_allclose(ax_loss.get_lines()[1].get_ydata(), clf.history[:, "valid_loss"])
    labels = [t.get_text() for t in ax_acc.get_legend().get_texts()]
    assert labels == ["training", "validation"]


def test_plot_predictions_colours(sample):
    proba = np.zeros((4, 7))
    proba[[0, 1, 2, 3], [0, 3, 3, 6]] = 1  # right, right, wrong, right
    y_true = np.array([0, 3, 5, 6])
    fig = plotting.plot_predictions(sample.images[:4], proba, y_true, n_cols=2)
    axes = fig.get_axes()
    assert len(axes) == 8
    faces = [ax for ax in axes if ax.get_images()]
    colours = [to_rgba(ax.title.get_color()) for ax in faces]
    black, blue = to_rgba("black"), to_rgba("tab:blue")
    assert colours == [black, black, blue, black]
    assert [ax.get_title() for ax in faces] == ["angry", "happy", "surprise", "neutral"]
    bar_axes = [ax for ax in axes if ax.patches]
    assert all(len(ax.patches) == 7 for ax in bar_axes)
    assert to_rgba(bar_axes[2].patches[3].get_facecolor()) == blue


def test_plot_label_counts():
    ax = plotting.plot_label_counts(np.array([0, 0, 3, 3, 3]), np.array([0, 3, 3, 3, 3]))
    assert [p.get_height() for p in ax.patches] == [2, 3, 1, 4]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["angry", "happy"]


def test_plot_confusion_matrix():
    y_true = np.array([0, 2, 3, 3, 6])
    y_pred = np.array([0, 3, 3, 3, 6])
    display = plotting.plot_confusion_matrix(y_true, y_pred, labels=[0, 2, 3, 4, 5, 6])
    assert isinstance(display, ConfusionMatrixDisplay)
    assert display.confusion_matrix.shape == (6, 6)
    assert [t.get_text() for t in display.ax_.get_xticklabels()] == [
        "angry", "fear", "happy", "sad", "surprise", "neutral"]
    normalised = plotting.plot_confusion_matrix(y_true, y_pred, normalize="true")
    np.testing.assert_allclose(normalised.confusion_matrix.sum(axis=1), 1)


def test_draws_into_given_axes(sample):
    fig, ax = plt.subplots()
    assert plotting.plot_label_distribution(sample.target, ax=ax) is ax
    assert plotting.plot_confusion_matrix([0, 1], [0, 1], ax=ax).ax_ is ax
