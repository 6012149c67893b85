"""The course study's six figures, and emotions over time, as matplotlib functions.

Each function draws into the ``ax`` (or ``fig``) it is given, or a new one,
returns what it drew, and never calls ``plt.show()``. Labels that are
FER2013 int codes (0..6) are shown by their emotion names.
"""

import numpy as np

from ._labels import TABLE_COLUMNS, label_names
from ._validation import check_images

__all__ = [
    "plot_faces",
    "plot_label_distribution",
    "plot_history",
    "plot_predictions",
    "plot_label_counts",
    "plot_confusion_matrix",
    "plot_emotion_timeline",
]

RIGHT_COLOUR = "black"
WRONG_COLOUR = "tab:blue"


def _pyplot():
    import matplotlib.pyplot as plt

    return plt


def _images(images):
    return check_images(images, name="images")[:, 0]


def plot_faces(images, labels=None, *, target_names=None, n_cols=8, max_faces=32,
               fig=None):
    """A grid of faces, optionally titled with their labels.

    Parameters
    ----------
    images : array-like of shape (n, 2304), (n, 48, 48) or (n, 1, 48, 48)
    labels : array-like of shape (n,), default=None
        Shown as titles (emotion names for FER2013 codes).
    target_names : sequence of str, default=None
        Names of int labels, if they are not FER2013's codes.
    n_cols : int, default=8
    max_faces : int, default=32
        At most this many faces are drawn, the first ones.
    fig : matplotlib Figure, default=None

    Returns
    -------
    matplotlib.figure.Figure
    """
    faces = _images(images)[:max_faces]
    n_rows = int(np.ceil(len(faces) / n_cols))
    fig = fig or _pyplot().figure(figsize=(1.4 * n_cols, 1.6 * n_rows))
    names = None if labels is None else label_names(labels, target_names)
    axes = fig.subplots(n_rows, n_cols, squeeze=False).ravel()
    for i, ax in enumerate(axes):
        ax.axis("off")
        if i < len(faces):
            ax.imshow(faces[i], cmap="gray", vmin=0, vmax=faces.max() or 1)
            if names is not None:
                ax.set_title(names[i], fontsize=9)
    return fig


