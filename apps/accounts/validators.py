import base64
import re
import zoneinfo

from cryptography.hazmat.primitives.asymmetric import ec
from django.core.exceptions import ValidationError

from apps.common.net import HostNotFound, UnsafeURL, url_destination

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
# A Slack member (U…, W… on Enterprise Grid) or channel (C…) id.
SLACK_ID = re.compile(r"^[UWC][A-Z0-9]{6,}$")
LOCALE = re.compile(r"^[a-z]{2,3}([-_][A-Za-z]{2,4})?$")


def validate_e164(value: str) -> None:
    if value and not E164.match(value):
        raise ValidationError("Enter a phone number in E.164 form, e.g. +14155550100.")


def validate_slack_id(value: str) -> None:
    if value and not SLACK_ID.match(value):
        raise ValidationError("Enter a Slack member id (U…/W…) or channel id (C…), e.g. U0123ABCD.")


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"Unknown time zone '{value}'.")


def validate_locale(value: str) -> None:
    if not LOCALE.match(value):
        raise ValidationError(f"'{value}' is not a locale such as 'en' or 'pt-BR'.")


def validate_outbound_url(value: str) -> None:
    """A URL the service will POST to: resolvable, public (unless allow-listed), https."""
    try:
        url_destination(value)
    except (UnsafeURL, HostNotFound) as exc:
        raise ValidationError(str(exc)) from exc


def _b64url_decode(value: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]+={0,2}", value):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def validate_push_p256dh(value: str) -> None:
    """The browser's P-256 public key: base64url of an uncompressed point on the curve."""
    try:
        raw = _b64url_decode(value)
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
        if len(raw) != 65:
            raise ValueError("not an uncompressed point")
    except (ValueError, TypeError) as exc:
        raise ValidationError("Not a base64url P-256 public key (65 bytes, uncompressed point).") from exc


def validate_push_auth(value: str) -> None:
    try:
        raw = _b64url_decode(value)
    except ValueError as exc:
        raise ValidationError("Not base64url.") from exc
    if len(raw) != 16:
        raise ValidationError("The auth secret must be 16 bytes.")
