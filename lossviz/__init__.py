"""lossviz: look inside PyTorch loss functions and watch a network learn.

The library never imports streamlit; pages in ``pages/`` draw what it computes.
"""

from __future__ import annotations

from lossviz.errors import LossvizInputError

__all__ = ["LossvizInputError"]
__version__ = "0.1.0"
