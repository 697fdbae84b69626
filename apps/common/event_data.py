"""The bounds of an event's `data`, checked on every path that writes one (the events
and notifications APIs, bulk sends, `event_publish` from Python): at most
EVENT_DATA_MAX_BYTES as UTF-8 JSON, at most EVENT_DATA_MAX_DEPTH levels of nesting, and
a `url`, when given, that passes the link rule (apps.common.links), and so does the
`url` of each of `actions`.

data_validate raises a Django ValidationError keyed by where in `data` the problem is
("url", or "data" for the whole); EventDataField is the same check as a DRF field, so
an API answers 400 with details {"data": {"url": [...]}} or {"data": [...]}.
"""

import json

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from rest_framework import serializers

from .links import link_refusal


def data_depth_exceeds(data, limit: int) -> bool:
    """True when `data` nests deeper than `limit` (a flat dict is depth 1). Iterative:
    a hostile depth cannot exhaust the stack."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list | tuple) else ()
        for child in children:
            if isinstance(child, dict | list | tuple):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False


def data_validate(data) -> None:
    if not isinstance(data, dict):
        raise ValidationError({"data": ["Must be a JSON object."]})
    depth = settings.EVENT_DATA_MAX_DEPTH
    if data_depth_exceeds(data, depth):
        raise ValidationError({"data": [f"Nested deeper than {depth} levels."]}, code="too_deep")
    size = len(json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":")).encode())
    if size > settings.EVENT_DATA_MAX_BYTES:
        raise ValidationError(
            {"data": [f"{size} bytes as JSON; at most {settings.EVENT_DATA_MAX_BYTES} are accepted."]},
            code="too_large",
        )
    reason = link_refusal(data.get("url"))
    if reason:
        raise ValidationError({"url": [reason]}, code="unsafe_link")
    # The inbox item's buttons (apps/notifications/actions.py): the same rule per link.
    actions = data.get("actions")
    for index, action in enumerate(actions if isinstance(actions, list) else ()):
        reason = link_refusal(action.get("url")) if isinstance(action, dict) else None
        if reason:
            raise ValidationError({"actions": [f"Action {index}: {reason}"]}, code="unsafe_link")


class EventDataField(serializers.DictField):
    """An event's `data` as the APIs accept it: a JSON object within the bounds above."""

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "help_text",
            "A JSON object of at most EVENT_DATA_MAX_BYTES (64 KiB) as JSON, nested at most "
            "EVENT_DATA_MAX_DEPTH (10) levels. `url`, the notification's link, must be https:, "
            "http: or relative, and so must each `actions[].url` (the inbox item's buttons).",
        )
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        try:
            data_validate(value)
        except ValidationError as exc:
            errors = exc.message_dict
            raise serializers.ValidationError(errors.get("data") or errors) from exc
        return value
