"""Reading ids (and other whole numbers) out of what users send.

`str.isdigit()` is not "int() can read it": superscripts and other Unicode digits pass it
("²".isdigit() is True) and then `int()` raises ValueError, a server error where the user
deserves a clear one; and a number past 64 bits passes both and then overflows in the
database. Anything that takes an id from a form, a query string or JSON reads it here.
"""

from __future__ import annotations

import re
from typing import Any

_DIGITS = re.compile(r"[0-9]{1,19}")
BIGINT_MAX = 2**63 - 1


def id_from(value: Any) -> int | None:
    """A positive database id from `value` (an int, or a string of ASCII digits), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value <= BIGINT_MAX else None
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        number = int(value)
        return number if 0 < number <= BIGINT_MAX else None
    return None


def whole_number_from(value: Any) -> int | None:
    """A whole number of at most 19 ASCII digits (0 included), or None: ranks, counts, pages."""
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    return None
