import re
import zoneinfo

from django.core.exceptions import ValidationError

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
LOCALE = re.compile(r"^[a-z]{2,3}([-_][A-Za-z]{2,4})?$")


def validate_e164(value: str) -> None:
    if value and not E164.match(value):
        raise ValidationError("Enter a phone number in E.164 form, e.g. +14155550100.")


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"Unknown time zone '{value}'.")


def validate_locale(value: str) -> None:
    if not LOCALE.match(value):
        raise ValidationError(f"'{value}' is not a locale such as 'en' or 'pt-BR'.")
