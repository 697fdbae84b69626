from django.core.exceptions import ValidationError

from apps.common.event_data import data_validate


def event_data_validate(data: dict) -> None:
    """apps.common.event_data's bounds and link rule, for Python callers: one
    ValidationError on `data` whose messages name the part ("url: ...")."""
    try:
        data_validate(data)
    except ValidationError as exc:
        messages = [
            message if part == "data" else f"{part}: {message}"
            for part, part_messages in exc.message_dict.items()
            for message in part_messages
        ]
        raise ValidationError({"data": messages}) from exc
