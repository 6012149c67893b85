"""Sphinx inventories of the outside names the docs link to.

The docs build runs without a network, so intersphinx cannot fetch the
projects' own ``objects.inv``. This table holds, per project, the names
these docs cross-reference and where each project's documentation puts
them (its URL scheme); ``conf.py`` writes them as intersphinx inventories
(version 2) at build time. A name missing here is a broken link, and the
nitpicky build (``-n -W``) fails on it: add it to its project.

With a network, ``FER_DOCS_ONLINE_INVENTORIES=1`` makes ``conf.py`` fetch
the projects' real inventories instead.
"""

import zlib
from pathlib import Path

#: project -> (documentation root, {role: {name: page (relative to the root)}})
#: a page ending in "#" gets the name appended as its anchor
PROJECTS = {
    "python": ("https://docs.python.org/3/", {
        "py:class": {
            "pathlib.Path": "library/pathlib.html#",
            "dict": "library/stdtypes.html#",
            "str": "library/stdtypes.html#",
            "int": "library/functions.html#",
            "float": "library/functions.html#",
            "bool": "library/functions.html#",
            "list": "library/stdtypes.html#",
            "tuple": "library/stdtypes.html#",
        },
        "py:exception": {
            "ValueError": "library/exceptions.html#",
            "OSError": "library/exceptions.html#",
            "TypeError": "library/exceptions.html#",
            "FileNotFoundError": "library/exceptions.html#",
        },
        "py:function": {
            "open": "library/functions.html#",
        },
    }),
    "numpy": ("https://numpy.org/doc/stable/", {
        "py:class": {
            "numpy.ndarray": "reference/generated/numpy.ndarray.html#",
        },
        "py:data": {
            "numpy.nan": "reference/constants.html#",
        },
    }),
    "sklearn": ("https://scikit-learn.org/stable/", {
        "py:class": {
            name: f"modules/generated/{name}.html#" for name in (
                "sklearn.utils.Bunch",
                "sklearn.preprocessing.LabelEncoder",
                "sklearn.frozen.FrozenEstimator",
                "sklearn.pipeline.Pipeline",
                "sklearn.model_selection.GridSearchCV",
                "sklearn.metrics.ConfusionMatrixDisplay",
                "sklearn.base.BaseEstimator",
                "sklearn.base.ClassifierMixin",
                "sklearn.calibration.CalibratedClassifierCV",
                "sklearn.calibration.CalibrationDisplay",
            )
        },
        "py:function": {
            name: f"modules/generated/{name}.html#" for name in (
                "sklearn.metrics.confusion_matrix",
                "sklearn.metrics.accuracy_score",
                "sklearn.metrics.classification_report",
                "sklearn.model_selection.cross_val_score",
                "sklearn.base.clone",
            )
        },
    }),
    "skorch": ("https://skorch.readthedocs.io/en/stable/", {
        "py:class": {
            "skorch.NeuralNet": "net.html#skorch.net.NeuralNet",
            "skorch.net.NeuralNet": "net.html#",
            "skorch.NeuralNetClassifier": "classifier.html#skorch.classifier.NeuralNetClassifier",
            "skorch.classifier.NeuralNetClassifier": "classifier.html#",
            "skorch.callbacks.Callback": "callbacks.html#",
            "skorch.callbacks.Checkpoint": "callbacks.html#",
            "skorch.callbacks.EpochScoring": "callbacks.html#",
            "skorch.callbacks.GradientNormClipping": "callbacks.html#",
            "skorch.callbacks.LRScheduler": "callbacks.html#",
            "skorch.callbacks.ProgressBar": "callbacks.html#",
            "skorch.dataset.Dataset": "dataset.html#",
            "skorch.dataset.ValidSplit": "dataset.html#",
            "skorch.history.History": "history.html#",
        },
        "py:function": {
            "skorch.helper.predefined_split": "helper.html#",
        },
    }),
    "torch": ("https://docs.pytorch.org/docs/stable/", {
        "py:class": {
            name: f"generated/{name}.html#" for name in (
                "torch.nn.Module",
                "torch.nn.CrossEntropyLoss",
                "torch.optim.SGD",
                "torch.optim.Adam",
                "torch.optim.AdamW",
                "torch.optim.lr_scheduler.OneCycleLR",
                "torch.Tensor",
            )
        },
        "py:function": {
            "torch.load": "generated/torch.load.html#",
            "torch.save": "generated/torch.save.html#",
            "torch.onnx.export": "onnx_export.html#",
        },
    }),
    "matplotlib": ("https://matplotlib.org/stable/", {
        "py:class": {
            "matplotlib.axes.Axes": "api/_as_gen/matplotlib.axes.Axes.html#",
            "matplotlib.figure.Figure": "api/_as_gen/matplotlib.figure.Figure.html#",
        },
    }),
    "pandas": ("https://pandas.pydata.org/docs/", {
        "py:class": {
            "pandas.DataFrame": "reference/api/pandas.DataFrame.html#",
        },
    }),
}


def write_inventories(folder):
    """Write ``<project>.inv`` for each project into ``folder``; return
    intersphinx's mapping {project: (root, inventory path)}."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    mapping = {}
    for project, (root, roles) in PROJECTS.items():
        lines = []
        for role, names in roles.items():
            for name, page in sorted(names.items()):
                uri = page + name if page.endswith("#") else page
                lines.append(f"{name} {role} 1 {uri} -\n")
        header = (
            "# Sphinx inventory version 2\n"
            f"# Project: {project}\n"
            "# Version: stable\n"
            "# The remainder of this file is compressed using zlib.\n"
        )
        path = folder / f"{project}.inv"
        path.write_bytes(header.encode() + zlib.compress("".join(lines).encode()))
        mapping[project] = (root, str(path))
    return mapping
