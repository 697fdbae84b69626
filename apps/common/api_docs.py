"""The API's documentation pages, Swagger UI and Redoc, under a strict Content Security
Policy: scripts, styles and images only from this origin (drf-spectacular-sidecar's
static files), so the pages work offline and a browser never fetches anything from
elsewhere. Redoc's sidebar links an image on Redocly's CDN; the policy refuses it
before any request is made (the text link stays)."""

from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView

# Both UIs inject inline styles; Swagger UI draws its icons as data: images.
DOCS_CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class _StrictContentSecurityPolicy:
    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Content-Security-Policy"] = DOCS_CONTENT_SECURITY_POLICY
        return response


class SwaggerDocsView(_StrictContentSecurityPolicy, SpectacularSwaggerSplitView):
    """Swagger UI; its start-up script is a second request to this view (no inline script)."""


class RedocDocsView(_StrictContentSecurityPolicy, SpectacularRedocView):
    # drf-spectacular's page without its Google Fonts links.
    template_name = "docs/redoc.html"
