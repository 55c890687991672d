"""The one error type the library raises for bad user input.

Pages turn it into ``st.error`` in the reader's language; the CLI turns it into ``error: ...`` and
exit 2. The sentence is data: a plain English message id, or a :class:`lossviz.i18n.Message` with
named parameters, rendered at the edge by ``lossviz.i18n.render(exc, lang)``.
"""

from __future__ import annotations

from typing import Any


class LossvizInputError(ValueError):
    """Bad input from a user: the message names the bad value and the fix.

    Example:
        >>> raise LossvizInputError("target has 3 rows but input has 1: give one class per input row")
        Traceback (most recent call last):
        ...
        lossviz.errors.LossvizInputError: target has 3 rows but input has 1: give one class per input row
    """

    def __init__(self, message: Any = "", *args: object) -> None:
        self.message = message  # a str (English) or a lossviz.i18n.Message
        super().__init__(str(message), *args)
