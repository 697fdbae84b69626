import json

from django.conf import settings
from django.core.exceptions import ValidationError


def event_data_validate(data: dict) -> None:
    if len(json.dumps(data)) > settings.EVENT_DATA_MAX_BYTES:
        raise ValidationError({"data": f"Larger than {settings.EVENT_DATA_MAX_BYTES} bytes as JSON."})
