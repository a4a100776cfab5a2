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
QUOTED_CHARACTERS = 60  # of a cell quoted in a problem (a notes cell may hold pages)


def quoted(text: str) -> str:
    """A cell's text as a problem quotes it: in full, or its start and its length."""
    if len(text) <= QUOTED_CHARACTERS:
        return repr(text)
    return f"{text[:QUOTED_CHARACTERS]!r}... ({len(text):,} characters)"


def is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def cell_text(value: object) -> str:
    """A cell as text; spreadsheets store 61234 as 61234.0 once it has been a number."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def study_id(value: object, template: str) -> str:
    """`template` has one `{}`: 61234 with "CPMS-{}" is CPMS-61234, and so are CPMS-61234,
    "CPMS 61234" and CPMS_61234 (the prefix with a space or '_' for its separator)."""
    text = cell_text(value)
    if not text:
        raise ValueError("no study ID")
    prefix, suffix = template.split("{}")
    body = _study_body(text, prefix, suffix)
    if not body:
        raise ValueError(f"{quoted(text)} is not a study ID: nothing follows {prefix.strip()!r}")
    result = template.replace("{}", body)
    if not STUDY_ID_PATTERN.fullmatch(result):
        stem = _stem(prefix)
        number = re.search(r"\d+", text)
        if stem and number and text.lower().startswith(stem.lower()):
            example = number.group()
            raise ValueError(
                f"{quoted(text)} is not a study ID: write it as "
                f"{template.replace('{}', example)} or {example}"
            )
        raise ValueError(
            f"{quoted(text)} is not a study ID: {quoted(result)} must be letters, digits, "
            "'.', '_', ':' or '-', at most 64 characters"
        )
    return result


def _stem(prefix: str) -> str:
    """The prefix without its separator: "CPMS-" -> "CPMS"."""
    return prefix.rstrip(" -_:.")


def _study_body(text: str, prefix: str, suffix: str) -> str:
    """What goes into the template's `{}`: the cell without the prefix and suffix it may
    already carry ("" when it carries nothing else)."""
    lower = text.lower()
    if not lower.endswith(suffix.lower()):
        return text
    inner = text[: len(text) - len(suffix)]
    stem = _stem(prefix)
    if inner.lower().startswith(prefix.lower()):
        return inner[len(prefix) :].strip()
    if stem and inner.lower() == stem.lower():
        return ""
    if stem and inner.lower().startswith(stem.lower()) and inner[len(stem)] in " _":
        return inner[len(stem) + 1 :].strip()
    return text


def ods_code(value: object) -> str:
    """An ODS organisation code such as RGT (case and spaces around it do not matter)."""
    text = cell_text(value).upper()
    if not text:
        raise ValueError("no site ODS code")
    if not SITE_ID_PATTERN.fullmatch(text):
        raise ValueError(f"{quoted(text)} is not an ODS code (3 to 10 letters or digits, e.g. RGT)")
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
    raise ValueError(f"{quoted(cell_text(value))} is not yes or no (use Yes or No)")


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
            raise ValueError(
                f"sponsor {quoted(text)} has no letters or digits to make a sponsor_id of"
            )
        return slug
    if not SPONSOR_ID_PATTERN.fullmatch(text):
        raise ValueError(
            f"{quoted(text)} cannot be a sponsor_id: letters, digits, '_' or '-' only, at most 100 "
            f"(it names the sponsor's topic)"
        )
    return text


def optional_text(value: object) -> str | None:
    return None if is_blank(value) else cell_text(value)
