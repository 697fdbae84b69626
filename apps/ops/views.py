from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

from apps.common.errors import error_body

from .collectors import ScrapeTimeCollector
from .health import health_checks


@never_cache
@require_GET
def health_view(request):
    """200 {"status":"ok","checks":{...}}; 503 with the same checks (and the error
    envelope) when one fails."""
    checks = health_checks()
    if all(result == "ok" for result in checks.values()):
        return JsonResponse({"status": "ok", "checks": checks})
    failed = sorted(name for name, result in checks.items() if result != "ok")
    body = {
        "status": "unavailable",
        "checks": checks,
        **error_body(503, f"Unhealthy: {', '.join(failed)}.", details={"checks": checks}),
    }
    return JsonResponse(body, status=503)


class _Scrape:
    """What one scrape reports: the processes' metrics plus the scrape-time gauges."""

    def collect(self):
        if settings.PROMETHEUS_MULTIPROC_DIR:
            # Every process's files (gunicorn workers, Celery pool processes), added up.
            processes = CollectorRegistry()
            multiprocess.MultiProcessCollector(processes, path=settings.PROMETHEUS_MULTIPROC_DIR)
            yield from processes.collect()
        else:
            yield from REGISTRY.collect()
        yield from ScrapeTimeCollector().collect()


@never_cache
@require_GET
def metrics_view(request):
    return HttpResponse(generate_latest(_Scrape()), content_type=CONTENT_TYPE_LATEST)
