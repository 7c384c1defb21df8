"""lfd-tcmen: facial micro-expression recognition with learnable feature disentanglement."""

from lfd_tcmen.errors import LFDError

__all__ = ["LFDError", "__version__"]
__version__ = "0.1.0"
