"""Recipients that are addresses, not users: `{"email": ...}` or `{"phone": ...}`.

An email address is checked with Django's EmailValidator and kept lower-cased (the
suppression list compares lower-cased addresses); a phone number must be E.164. An
address recipient gets one delivery, on the channel its address is for.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from apps.accounts.validators import validate_e164
from apps.common.channels import Channel

# The key an address recipient is given by → the channel it is for.
ADDRESS_KINDS = {"email": Channel.EMAIL, "phone": Channel.SMS}
MAX_EMAIL_LENGTH = 254


@dataclass(frozen=True)
class Address:
    channel: str
    value: str


def email_normalize(value: str) -> str:
    """The form the service keeps an email address in (and compares it in)."""
    return value.strip().lower()


def address_parse(value) -> Address:
    """The Address named by `{"email": ...}` or `{"phone": ...}`; ValidationError when
    it is neither, or the address is not valid."""
    if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in ADDRESS_KINDS:
        raise ValidationError('Give a user id, {"email": "..."} or {"phone": "+..."}.')
    kind, raw = next(iter(value.items()))
    if not isinstance(raw, str) or not raw.strip():
        raise ValidationError(f"The {kind} must be a non-empty string.")
    if kind == "email":
        address = email_normalize(raw)
        if len(address) > MAX_EMAIL_LENGTH:
            raise ValidationError("Enter a valid email address.")
        validate_email(address)
        return Address(Channel.EMAIL, address)
    address = raw.strip()
    validate_e164(address)
    return Address(Channel.SMS, address)


def recipients_split(recipients: list) -> tuple[list[int], list[Address]]:
    """(user ids, addresses) of a send's recipients, each once, in a stable order."""
    user_ids = sorted({r for r in recipients if isinstance(r, int)})
    addresses = sorted({address_parse(r) for r in recipients if not isinstance(r, int)}, key=lambda a: a.value)
    return user_ids, addresses
