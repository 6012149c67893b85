"""Knowledge distillation for the classifiers: the teacher's probabilities
as training targets, and the loss that mixes them with the labels'.

A mixin of :class:`fer_sklearn._base._FERClassifierBase`: ``fit`` turns
``y`` and the teacher's probabilities into rows of (encoded label,
probability per class) (``_with_soft_targets``), and ``get_loss`` reads
them back.
"""

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted
from skorch.utils import to_tensor

from ._persistence import classifier_from_checkpoint
from ._validation import check_images, check_labels

__all__ = ["DistillationMixin"]


class _SoftTargets(np.ndarray):
    """Training targets already encoded, with the teacher's probabilities."""

    def __new__(cls, targets):
        return np.asarray(targets).view(cls)



class DistillationMixin:
    """Distillation of a teacher's probabilities (``teacher``,
    ``distill_weight``, ``distill_temperature``; ``fit(teacher_proba=...)``)."""

    def _teacher_estimator(self):
        teacher = self.teacher
        if isinstance(teacher, str):
            from ._checkpoints import shipped_checkpoint

            entry, checkpoint = shipped_checkpoint(teacher)
            # the network's own probabilities: distill_temperature softens
            # them, and the shipped calibration may change from version to
            # version where the network does not
            return classifier_from_checkpoint(
                checkpoint, **{**entry.get("defaults", {}), "temperature": 1.0})
        if not hasattr(teacher, "predict_proba"):
            raise TypeError(
                "teacher must be a fitted classifier with predict_proba and "
                f"classes_, or the name of a shipped model; got {teacher!r}."
            )
        try:
            check_is_fitted(teacher)
        except NotFittedError as error:
            raise NotFittedError(
                f"The teacher {type(teacher).__name__} is not fitted. A fitted "
                "teacher passed to an estimator that is cloned (GridSearchCV, "
                "cross_val_score) is cloned unfitted: wrap it in "
                "sklearn.frozen.FrozenEstimator, or pass the name of a "
                "shipped model (teacher='cnn-ensemble')."
            ) from error
        return teacher

    def _soft_targets(self, images, teacher_proba):
        """Teacher probabilities for ``images``, columns ordered as ``classes_``."""
        classes = self.classes_
        if teacher_proba is None:
            teacher = self._teacher_estimator()
            teacher_classes = np.asarray(teacher.classes_)
            if sorted(teacher_classes.tolist()) != classes.tolist():
                raise ValueError(
                    f"The teacher predicts classes {teacher_classes.tolist()}, "
                    f"y holds {classes.tolist()}: they must be the same. For "
                    "merged labels pass teacher_proba=LabelMerger().fit(...)"
                    ".merge_proba(teacher.predict_proba(X), teacher.classes_)."
                )
            with torch.random.fork_rng(devices=[]):
                # data loaders draw seeds: keep this fit's random stream as
                # it is with precomputed teacher_proba
                proba = np.asarray(teacher.predict_proba(images), dtype=np.float64)
            order = [teacher_classes.tolist().index(label) for label in classes.tolist()]
            return proba[:, order]
        proba = np.asarray(teacher_proba, dtype=np.float64)
        expected = (len(images), len(classes))
        if proba.shape != expected:
            raise ValueError(
                f"teacher_proba must have shape {expected} (one row per image, "
                f"one column per class in classes_ {classes.tolist()}); got "
                f"shape {proba.shape}."
            )
        sums = proba.sum(axis=1)
        bad = ~np.isfinite(proba).all(axis=1) | (proba < 0).any(axis=1) | (
            np.abs(sums - 1) > 1e-3)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"teacher_proba rows must be probabilities (finite, >= 0, "
                f"summing to 1); {int(bad.sum())} rows are not, the first is "
                f"row {row}: {proba[row].tolist()}."
            )
        return proba

    def _with_soft_targets(self, X, y, teacher_proba):
        """Images and training targets, with the teacher's probabilities when
        distilling: rows of (encoded label, probability per class)."""
        if isinstance(y, _SoftTargets) or (teacher_proba is None and self.teacher is None):
            return X, y
        images = check_images(X)
        labels = self._encode(check_labels(y, len(images)))
        proba = self._soft_targets(images, teacher_proba)
        targets = np.column_stack([labels, proba]).astype(np.float32)
        return images, _SoftTargets(targets)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """The criterion's loss; when distilling, mixed with the teacher's.

        With teacher probabilities ``p`` (see ``teacher``), the loss is
        ``(1 - w) * criterion(logits, y) + w * T**2 * KL(p_T || softmax(logits / T))``
        with ``w = distill_weight``, ``T = distill_temperature`` and
        ``p_T = softmax(log(p) / T)`` (Hinton et al., 2015).
        """
        y_true = to_tensor(y_true, device=self.device)
        if y_true.dim() != 2:
            return self.criterion_(y_pred, y_true)
        labels, teacher = y_true[:, 0].long(), y_true[:, 1:].float()
        loss = self.criterion_(y_pred, labels)
        weight = float(self.distill_weight)
        if weight == 0:
            return loss
        temperature = float(self.distill_temperature)
        target = F.softmax(torch.log(teacher.clamp_min(1e-8)) / temperature, dim=1)
        student = F.log_softmax(y_pred.float() / temperature, dim=1)
        distill = F.kl_div(student, target, reduction="batchmean") * temperature**2
        return (1 - weight) * loss + weight * distill

