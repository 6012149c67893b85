"""The torch modules behind the classifiers (they import nothing from sklearn)."""

from ._networks import NETWORKS, FERModel, FERNet, RowRNN, StudyCNN

__all__ = ["FERNet", "StudyCNN", "RowRNN", "FERModel", "NETWORKS"]
