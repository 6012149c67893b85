"""skorch callbacks of fer_sklearn."""

from ._callbacks import CosineLR, InitFromPretrained, SettleAugmentation, TrainingState

__all__ = ["CosineLR", "InitFromPretrained", "SettleAugmentation", "TrainingState"]
