"""skorch callbacks of fer_sklearn."""

from ._callbacks import CosineLR

__all__ = ["CosineLR"]
