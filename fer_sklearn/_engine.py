"""``ONNXClassifier``: a FER classifier's network run by ONNX Runtime.

Two engines, one model: torch (through skorch) trains, ONNX Runtime
predicts. This estimator holds a fitted network's graph (normalisation and
flip averaging inside it, int8 where asked) and predicts with it, without
importing torch. It is made from a fitted :class:`FERCNNClassifier` or
:class:`FERRNNClassifier` (:meth:`ONNXClassifier.from_estimator`), by
:func:`load_pretrained` with ``engine="onnx"``, or by its own ``fit``, which
trains its ``estimator`` with torch and converts the result.
"""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import check_is_fitted

from ._runtime import FaceGraph, read_shipped_graph
from ._validation import (check_images, check_labels, check_pixel_scale, check_tta,
                          check_whole_number)

__all__ = ["ONNXClassifier"]

_QUANTIZE = ("int8", None)


class ONNXClassifier(ClassifierMixin, BaseEstimator):
    """A fitted FER network run by ONNX Runtime: the fast engine for prediction.

    Predicts exactly as the torch classifier it was made from (the same
    ``classes_``, labels of the same kind, the same probabilities within
    float tolerance in float32; int8 agrees on at least 99% of the labels
    of the bundled sample), 3-4x faster on a CPU, and imports no torch.
    ``predict``, ``predict_proba`` and ``score`` work as for any scikit-learn
    classifier, in a ``Pipeline``, with ``confusion_matrix``, pickled, and
    in ``cross_val_score`` as a fitted model through
    :class:`sklearn.frozen.FrozenEstimator`.

    Three ways to get one:

    - ``load_pretrained(name, engine="onnx")``: a shipped model's graph,
      shipped in the wheel and sha256-checked;
    - ``ONNXClassifier.from_estimator(fitted, calibration=X_train[:512])``:
      a fitted torch classifier converted (needs torch and ``onnx``);
    - ``ONNXClassifier(FERCNNClassifier(...)).fit(X, y)``: trains the
      estimator with torch, then converts it, calibrating int8 on a sample
      of ``X`` (so that ``GridSearchCV`` and ``clone`` work on it too).

    Parameters
    ----------
    estimator : FERCNNClassifier or FERRNNClassifier, default=None
        What ``fit`` trains (a clone of it); needed by ``fit`` only (None for
        a shipped model's graph).
    quantize : {"int8", None}, default="int8"
        ``"int8"``: static int8 quantization of the graph (weights per
        channel, activations calibrated on training faces); ``None`` keeps
        float32, equal to torch's probabilities within 1e-5.
    calibration_size : int, default=512
        In ``fit``, with ``quantize="int8"``: how many training faces (a
        random sample of ``X``, drawn with ``random_state``) measure the
        activations' ranges. One forward pass of each (both views): about a
        second for 512 faces through FERNet on 2 CPU threads. 512 kept the
        accuracy of the shipped models (the performance page).
    tta : bool or None, default=None
        Average each face with its mirror image (inside the graph). None
        follows the estimator's ``tta`` (shipped models: their default).
    batch_size : int, default=64
        Faces per run of the graph.
    n_threads : int or None, default=None
        ONNX Runtime's threads; None uses as many as torch would (torch's
        own count where torch is loaded, else ``$OMP_NUM_THREADS``, else the
        CPUs this process may use). Its threads sleep between runs.
    random_state : int, default=0
        Draws the calibration sample in ``fit``.

    Attributes
    ----------
    classes_ : ndarray
        The labels, as the torch classifier's ``classes_``.
    graph_ : bytes
        The ONNX model (inputs ``pixels`` and ``columns``, output
        ``probabilities``; see ``fer_sklearn._runtime``).
    dtype_ : {"int8", "float32"}
        How the graph's weights are stored.
    default_tta_ : bool
        The ``tta`` that ``tta=None`` means: the torch classifier's.
    pixel_mean_, pixel_std_ : float
        The normalisation inside the graph (the training pixels' scale).
    n_features_in_ : int
        2304.
    estimator_ : FERCNNClassifier or FERRNNClassifier
        The torch classifier the graph was made from (absent for shipped
        models loaded with ``engine="onnx"``: load ``engine="torch"`` for it).

    See Also
    --------
    load_pretrained : shipped models, ``engine="onnx"`` or ``"torch"``.
    export_onnx : write a classifier's graph to a file.
    FERCNNClassifier, FERRNNClassifier : the torch classifiers it converts.

    Examples
    --------
    >>> from fer_sklearn import load_fer2013_sample, load_pretrained
    >>> faces = load_fer2013_sample()
    >>> fast = load_pretrained("cnn", engine="onnx")
    >>> fast.predict(faces.data[:3]).shape
    (3,)
    >>> float(fast.score(faces.data, faces.target)) > 0.65
    True
    """

    def __init__(self, estimator=None, *, quantize="int8", calibration_size=512, tta=None,
                 batch_size=64, n_threads=None, random_state=0):
        self.estimator = estimator
        self.quantize = quantize
        self.calibration_size = calibration_size
        self.tta = tta
        self.batch_size = batch_size
        self.n_threads = n_threads
        self.random_state = random_state

    # -- construction ---------------------------------------------------------

    def _check_params(self):
        if self.quantize not in _QUANTIZE:
            raise ValueError(f"quantize must be 'int8' or None; got {self.quantize!r}.")
        if self.tta is not None:
            check_tta(self.tta)
        check_whole_number(self.calibration_size, "calibration_size")
        check_whole_number(self.batch_size, "batch_size")
        if self.n_threads is not None:
            check_whole_number(self.n_threads, "n_threads")

    def _set_graph(self, graph, classes, pixel_mean, pixel_std, dtype, default_tta):
        self.graph_ = bytes(graph)
        self.classes_ = np.asarray(classes)
        self.pixel_mean_, self.pixel_std_ = float(pixel_mean), float(pixel_std)
        self.dtype_ = dtype
        self.default_tta_ = bool(default_tta)
        self.n_features_in_ = 48 * 48
        self._runner = None
        return self

    @classmethod
    def from_estimator(cls, estimator, *, quantize="int8", calibration=None, tta=None,
                       batch_size=64, n_threads=None):
        """Convert a fitted torch classifier (needs torch and ``onnx``).

        Parameters
        ----------
        estimator : fitted FERCNNClassifier or FERRNNClassifier
        quantize : {"int8", None}, default="int8"
        calibration : array-like of faces, required for ``quantize="int8"``
            Faces on the scale of the training ``X`` whose activations set
            the int8 ranges: a few hundred of the training faces (not the
            faces you evaluate on). One forward pass of each.
        tta, batch_size, n_threads
            As the estimator's parameters.

        Returns
        -------
        ONNXClassifier
            Fitted; ``estimator`` and ``estimator_`` are the given classifier.
        """
        engine = cls(estimator, quantize=quantize, tta=tta, batch_size=batch_size,
                     n_threads=n_threads)
        engine._check_params()
        if quantize == "int8":
            if calibration is None:
                raise ValueError(
                    "quantize='int8' needs calibration faces: pass calibration= a "
                    "few hundred of the training faces (e.g. X_train[:512]), or "
                    "quantize=None for a float32 graph.")
            calibration = check_images(calibration, name="calibration")
            engine.calibration_size = len(calibration)
        return engine._convert(estimator, calibration)

    def _convert(self, estimator, calibration):
        check_is_fitted(estimator, "pixel_mean_")
        from ._onnx import export_graph, quantize_graph

        graph = export_graph(estimator)
        if self.quantize == "int8":  # calibration: checked images (from_estimator, fit)
            graph = quantize_graph(graph, calibration)
        self.estimator_ = estimator
        return self._set_graph(graph, estimator.classes_, estimator.pixel_mean_,
                               estimator.pixel_std_,
                               "int8" if self.quantize == "int8" else "float32",
                               estimator.tta)

    @classmethod
    def _from_shipped(cls, name, **params):
        """A shipped model's graph (``load_pretrained(name, engine="onnx")``)."""
        allowed = {"tta", "batch_size", "n_threads"}
        unknown = sorted(set(params) - allowed)
        if unknown:
            raise TypeError(
                f"load_pretrained(engine='onnx') got unexpected argument(s) {unknown}; "
                f"it takes {sorted(allowed)} (train or fine-tune with engine='torch')."
            )
        graph, record, default_tta = read_shipped_graph(name)
        engine = cls(quantize="int8" if record["dtype"] == "int8" else None, **params)
        engine._check_params()
        return engine._set_graph(graph, record["classes"], record["pixel_mean"],
                                 record["pixel_std"], record["dtype"], default_tta)

    # -- scikit-learn ---------------------------------------------------------

    def fit(self, X, y, **fit_params):
        """Train a clone of ``estimator`` on ``X``, ``y`` (torch), then convert
        it, int8 calibrated on ``calibration_size`` faces drawn from ``X``.

        Returns
        -------
        self
        """
        self._check_params()
        if self.estimator is None or not hasattr(self.estimator, "fit"):
            raise ValueError(
                "ONNXClassifier.fit trains its estimator with torch and converts it: "
                "pass one, e.g. ONNXClassifier(FERCNNClassifier(max_epochs=30)); "
                f"got estimator={self.estimator!r}.")
        estimator = clone(self.estimator)
        estimator.fit(X, y, **fit_params)
        calibration = None
        if self.quantize == "int8":
            images = check_images(X)
            size = min(self.calibration_size, len(images))
            rng = np.random.default_rng(self.random_state)
            calibration = images[np.sort(rng.choice(len(images), size, replace=False))]
        return self._convert(estimator, calibration)

    def _graph(self):
        check_is_fitted(self, "graph_")
        tta = self.default_tta_ if self.tta is None else bool(self.tta)
        runner = getattr(self, "_runner", None)
        if runner is None or (runner.tta, runner.batch_size, runner.n_threads) != (
                tta, self.batch_size, self.n_threads):
            self._check_params()
            runner = self._runner = FaceGraph(self.graph_, tta=tta,
                                              batch_size=self.batch_size,
                                              n_threads=self.n_threads)
        return runner

    def predict_proba(self, X):
        """Class probabilities, columns ordered as ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n, 2304), (n, 48, 48) or (n, 1, 48, 48)
            Faces on the scale the model was trained on (uint8 0..255 grey
            levels for the shipped models).

        Returns
        -------
        ndarray of shape (n_samples, n_classes), float32
        """
        runner = self._graph()
        images = check_pixel_scale(check_images(X), self.pixel_mean_, self.pixel_std_)
        return runner.run(images)

    def predict(self, X):
        """Predicted labels, of the same kind as the torch classifier's."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def score(self, X, y, sample_weight=None):
        """Accuracy of ``predict(X)`` against ``y``.

        Raises
        ------
        ValueError
            If ``y`` holds labels the model does not know.
        """
        check_is_fitted(self, "graph_")
        labels = check_labels(y)
        unknown = np.setdiff1d(np.unique(labels), self.classes_)
        if unknown.size:
            raise ValueError(
                f"y contains labels not seen in fit: {unknown.tolist()}; the classifier "
                f"knows {self.classes_.tolist()}."
            )
        return super().score(X, y, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_runner", None)  # sessions are made again where it is read
        return state
