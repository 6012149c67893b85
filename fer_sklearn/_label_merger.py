"""``LabelMerger``: merge classes of y, in the style of ``LabelEncoder``."""

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, column_or_1d

__all__ = ["LabelMerger"]

#: FER2013's classic merge: Disgust (1.5% of the faces) into Angry.
FER2013_CODE_MERGE = {1: 0}
FER2013_NAME_MERGE = {"disgust": "angry", "Disgust": "Angry"}


def _check_known(labels, known, problem, known_as):
    unseen = np.setdiff1d(np.unique(labels), known)
    if unseen.size:
        raise ValueError(f"{problem}: {unseen.tolist()}; {known_as} {known.tolist()}.")


class LabelMerger(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Merge some classes of a target into others.

    A y-transformer like :class:`~sklearn.preprocessing.LabelEncoder`: it
    works on labels, not on ``X``, because a Pipeline step cannot change
    ``y``. Use it on the training and the test labels alike (or at load
    time), so that both are merged the same way.

    Parameters
    ----------
    mapping : dict or None, default=None
        ``{source_label: target_label}``; labels absent from the mapping are
        kept. None is FER2013's Disgust->Angry merge: ``{1: 0}`` for integer
        codes, ``{"disgust": "angry"}`` (and the capitalised names) for
        string labels. A target may not itself be a source.

    Attributes
    ----------
    mapping_ : dict
        The mapping in use.
    input_classes_ : ndarray
        The sorted labels seen in ``fit``.
    classes_ : ndarray
        The sorted labels after merging.
    target_names_ : ndarray of str
        A display name per class of ``classes_`` (emotion names for FER2013
        codes), e.g. for
        ``classification_report(y, pred, labels=merger.classes_,
        target_names=merger.target_names_)``.

    See Also
    --------
    load_fer2013 : the FER2013 faces and their 7 labels.
    FERCNNClassifier : trains on the merged labels as on any others.

    Examples
    --------
    >>> from fer_sklearn import LabelMerger
    >>> merger = LabelMerger().fit([0, 1, 2, 3, 4, 5, 6])
    >>> merger.transform([1, 0, 6]).tolist()
    [0, 0, 6]
    >>> merger.classes_.tolist()
    [0, 2, 3, 4, 5, 6]
    """

    def __init__(self, mapping=None):
        self.mapping = mapping

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.target_tags.one_d_labels = True
        return tags

    @staticmethod
    def _holds_names(y):
        """Whether ``y`` holds label names (strings) rather than int codes.

        An object array is judged by its values: integer codes held as
        Python objects are codes, and a mix of names and numbers is refused.
        """
        if y.dtype.kind != "O":
            return y.dtype.kind == "U"
        values = y.tolist()
        names = [isinstance(value, str) for value in values]
        if all(names):
            return True
        if not any(names):
            return False
        first = next(value for value in values if not isinstance(value, str))
        raise ValueError(
            "y mixes label names and other values (e.g. "
            f"{first!r} beside {values[names.index(True)]!r}): use names only or "
            "int codes only."
        )

    def _resolve_mapping(self, y):
        if self.mapping is None:
            return dict(FER2013_NAME_MERGE if self._holds_names(y) else FER2013_CODE_MERGE)
        if not isinstance(self.mapping, dict):
            raise TypeError(
                "The 'mapping' parameter of LabelMerger must be a dict "
                f"{{source: target}} or None. Got {type(self.mapping).__name__} instead."
            )
        chained = sorted(set(self.mapping) & set(self.mapping.values()), key=str)
        if chained:
            raise ValueError(
                f"mapping chains labels: {chained} are both merged away and "
                "merged into. Map each source straight to its final label."
            )
        return dict(self.mapping)

    @staticmethod
    def _check_y(y):
        y = column_or_1d(y, warn=True)
        if y.dtype.kind == "f" and not np.isfinite(y).all():
            raise ValueError("y contains NaN or infinity; labels must be finite.")
        return y

    def _merge(self, y):
        merged = np.array([self.mapping_.get(label, label) for label in y.tolist()])
        if merged.dtype != y.dtype and len(y):
            merged = merged.astype(np.result_type(y.dtype, merged.dtype))
        return merged if len(y) else y.copy()

    def fit(self, y):
        """Learn the labels of ``y`` and the merged classes.

        Parameters
        ----------
        y : array-like of shape (n_samples,)

        Returns
        -------
        self
        """
        y = self._check_y(y)
        self.mapping_ = self._resolve_mapping(y)
        self.input_classes_ = np.unique(y)
        if self.mapping is not None and len(y) and not set(self.mapping_) & set(
                self.input_classes_.tolist()):
            raise ValueError(
                f"None of the mapping's labels {sorted(self.mapping_, key=str)} occur in y, "
                f"which holds {self.input_classes_.tolist()}: nothing would be merged "
                "(a different case, or int codes for names?)."
            )
        self.classes_ = np.unique(self._merge(self.input_classes_))
        from ._labels import label_names

        # for classification_report(target_names=...) on merged labels
        self.target_names_ = label_names(self.classes_)
        return self

    def fit_transform(self, y):
        """Fit, then merge ``y``."""
        return self.fit(y).transform(y)

    def transform(self, y):
        """Merge ``y``.

        Raises
        ------
        ValueError
            If ``y`` holds a label that ``fit`` did not see.
        """
        check_is_fitted(self)
        y = self._check_y(y)
        _check_known(y, self.input_classes_, "y contains labels not seen in fit",
                     "LabelMerger was fitted on")
        return self._merge(y)

    def inverse_transform(self, y):
        """Map merged labels back to input labels.

        The merge is many-to-one, so each merged label goes back to the
        input label of the same name (Angry stays Angry; no face comes back
        as Disgust).
        """
        check_is_fitted(self)
        y = self._check_y(y)
        _check_known(y, self.classes_, "y contains labels that are not merged classes",
                     "the merged classes are")
        return y.copy()

    def merge_proba(self, proba, classes):
        """Merge the probability columns of a model trained on unmerged labels.

        Parameters
        ----------
        proba : array-like of shape (n_samples, n_input_classes)
            ``predict_proba`` output of a model trained on unmerged labels.
        classes : array-like of shape (n_input_classes,)
            That model's ``classes_``, the labels of the columns.

        Returns
        -------
        ndarray of shape (n_samples, n_merged_classes)
            Columns ordered as ``classes_``; merged columns are summed, so a
            7-class FER2013 model gives 6-class probabilities.

        Examples
        --------
        >>> import numpy as np
        >>> from fer_sklearn import LabelMerger
        >>> merger = LabelMerger().fit(np.arange(7))
        >>> merger.merge_proba(np.full((1, 7), 1 / 7), classes=np.arange(7)).shape
        (1, 6)
        """
        check_is_fitted(self)
        proba = np.asarray(proba)
        classes = np.asarray(classes)
        if proba.ndim != 2 or proba.shape[1] != len(classes):
            raise ValueError(
                f"proba must have shape (n_samples, {len(classes)}), one column "
                f"per class in classes; got shape {proba.shape}."
            )
        _check_known(classes, self.input_classes_, "classes holds labels not seen in fit",
                     "LabelMerger was fitted on")
        if len(np.unique(classes)) != len(classes):
            raise ValueError(
                f"classes must name each column once (a model's classes_); got "
                f"{classes.tolist()}."
            )
        columns = np.searchsorted(self.classes_, self._merge(classes))
        merged = np.zeros((proba.shape[0], len(self.classes_)), dtype=proba.dtype)
        np.add.at(merged.T, columns, proba.T)
        return merged
