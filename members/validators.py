import re

from django.core.exceptions import ValidationError

# The shape of a UK postcode (outward code, space, inward code), after normalising.
# https://www.gov.uk/government/publications/bulk-data-transfer-for-sponsors-xml-schema
_POSTCODE = re.compile(r"^(GIR 0AA|[A-PR-UWYZ][A-HK-Y]?[0-9][0-9A-HJKMNPR-Y]? [0-9][ABD-HJLNP-UW-Z]{2})$")


def normalise_postcode(value: str) -> str:
    """`" me14  1xx "` → `"ME14 1XX"`: any spacing or case, one space before the inward code."""
    compact = re.sub(r"\s+", "", value or "").upper()
    if len(compact) < 5:
        return compact
    return f"{compact[:-3]} {compact[-3:]}"


def validate_postcode(value: str) -> str:
    """Return the normalised postcode, or raise a ValidationError that says what is wrong."""
    postcode = normalise_postcode(value)
    if not _POSTCODE.match(postcode):
        raise ValidationError("Enter a real UK postcode, like ME14 1XX.", code="invalid_postcode")
    return postcode
