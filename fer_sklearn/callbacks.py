"""skorch callbacks of fer_sklearn."""

from ._callbacks import CosineLR, SettleAugmentation

__all__ = ["CosineLR", "SettleAugmentation"]
