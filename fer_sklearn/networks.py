"""The torch modules behind the classifiers (they import nothing from sklearn)."""

from ._networks import NETWORKS, Ensemble, FERModel, FERNet, ReNet, RowRNN, StudyCNN

__all__ = ["FERNet", "StudyCNN", "RowRNN", "ReNet", "Ensemble", "FERModel", "NETWORKS"]
