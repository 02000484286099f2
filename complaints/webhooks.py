"""The mail providers' door: inbound webhooks of Amazon SES, Mailgun, Postmark and SendGrid.

django-anymail parses each provider's post; these views put the portal's rules around it and
`hand_to_pipeline` (connected to `anymail.signals.inbound` in ComplaintsConfig.ready) passes
the message's raw bytes to the one inbound pipeline, `settings.INBOUND_HANDLER`.

What a post must prove, per provider (anymail's checks plus the portal's):

- every provider: HTTP basic auth equal to ANYMAIL["WEBHOOK_SECRET"]; without the secret
  configured every post is refused (503, so the provider keeps the mail and retries);
- Mailgun: its HMAC-SHA256 of timestamp and token with MAILGUN_WEBHOOK_SIGNING_KEY, and a
  timestamp no older than MAILGUN_WEBHOOK_MAX_AGE;
- Amazon SES (via SNS): the SNS type and message id headers match the body, and the topic is
  one of AMAZON_SES_INBOUND_TOPIC_ARNS when that is set. anymail does not verify SNS message
  signatures (that needs Amazon's signing certificate fetched over the network);
- Postmark and SendGrid: basic auth only (neither signs inbound posts in a way anymail checks).

Answers: 401 with a challenge when the credentials are missing or wrong (SNS sends them only
after a challenge), 403 when a signature or another check fails, 503 when the portal is not
configured, 413 when the post is larger than DATA_UPLOAD_MAX_MEMORY_SIZE, 500 when the
pipeline raised (nothing was accepted: every provider retries on a 5xx; the answer is a bare
status, never the portal's error page), 200 once the pipeline returned.
"""

from __future__ import annotations

import logging
from base64 import b64decode
from collections.abc import Iterator
from typing import Any

from anymail.exceptions import AnymailWebhookValidationFailure
from anymail.signals import AnymailInboundEvent, inbound
from anymail.webhooks.amazon_ses import AmazonSESInboundWebhookView
from anymail.webhooks.base import AnymailBasicAuthMixin
from anymail.webhooks.mailgun import MailgunInboundWebhookView
from anymail.webhooks.postmark import PostmarkInboundWebhookView
from anymail.webhooks.sendgrid import SendGridInboundWebhookView
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.urls import path, re_path
from django.utils import timezone
from django.utils.module_loading import import_string

from complaints.models import InboundDoor

logger = logging.getLogger(__name__)

# A Mailgun timestamp this far in the future is still taken: the two clocks may disagree.
MAILGUN_CLOCK_SKEW = 5 * 60


def json_body_limit() -> int:
    """The largest JSON post a door takes: a message of INBOUND_MAX_BYTES base64-encoded (a
    third larger, or JSON-escaped), with room for the provider's own fields."""
    return settings.INBOUND_MAX_BYTES * 3 // 2


def read_json_body(request: HttpRequest) -> None:
    """Read a post that is not a form (Postmark's JSON, SNS's) under the inbound cap rather
    than Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB by default: less than a reply with a
    phone's screenshot). Only for these doors, once the post's credentials were checked.
    Raises RequestDataTooBig over `json_body_limit()`. A form post (Mailgun, SendGrid) is
    left to Django's parser and its cap on one field."""
    if request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        return
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    limit = json_body_limit()
    if length > limit:
        raise RequestDataTooBig(f"{length} bytes, over the inbound cap of {limit}")
    body = request.read(limit + 1)
    if len(body) > limit:
        raise RequestDataTooBig(f"over the inbound cap of {limit}")
    # HttpRequest.body returns what was read: anymail's view then parses it as usual.
    request._body = body


class ProviderDoor:
    """What the four provider views share: configuration, credentials and answers.

    Placed before anymail's view in each class's bases, so its `post` wraps anymail's.
    """

    esp_name: str
    basic_auth: list[str] | str

    def missing_configuration(self) -> str | None:
        """The name of a setting this door cannot work without, or None when all are set."""
        return None if self.basic_auth else "ANYMAIL_WEBHOOK_SECRET"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        missing = self.missing_configuration()
        if missing:
            logger.error("inbound %s post refused: %s is not set", self.esp_name, missing)
            return HttpResponse(status=503)
        if not self.has_credentials(request):
            logger.warning("inbound %s post refused: missing or wrong basic auth", self.esp_name)
            response = HttpResponse(status=401)
            response["WWW-Authenticate"] = 'Basic realm="inbound"'
            return response
        try:
            read_json_body(request)
            return super().post(request, *args, **kwargs)  # type: ignore[misc]
        except AnymailWebhookValidationFailure as exc:
            logger.warning("inbound %s post refused: %s", self.esp_name, exc)
            return HttpResponse(status=403)
        except RequestDataTooBig as exc:
            # Over the inbound cap (a JSON post), or over Django's cap on a form field held
            # in memory (a form post: the raw message is one field).
            logger.error("inbound %s post refused as too large: %s", self.esp_name, exc)
            return HttpResponse(status=413)
        except Exception:
            logger.exception("inbound %s post failed; the provider will post it again", self.esp_name)
            return HttpResponse(status=500)

    def has_credentials(self, request: HttpRequest) -> bool:
        """True when the request's basic auth is the webhook secret (anymail's comparison)."""
        try:
            AnymailBasicAuthMixin.validate_request(self, request)  # type: ignore[arg-type]
        except AnymailWebhookValidationFailure:
            return False
        return True

    @staticmethod
    def original_mime(event: AnymailInboundEvent) -> bytes:
        """The message as the provider posted it; rebuilt by anymail when no raw form came."""
        return event.message.as_bytes()


