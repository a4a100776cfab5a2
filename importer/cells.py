"""Reading one cell of an export as a contract value: study ID, ODS code, yes/no, sponsor.

Each function returns the value or raises ValueError with a message for the user; the row
reader adds the row and column.
"""

from __future__ import annotations

import re
import unicodedata

from events.validation import SITE_ID_PATTERN, SPONSOR_ID_PATTERN, STUDY_ID_PATTERN

YES = frozenset({"yes", "y", "true", "1"})
NO = frozenset({"no", "n", "false", "0"})


def is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def cell_text(value: object) -> str:
    """A cell as text; spreadsheets store 61234 as 61234.0 once it has been a number."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def study_id(value: object, template: str) -> str:
    """`template` has one `{}`: 61234 with "CPMS-{}" is CPMS-61234, and so is CPMS-61234."""
    text = cell_text(value)
    if not text:
        raise ValueError("no study ID")
    prefix, suffix = template.split("{}")
    already = (
        len(text) > len(prefix) + len(suffix)
        and text.lower().startswith(prefix.lower())
        and text.lower().endswith(suffix.lower())
    )
    body = text[len(prefix) : len(text) - len(suffix)] if already else text
    result = template.replace("{}", body)
    if not STUDY_ID_PATTERN.fullmatch(result):
        raise ValueError(
            f"{text!r} is not a study ID: {result!r} must be letters, digits, '.', '_', ':' "
            f"or '-', at most 64 characters"
        )
    return result


def ods_code(value: object) -> str:
    """An ODS organisation code such as RGT (case and spaces around it do not matter)."""
    text = cell_text(value).upper()
    if not text:
        raise ValueError("no site ODS code")
    if not SITE_ID_PATTERN.fullmatch(text):
        raise ValueError(f"{text!r} is not an ODS code (3 to 10 letters or digits, e.g. RGT)")
    return text


def yes_no(value: object) -> bool | None:
    """Yes/No/Y/N/True/False/1/0 in any case, or an Excel TRUE/FALSE cell; None when blank."""
    if isinstance(value, bool):
        return value
    if is_blank(value):
        return None
    text = cell_text(value).lower()
    if text in YES:
        return True
    if text in NO:
        return False
    raise ValueError(f"{cell_text(value)!r} is not yes or no (use Yes or No)")


def sponsor_id(value: object, *, from_name: bool) -> str:
    """The contract's sponsor_id: the cell as it is, or made from a sponsor's name.

    A sponsor_id names the sponsor's Kafka topic, so a name is turned into a slug:
    "Acme Pharma Ltd" -> "acme-pharma-ltd" (lower case, every run of other characters '-').
    """
    text = cell_text(value)
    if not text:
        raise ValueError("no sponsor (study_registered needs a sponsor_id)")
    if from_name:
        ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:100].rstrip("-")
        if not slug:
            raise ValueError(f"sponsor {text!r} has no letters or digits to make a sponsor_id of")
        return slug
    if not SPONSOR_ID_PATTERN.fullmatch(text):
        raise ValueError(
            f"{text!r} cannot be a sponsor_id: letters, digits, '_' or '-' only, at most 100 "
            f"(it names the sponsor's topic)"
        )
    return text


def optional_text(value: object) -> str | None:
    return None if is_blank(value) else cell_text(value)
