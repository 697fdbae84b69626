"""One evaluation: read every condition, move the incidents, send what is due."""

import logging

from django.utils import timezone

from .conditions import conditions_evaluate
from .destinations import alert_send
from .incidents import incidents_advance

logger = logging.getLogger(__name__)


def alerts_evaluate(now=None) -> dict:
    now = now or timezone.now()
    findings, evaluated = conditions_evaluate(now)
    outcome = incidents_advance(findings, evaluated, now, alert_send)
    if outcome.sent or outcome.failed:
        logger.info("alerts: sent %s, failed %s", outcome.sent, outcome.failed)
    return {
        "holding": sorted(f.key for f in findings),
        "sent": outcome.sent,
        "held": outcome.held,
        "failed": outcome.failed,
    }