class MailgunInbound(ProviderDoor, MailgunInboundWebhookView):
    """Mailgun's route `forward()` to .../mailgun/inbound_mime/ (raw MIME in `body-mime`)."""

    def missing_configuration(self) -> str | None:
        if not self.webhook_signing_key:
            return "MAILGUN_WEBHOOK_SIGNING_KEY"
        return super().missing_configuration()

    def validate_request(self, request: HttpRequest) -> None:
        # anymail checks the HMAC (which covers the timestamp); a signed post replayed later
        # than Mailgun's retries would come is refused here.
        try:
            signed_at = int(request.POST["timestamp"])
        except (KeyError, ValueError) as exc:
            raise AnymailWebhookValidationFailure("Mailgun post without a timestamp") from exc
        age = timezone.now().timestamp() - signed_at
        if not -MAILGUN_CLOCK_SKEW <= age <= settings.MAILGUN_WEBHOOK_MAX_AGE:
            raise AnymailWebhookValidationFailure(f"Mailgun signature timestamp {age:.0f} s old")

    @staticmethod
    def original_mime(event: AnymailInboundEvent) -> bytes:
        raw = event.esp_event.POST.get("body-mime")
        # anymail parses the field's text as UTF-8 bytes too: the same bytes it read.
        return raw.encode("utf-8") if raw is not None else event.message.as_bytes()


class PostmarkInbound(ProviderDoor, PostmarkInboundWebhookView):
    """Postmark's inbound webhook, with "Include raw email content in JSON payload" on."""

    @staticmethod
    def original_mime(event: AnymailInboundEvent) -> bytes:
        raw = event.esp_event.get("RawEmail")
        return raw.encode("utf-8") if raw is not None else event.message.as_bytes()


class SendGridInbound(ProviderDoor, SendGridInboundWebhookView):
    """SendGrid's Inbound Parse, with "POST the raw, full MIME message" on (the `email` field)."""

    @staticmethod
    def original_mime(event: AnymailInboundEvent) -> bytes:
        raw = event.esp_event.POST.get("email")
        return raw.encode("utf-8") if raw is not None else event.message.as_bytes()


class AmazonSesInbound(ProviderDoor, AmazonSESInboundWebhookView):
    """An SES receipt rule's SNS action (the message in the notification) or S3 action."""

    def validate_request(self, request: HttpRequest) -> None:
        allowed = settings.AMAZON_SES_INBOUND_TOPIC_ARNS
        topic = self._parse_sns_message(request).get("TopicArn")
        if allowed and topic not in allowed:
            raise AnymailWebhookValidationFailure(f"SNS topic {topic!r} is not an accepted topic")

    def fetch_s3_chunks(self, bucket_name: str, object_key: str) -> Iterator[bytes]:
        # The S3 action: anymail streams the object into its parser and keeps no copy; keep one.
        for chunk in super().fetch_s3_chunks(bucket_name, object_key):
            self.fetched += chunk
            yield chunk

    def esp_to_anymail_events(self, ses_event: dict, sns_message: dict) -> list[AnymailInboundEvent]:
        self.fetched = bytearray()
        events = super().esp_to_anymail_events(ses_event, sns_message)
        for event in events:
            event.s3_object = bytes(self.fetched)
        return events

    @staticmethod
    def original_mime(event: AnymailInboundEvent) -> bytes:
        notification = event.esp_event
        content = notification.get("content")
        if content is None:
            return event.s3_object
        if notification.get("receipt", {}).get("action", {}).get("encoding") == "BASE64":
            return b64decode(content.encode("ascii"))
        return content.encode("utf-8")


DOORS: tuple[type[ProviderDoor], ...] = (AmazonSesInbound, MailgunInbound, PostmarkInbound, SendGridInbound)


def hand_to_pipeline(
    sender: type[ProviderDoor], event: AnymailInboundEvent, esp_name: str, **kwargs: Any
) -> None:
    """Receiver of `anymail.signals.inbound` from the DOORS: one message to INBOUND_HANDLER.

    The handler stores the message and applies its effects in its own transaction; what it
    raises propagates, so the door answers 500 and the provider posts the message again.
    """
    handler = import_string(settings.INBOUND_HANDLER)
    handler(sender.original_mime(event), door=InboundDoor.WEBHOOK)


def connect_doors() -> None:
    """Connect `hand_to_pipeline` to anymail's inbound signal, for the portal's own views only."""
    for door in DOORS:
        inbound.connect(hand_to_pipeline, sender=door, dispatch_uid=f"complaints.webhooks.{door.__name__}")


app_name = "inbound"
urlpatterns = [
    path("amazon_ses/inbound/", AmazonSesInbound.as_view(), name="amazon_ses"),
    # Mailgun posts raw MIME when the URL contains "mime", its parsed fields otherwise.
    re_path(r"^mailgun/inbound(?:_mime)?/$", MailgunInbound.as_view(), name="mailgun"),
    path("postmark/inbound/", PostmarkInbound.as_view(), name="postmark"),
    path("sendgrid/inbound/", SendGridInbound.as_view(), name="sendgrid"),
]
