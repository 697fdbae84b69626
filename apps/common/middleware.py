from django.conf import settings

from .errors import error_response


class RequestBodyLimitMiddleware:
    """Refuse oversized bodies with 413 before anything reads them.

    DRF's parsers read the raw stream, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE alone
    would not stop a large JSON body.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return error_response(400, "Content-Length is not a number.")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and length > limit:
            return error_response(413, f"Request body larger than {limit} bytes.")
        return self.get_response(request)
