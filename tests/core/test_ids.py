"""Ids typed by users: only what the database can hold becomes an id; the rest a clear "no"."""

import pytest

from core.ids import id_from, whole_number_from


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("42", 42),
        (42, 42),
        ("9223372036854775807", 2**63 - 1),
        ("9223372036854775808", None),  # past bigint: would overflow in the database
        ("18446744073709551616", None),
        ("0", None),
        (0, None),
        (-3, None),
        ("-3", None),
        ("²", None),  # "²".isdigit() is True, and int("²") raises
        ("٣", None),  # an Arabic-Indic three: int() reads it, an id it is not
        (" 4", None),
        ("4.0", None),
        ("", None),
        (True, None),
        (None, None),
        (4.0, None),
    ],
)
def test_id_from(value, expected):
    assert id_from(value) == expected


def test_whole_number_from():
    assert [whole_number_from(v) for v in ("0", "7", "²", "", "1e3", 7)] == [0, 7, None, None, None, None]