def plot_label_distribution(*label_arrays, names=None, target_names=None, ax=None):
    """Class counts of one or more label arrays, side by side.

    Parameters
    ----------
    *label_arrays : array-like of shape (n_i,)
        e.g. the Training and PublicTest targets.
    names : sequence of str, default=None
        Legend entries, one per array.
    target_names : sequence of str, default=None
        Names of the classes (FER2013 emotions for int codes 0..6).
    ax : matplotlib Axes, default=None

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = ax or _pyplot().figure(figsize=(8, 4)).subplots()
    arrays = [np.asarray(a) for a in label_arrays]
    classes = np.unique(np.concatenate(arrays))
    width = 0.8 / len(arrays)
    positions = np.arange(len(classes))
    for i, labels in enumerate(arrays):
        counts = [(labels == c).sum() for c in classes]
        label = names[i] if names is not None else None
        ax.bar(positions + (i - (len(arrays) - 1) / 2) * width, counts, width, label=label)
    ax.set_xticks(positions, label_names(classes, target_names))
    ax.set_ylabel("faces")
    ax.set_title("Label distribution")
    if names is not None:
        ax.legend()
    return ax


def plot_history(history, *, fig=None):
    """Training and validation accuracy and loss per epoch.

    Parameters
    ----------
    history : fitted classifier or skorch History
        Validation curves appear when the classifier was fitted with a
        ``train_split``.
    fig : matplotlib Figure, default=None

    Returns
    -------
    matplotlib.figure.Figure
        With two axes: accuracy, then loss.
    """
    history = getattr(history, "history", history)
    fig = fig or _pyplot().figure(figsize=(10, 4))
    ax_acc, ax_loss = fig.subplots(1, 2)
    epochs = history[:, "epoch"]
    for ax, metric, title in ((ax_acc, "acc", "Accuracy"), (ax_loss, "loss", "Loss")):
        for prefix, style, label in (("train", "-o", "training"),
                                     ("valid", "-s", "validation")):
            key = f"{prefix}_{metric}"
            if all(key in row for row in history):
                ax.plot(epochs, history[:, key], style, label=label)
        ax.set_xlabel("epoch")
        ax.set_title(title)
        if ax.get_lines():
            ax.legend()
    return fig


def plot_predictions(images, proba, y_true, *, classes=None, target_names=None,
                     n_faces=36, n_cols=6, fig=None):
    """Faces, each beside its softmax bar chart.

    The title is the true label: black when the prediction (the tallest
    bar) is right, blue when it is wrong; the predicted bar is highlighted.

    Parameters
    ----------
    images : array-like of face images
    proba : array-like of shape (n, n_classes)
        ``predict_proba`` output.
    y_true : array-like of shape (n,)
    classes : array-like of shape (n_classes,), default=None
        Labels of the columns of ``proba`` (a classifier's ``classes_``);
        default ``0..n_classes-1``.
    target_names : sequence of str, default=None
    n_faces : int, default=36
    n_cols : int, default=6
        Face-and-chart pairs per row.
    fig : matplotlib Figure, default=None

    Returns
    -------
    matplotlib.figure.Figure
    """
    faces = _images(images)[:n_faces]
    proba = np.asarray(proba)[: len(faces)]
    y_true = np.asarray(y_true)[: len(faces)]
    classes = np.arange(proba.shape[1]) if classes is None else np.asarray(classes)
    predicted = classes[proba.argmax(axis=1)]
    names = label_names(classes, target_names)
    true_names = label_names(y_true, target_names)
    n_rows = int(np.ceil(len(faces) / n_cols))
    fig = fig or _pyplot().figure(figsize=(3.2 * n_cols, 1.7 * n_rows))
    axes = fig.subplots(n_rows, 2 * n_cols, squeeze=False,
                        gridspec_kw={"width_ratios": [1, 1.3] * n_cols})
    for i in range(n_rows * n_cols):
        face_ax, bar_ax = axes[i // n_cols, 2 * (i % n_cols)], axes[i // n_cols, 2 * (i % n_cols) + 1]
        face_ax.axis("off")
        if i >= len(faces):
            bar_ax.axis("off")
            continue
        right = predicted[i] == y_true[i]
        colour = RIGHT_COLOUR if right else WRONG_COLOUR
        face_ax.imshow(faces[i], cmap="gray")
        face_ax.set_title(true_names[i], color=colour, fontsize=9)
        bars = bar_ax.bar(np.arange(len(classes)), proba[i], color="lightgrey")
        bars[int(proba[i].argmax())].set_color(colour)
        bar_ax.set_ylim(0, 1)
        bar_ax.set_xticks(np.arange(len(classes)), [n[:3] for n in names], fontsize=6,
                          rotation=90)
        bar_ax.set_yticks([])
    return fig


def plot_label_counts(y_true, y_pred, *, target_names=None, ax=None):
    """True and predicted counts per class, side by side.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = plot_label_distribution(
        y_true, y_pred, names=["true", "predicted"], target_names=target_names, ax=ax
    )
    ax.set_title("True vs predicted labels")
    return ax


def plot_confusion_matrix(y_true, y_pred, *, labels=None, target_names=None,
                          normalize=None, ax=None):
    """The confusion matrix, drawn by scikit-learn's ``ConfusionMatrixDisplay``.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
    labels : array-like, default=None
        Classes to show, in order (default: every label present).
    target_names : sequence of str, default=None
        Display names (FER2013 emotions for int codes 0..6).
    normalize : {"true", "pred", "all"} or None, default=None
        As in :func:`sklearn.metrics.confusion_matrix`.
    ax : matplotlib Axes, default=None

    Returns
    -------
    sklearn.metrics.ConfusionMatrixDisplay
    """
    from sklearn.metrics import ConfusionMatrixDisplay

    if labels is None:
        labels = np.unique(np.concatenate([np.asarray(y_true), np.asarray(y_pred)]))
    display = ConfusionMatrixDisplay.from_predictions(
        y_true,
        y_pred,
        labels=labels,
        display_labels=label_names(np.asarray(labels), target_names),
        normalize=normalize,
        values_format=".2f" if normalize else "d",
        cmap="Blues",
        ax=ax,
        colorbar=False,
    )
    display.ax_.set_title("Confusion matrix")
    return display


def plot_emotion_timeline(table, *, face=None, source=None, ax=None):
    """Each emotion's probability over time for one face of a video.

    Parameters
    ----------
    table : pandas.DataFrame
        What :func:`fer_sklearn.analyze` returns for a video.
    face : int, optional
        The face id to draw; by default the face seen in most frames.
    source : str, optional
        The video, where ``table`` holds several; by default the first.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        Time (seconds; the frame number where the video records no frame
        rate) on x, probability on y, one line per emotion.
    """
    emotions = [column for column in table.columns if column not in TABLE_COLUMNS]
    if not len(table) or not emotions:
        raise ValueError("table holds no faces: expected the rows of analyze() on a video.")
    rows = table[table["source"] == (table["source"].iloc[0] if source is None else source)]
    if face is None:
        face = rows["face"].value_counts().idxmax()
    rows = rows[rows["face"] == face].sort_values("frame")
    if not len(rows):
        raise ValueError(f"no rows for face {face!r}; the faces are {sorted(table['face'].unique())}.")
    timed = rows["time"].notna().all()
    x = rows["time"] if timed else rows["frame"]
    if ax is None:
        _, ax = _pyplot().subplots(figsize=(8, 3.5))
    for emotion in emotions:
        ax.plot(x, rows[emotion], label=emotion, marker="." if len(rows) < 60 else None)
    ax.set_xlabel("time (s)" if timed else "frame")
    ax.set_ylabel("probability")
    ax.set_ylim(0, 1)
    ax.set_title(f"face {face} of {rows['source'].iloc[0]}")
    ax.legend(loc="upper right", ncol=len(emotions) // 2 + 1, fontsize="small")
    return ax
