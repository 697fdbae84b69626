"""The `slack` channel: `chat.postMessage` through slack-sdk's WebClient, with the
service's bot token, to the Slack member id (a direct message) or channel id a person
linked in their profile (`Profile.slack_id`).

The message is Block Kit built from the delivery's title, body and link (a section with
the text and, when there is a link, a button); `text` carries the same words for
notifications and screen readers. SLACK_API_BASE_URL points the client elsewhere
(tests, a proxy). slack-sdk's own retry handlers are off: retries are dispatch's, with
the shared backoff and the provider's circuit breaker.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from apps.accounts.validators import validate_slack_id
from apps.common.links import link_or_empty

from ..rendering import delivery_title_body
from .base import Message, Outcome, Report, SendResult, no_report
from .registry import register

# Slack's errors that no retry can mend: the destination or the token is wrong.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "user_not_found",
        "cannot_dm_bot",
        "msg_too_long",
        "invalid_blocks",
    }
)
# Slack's own word that it is failing, whatever the HTTP status.
TRANSIENT_ERRORS = frozenset({"ratelimited", "service_unavailable", "internal_error", "fatal_error", "request_timeout"})
# Slack truncates section text at 3000 characters and refuses longer.
SECTION_TEXT_MAX = 3000
TITLE_MAX = 150


def slack_id_or_none(value: str) -> str | None:
    try:
        validate_slack_id(value)
    except ValidationError:
        return None
    return value or None


def slack_blocks(*, title: str, body: str, url: str) -> list[dict]:
    """Block Kit: a header with the title, a section with the body, and a button to the
    link. Text goes as plain_text so nothing in an event is read as Slack markup."""
    blocks: list[dict] = [{"type": "header", "text": {"type": "plain_text", "text": title[:TITLE_MAX] or "-"}}]
    if body:
        blocks.append({"type": "section", "text": {"type": "plain_text", "text": body[:SECTION_TEXT_MAX]}})
    if url:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {"type": "button", "text": {"type": "plain_text", "text": "Open"}, "url": url, "action_id": "open"}
                ],
            }
        )
    return blocks


def _retry_after(headers) -> float | None:
    # Slack's header comes lower-cased over HTTP/2.
    value = (headers or {}).get("Retry-After") or (headers or {}).get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


class SlackProvider:
    name = "slack"
    batch_size = 50

    def __init__(self):
        self.client = WebClient(
            token=settings.SLACK_BOT_TOKEN,
            base_url=settings.SLACK_API_BASE_URL,
            # WebClient takes whole seconds; never 0 (which would not wait at all).
            timeout=max(1, round(settings.PROVIDER_HTTP_TIMEOUT_SECONDS)),
            retry_handlers=[],
        )

    def classify(self, exc: Exception) -> Outcome:
        if isinstance(exc, SlackApiError):
            return self._api_error_outcome(exc)
        return Outcome.TRANSIENT  # timeouts, refused or dropped connections

    def _api_error_outcome(self, exc: SlackApiError) -> Outcome:
        status = exc.response.status_code
        error = (exc.response.data or {}).get("error", "") if isinstance(exc.response.data, dict) else ""
        if error in PERMANENT_ERRORS:
            return Outcome.PERMANENT
        if status == 429:
            return Outcome.DEFERRED
        if status >= 500 or error in TRANSIENT_ERRORS:
            return Outcome.TRANSIENT
        # Any other refusal of the request itself (bad arguments, missing scope).
        return Outcome.PERMANENT

    def _send_one(self, message: Message) -> SendResult:
        try:
            response = self.client.chat_postMessage(
                channel=message.to, text=message.text, blocks=message.extra["blocks"], unfurl_links=False
            )
        except SlackApiError as exc:
            data = exc.response.data if isinstance(exc.response.data, dict) else {}
            status = exc.response.status_code
            detail = {"status_code": status, "slack_error": data.get("error", "")}
            outcome = self._api_error_outcome(exc)
            wait = _retry_after(exc.response.headers) if outcome in (Outcome.DEFERRED, Outcome.TRANSIENT) else None
            if outcome == Outcome.DEFERRED:
                detail["reason"] = "rate_limited"
                wait = wait if wait is not None else 1.0
            error = f"Slack answered {status} {detail['slack_error']}".strip()
            return SendResult(message.delivery_id, outcome, error=error, detail=detail, retry_after=wait)
        except (SlackClientError, OSError) as exc:
            return SendResult(message.delivery_id, Outcome.TRANSIENT, error=f"{exc.__class__.__name__}: {exc}"[:500])
        ts = str(response.get("ts", ""))
        detail = {"status_code": response.status_code, "ts": ts, "channel": str(response.get("channel", ""))}
        return SendResult(message.delivery_id, Outcome.SENT, ts, detail=detail)

    def send_batch(self, messages: list[Message], report: Report = no_report) -> list[SendResult]:
        """One request per message, each answer reported before the next is sent. A
        rate-limit answer defers the rest of the batch untried with the same Retry-After
        (Slack's limit is per method and workspace, so the next message would be refused
        too); a failing Slack (5xx, no answer) defers them as well, so an outage costs
        one request per batch."""
        results = []
        for index, message in enumerate(messages):
            result = self._send_one(message)
            report(result)
            results.append(result)
            if result.outcome in (Outcome.DEFERRED, Outcome.TRANSIENT):
                reason = "rate_limited" if result.outcome == Outcome.DEFERRED else "provider_failing"
                detail = {"reason": reason, "provider": self.name}
                results.extend(
                    SendResult(m.delivery_id, Outcome.DEFERRED, detail=dict(detail), retry_after=result.retry_after)
                    for m in messages[index + 1 :]
                )
                break
        return results


class SlackChannel:
    key = "slack"
    batch_size = 50

    def __init__(self):
        self._provider = None

    def render(self, delivery) -> Message | None:
        notification = delivery.notification
        profile = getattr(notification.user, "profile", None) if notification.user_id else None
        slack_id = slack_id_or_none(profile.slack_id if profile else "")
        if slack_id is None:
            return None
        title, body = delivery_title_body(delivery)
        url = link_or_empty(notification.url)
        text = "\n".join(part for part in (title, body, url) if part)
        return Message(
            delivery_id=delivery.pk,
            user_id=notification.user_id,
            to=slack_id,
            subject=title,
            text=text[:SECTION_TEXT_MAX],
            url=url,
            extra={"blocks": slack_blocks(title=title, body=body, url=url)},
        )

    def providers(self) -> list:
        # One client per process, built on first use (the settings are read then).
        if self._provider is None:
            self._provider = SlackProvider()
        return [self._provider]

    def send_batch(self, messages: list[Message], report: Report = no_report) -> list[SendResult]:
        return self.providers()[0].send_batch(messages, report)

    def classify(self, exc: Exception) -> Outcome:
        return self.providers()[0].classify(exc)


register(SlackChannel())
