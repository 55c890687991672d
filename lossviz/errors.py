"""The one error type the library raises for bad user input.

Pages turn it into ``st.error``; the CLI turns it into ``error: ...`` and exit 2.
"""

from __future__ import annotations


class LossvizInputError(ValueError):
    """Bad input from a user: the message names the bad value and the fix.

    Example:
        >>> raise LossvizInputError("target has 3 rows but input has 1: give one class per input row")
    """
