"""Reading what networks send, tolerantly: numbers that arrive as text, times, flags and lists that may be missing.

Each reader returns None (or an empty list) for a value it cannot read, so that the
caller decides what an unknown means instead of failing on it.
"""

import re
from datetime import UTC, datetime

WHOLE_NUMBER = re.compile(r"^\s*[+-]?\d+\s*$")


def whole_number(value):
    """An int from a number or its text ("4", " 4 "); None for anything else (a bool, "4.5", None)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and WHOLE_NUMBER.match(value):
        return int(value)
    return None


def moment(value):
    """An aware datetime from ISO 8601 text ("2022-10-04T18:45:00.000Z"); None for anything else.

    A time without a zone is read as UTC, as the networks mean it.
    """
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def flag(value):
    """True or False from a bool or its text ("true", "False"); None for anything else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def identifier(value):
    """An id as text from text or a number (X's ids are digits, some SDKs send numbers); "" otherwise."""
    if isinstance(value, str):
        return value.strip()
    number = whole_number(value)
    return "" if number is None else str(number)


def records(value):
    """The dicts of an optional list; [] where the list is missing or not a list."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def mapping(value):
    """An optional object as a dict; {} where it is missing or of another type."""
    return value if isinstance(value, dict) else {}
