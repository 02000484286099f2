"""The mail providers' door: each provider's post as it sends it, through the whole stack.

The pipeline is replaced by `record` (settings.INBOUND_HANDLER); every check of the provider's
credentials and signatures runs for real.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from base64 import b64encode
from collections.abc import Callable
from email import message_from_bytes
from email.header import decode_header, make_header
from email.policy import default as default_policy
from typing import Any

import boto3
import pytest
from django.test import Client
from django.urls import reverse

from tests.config.test_environment import load_settings
from tests.evidence import test_s3

# moto's S3 server, started once per module (the evidence tests' fixture).
moto_endpoint = test_s3.moto_endpoint

pytestmark = [
    pytest.mark.django_db,
    # anymail warns on every SendGrid view (it no longer tests SendGrid itself) and, in the tests
    # that unset the secret, that such a view would be open: the door refuses those posts.
    pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailNotSupportedWarning"),
    pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailInsecureWebhookWarning"),
]

SECRET = "provider:s3cret-Shared"
SIGNING_KEY = "key-mailgun-signing-0123456789"
TOPIC = "arn:aws:sns:ap-southeast-1:111122223333:portal-inbound"
SNS = "https://sns.ap-southeast-1.amazonaws.com"

# A complainant's reply as a mail client writes it: RFC 2047 subject, quoted-printable body.
MESSAGE_ID = "<CAF=reply.2026.12.01@mail.gmail.com>"
REPLY = (
    b"Return-Path: <lan@example.org>\r\n"
    b"Authentication-Results: mx.example.net; spf=pass smtp.mailfrom=example.org\r\n"
    b"From: =?UTF-8?B?Tmfhu41jIExhbg==?= <lan@example.org>\r\n"
    b"To: reply+tK7x9QmWv2@portal.example.vn\r\n"
    b"Subject: =?UTF-8?Q?Re:_[KN-7Q4M-2XPA]_Kh=C3=B4ng_=C4=91=C4=83ng_nh=E1=BA=ADp_=C4=91?=\r\n"
    b" =?UTF-8?Q?=C6=B0=E1=BB=A3c?=\r\n"
    b"Date: Tue, 01 Dec 2026 07:05:00 +0700\r\n"
    b"Message-ID: " + MESSAGE_ID.encode() + b"\r\n"
    b"In-Reply-To: <notice.41@portal.example.vn>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=UTF-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"T=C3=B4i =C4=91=C3=A3 g=E1=BB=ADi l=E1=BA=A1i m=C3=A3 OTP, v=E1=BA=ABn kh=C3=B4ng =\r\n"
    b"nh=E1=BA=ADn =C4=91=C6=B0=E1=BB=A3c.\r\n"
    b"\r\n"
    b"V=C3=A0o 10:00 30/11/2026, C=E1=BB=95ng khi=E1=BA=BFu n=E1=BA=A1i =C4=91=C3=A3 vi=\r\n"
    b"=E1=BA=BFt:\r\n"
    b"> Xin b=E1=BB=95 sung th=C3=B4ng tin.\r\n"
)
SUBJECT = "Re: [KN-7Q4M-2XPA] Không đăng nhập được"
BODY_START = "Tôi đã gửi lại mã OTP, vẫn không nhận được."

RECEIVED: list[bytes] = []


def record(raw: bytes, *, door: str) -> None:
    """The test's pipeline: keeps what the door handed on."""
    assert door == "webhook"
    RECEIVED.append(raw)


def failing_pipeline(raw: bytes, *, door: str) -> None:
    """A pipeline that cannot take the message now (its transaction rolled back)."""
    raise RuntimeError("the database refused the timeline entry")


@pytest.fixture(autouse=True)
def configured(settings) -> None:
    RECEIVED.clear()
    settings.INBOUND_HANDLER = "tests.complaints.test_webhooks.record"
    settings.ANYMAIL = {
        "WEBHOOK_SECRET": SECRET,
        "MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY,
        "AMAZON_SES_AUTO_CONFIRM_SNS_SUBSCRIPTIONS": True,
    }
    settings.AMAZON_SES_INBOUND_TOPIC_ARNS = []


@pytest.fixture
def client() -> Client:
    # A provider sends no CSRF token: the doors must not need one.
    return Client(enforce_csrf_checks=True)


def basic_auth(credentials: str = SECRET) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + b64encode(credentials.encode()).decode()}


def mailgun_signature(timestamp: str, token: str, key: str = SIGNING_KEY) -> str:
    return hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()


def post_mailgun(client: Client, *, age: int = 0, key: str = SIGNING_KEY, **headers: str) -> Any:
    """A Mailgun route's forward() to a URL with "mime" in it: the form Mailgun posts."""
    timestamp = str(int(time.time()) - age)
    token = "f1a3c0de" * 6 + "9b"
    data = {
        "recipient": "reply+tK7x9QmWv2@portal.example.vn",
        "sender": "lan@example.org",
        "from": "Ngọc Lan <lan@example.org>",
        "subject": SUBJECT,
        "body-mime": REPLY.decode("ascii"),
        "timestamp": timestamp,
        "token": token,
        "signature": mailgun_signature(timestamp, token, key),
    }
    return client.post("/inbound/mailgun/inbound_mime/", data, secure=True, **headers)


def post_postmark_payload() -> str:
    """Postmark's inbound JSON with "Include raw email content in JSON payload" on."""
    payload = {
        "FromName": "Ngọc Lan",
        "MessageStream": "inbound",
        "From": "lan@example.org",
        "FromFull": {"Email": "lan@example.org", "Name": "Ngọc Lan", "MailboxHash": ""},
        "To": "reply+tK7x9QmWv2@portal.example.vn",
        "ToFull": [{"Email": "reply+tK7x9QmWv2@portal.example.vn", "Name": "", "MailboxHash": "tK7x9QmWv2"}],
        "Cc": "",
        "CcFull": [],
        "Bcc": "",
        "BccFull": [],
        "OriginalRecipient": "reply+tK7x9QmWv2@portal.example.vn",
        "Subject": SUBJECT,
        "MessageID": "22c74902-a0c1-4511-804f-341342852c90",
        "ReplyTo": "",
        "MailboxHash": "tK7x9QmWv2",
        "Date": "Tue, 01 Dec 2026 07:05:00 +0700",
        "TextBody": BODY_START,
        "HtmlBody": "",
        "StrippedTextReply": BODY_START,
        "Tag": "",
        "Headers": [
            {"Name": "Return-Path", "Value": "<lan@example.org>"},
            {"Name": "Message-ID", "Value": MESSAGE_ID},
            {"Name": "In-Reply-To", "Value": "<notice.41@portal.example.vn>"},
        ],
        "Attachments": [],
        "RawEmail": REPLY.decode("ascii"),
    }
    return json.dumps(payload)


def post_postmark(client: Client, **headers: str) -> Any:
    body = post_postmark_payload()
    return client.post(
        reverse("inbound:postmark"), body, content_type="application/json", secure=True, **headers
    )


def post_sendgrid(client: Client, **headers: str) -> Any:
    """SendGrid's Inbound Parse with "POST the raw, full MIME message" on."""
    data = {
        "email": REPLY.decode("ascii"),
        "to": "reply+tK7x9QmWv2@portal.example.vn",
        "from": "Ngọc Lan <lan@example.org>",
        "subject": SUBJECT,
        "sender_ip": "209.85.220.41",
        "envelope": json.dumps({"to": ["reply+tK7x9QmWv2@portal.example.vn"], "from": "lan@example.org"}),
        "charsets": json.dumps({"to": "UTF-8", "from": "UTF-8", "subject": "UTF-8"}),
        "SPF": "pass",
        "dkim": "{@example.org : pass}",
        "spam_score": "0.1",
    }
    return client.post(reverse("inbound:sendgrid"), data, secure=True, **headers)


def sns_notification(
    *, topic: str = TOPIC, message_type: str = "Notification", **fields: Any
) -> dict[str, Any]:
    ses_event = {
        "notificationType": "Received",
        "mail": {
            "timestamp": "2026-12-01T00:05:01.000Z",
            "source": "lan@example.org",
            "messageId": "o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g1",
            "destination": ["reply+tK7x9QmWv2@portal.example.vn"],
            "headersTruncated": False,
            "headers": [{"name": "Message-ID", "value": MESSAGE_ID}],
            "commonHeaders": {"from": ["Ngọc Lan <lan@example.org>"], "messageId": MESSAGE_ID},
        },
        "receipt": {
            "timestamp": "2026-12-01T00:05:01.000Z",
            "processingTimeMillis": 420,
            "recipients": ["reply+tK7x9QmWv2@portal.example.vn"],
            "spamVerdict": {"status": "PASS"},
            "virusVerdict": {"status": "PASS"},
            "spfVerdict": {"status": "PASS"},
            "dkimVerdict": {"status": "PASS"},
            "dmarcVerdict": {"status": "PASS"},
            "action": {"type": "SNS", "topicArn": topic, "encoding": "BASE64"},
        },
        "content": b64encode(REPLY).decode("ascii"),
    }
    return {
        "Type": message_type,
        "MessageId": "f5d1b5a4-2b3c-5d6e-8f90-a1b2c3d4e5f6",
        "TopicArn": topic,
        "Subject": "Amazon SES Email Receipt Notification",
        "Message": json.dumps(ses_event),
        "Timestamp": "2026-12-01T00:05:02.000Z",
        "SignatureVersion": "1",
        # SNS signs every message; anymail does not check it (it needs Amazon's certificate).
        "Signature": b64encode(b"not checked by anymail" * 8).decode("ascii"),
        "SigningCertURL": f"{SNS}/SimpleNotificationService-0000000000000000000000.pem",
        "UnsubscribeURL": f"{SNS}/?Action=Unsubscribe&SubscriptionArn={topic}",
        **fields,
    }


def post_sns(client: Client, body: dict[str, Any], *, header_type: str | None = None, **headers: str) -> Any:
    """An SNS HTTPS delivery: the JSON as text/plain, its type and id repeated in headers."""
    return client.post(
        reverse("inbound:amazon_ses"),
        json.dumps(body),
        content_type="text/plain; charset=UTF-8",
        secure=True,
        HTTP_X_AMZ_SNS_MESSAGE_TYPE=header_type or body["Type"],
        HTTP_X_AMZ_SNS_MESSAGE_ID=body["MessageId"],
        HTTP_X_AMZ_SNS_TOPIC_ARN=body["TopicArn"],
        **headers,
    )


def post_amazon_ses(client: Client, **headers: str) -> Any:
    """An SES receipt rule's SNS action (BASE64 encoding) delivered to an HTTPS subscription."""
    return post_sns(client, sns_notification(), **headers)


PROVIDERS: dict[str, Callable[..., Any]] = {
    "amazon_ses": post_amazon_ses,
    "mailgun": post_mailgun,
    "postmark": post_postmark,
    "sendgrid": post_sendgrid,
}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_authenticated_post_hands_the_pipeline_the_original_message(client, settings, provider) -> None:
    settings.SECURE_SSL_REDIRECT = True  # as in production: providers post over HTTPS

    response = PROVIDERS[provider](client, **basic_auth())

    assert response.status_code == 200
    assert RECEIVED == [REPLY]  # byte for byte: the pipeline seals the original
    message = message_from_bytes(RECEIVED[0], policy=default_policy)
    assert message["Message-ID"] == MESSAGE_ID
    assert message["From"].addresses[0].addr_spec == "lan@example.org"
    assert message["From"].addresses[0].display_name == "Ngọc Lan"
    assert str(make_header(decode_header(message["Subject"]))) == SUBJECT
    assert message.get_content().startswith(BODY_START)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_post_without_credentials_is_challenged_and_not_handed_on(client, provider) -> None:
    response = PROVIDERS[provider](client)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic ")
    assert RECEIVED == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_post_with_the_wrong_secret_is_refused(client, provider) -> None:
    response = PROVIDERS[provider](client, **basic_auth("provider:guessed"))

    assert response.status_code == 401
    assert RECEIVED == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_post_is_refused_while_the_webhook_secret_is_unset(client, settings, provider) -> None:
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": ""}

    # With no secret to compare with, any credentials at all (or none) must not pass.
    assert PROVIDERS[provider](client, **basic_auth()).status_code == 503
    assert PROVIDERS[provider](client).status_code == 503
    assert RECEIVED == []


def test_a_mailgun_post_with_a_wrong_signature_is_refused(client) -> None:
    response = post_mailgun(client, key="key-someone-else", **basic_auth())

    assert response.status_code == 403
    assert RECEIVED == []


def test_a_mailgun_post_signed_longer_ago_than_its_retries_is_refused(client, settings) -> None:
    settings.MAILGUN_WEBHOOK_MAX_AGE = 3600

    assert post_mailgun(client, age=3600 - 60, **basic_auth()).status_code == 200
    assert post_mailgun(client, age=3600 + 60, **basic_auth()).status_code == 403
    assert post_mailgun(client, age=-3600, **basic_auth()).status_code == 403  # signed "in the future"
    assert RECEIVED == [REPLY]


def test_mailgun_posts_are_refused_while_the_signing_key_is_unset(client, settings) -> None:
    settings.ANYMAIL = {**settings.ANYMAIL, "MAILGUN_WEBHOOK_SIGNING_KEY": ""}

    # An empty key would make anyone's HMAC "valid".
    response = post_mailgun(client, key="", **basic_auth())

    assert response.status_code == 503
    assert RECEIVED == []


def test_an_sns_post_whose_headers_contradict_its_body_is_refused(client) -> None:
    response = post_sns(client, sns_notification(), header_type="SubscriptionConfirmation", **basic_auth())

    assert response.status_code == 403
    assert RECEIVED == []


def test_only_the_accepted_sns_topics_are_taken_when_they_are_listed(client, settings) -> None:
    settings.AMAZON_SES_INBOUND_TOPIC_ARNS = [TOPIC]
    other = "arn:aws:sns:us-east-1:444455556666:someone-else"

    assert post_sns(client, sns_notification(topic=other), **basic_auth()).status_code == 403
    assert RECEIVED == []
    assert post_sns(client, sns_notification(), **basic_auth()).status_code == 200
    assert RECEIVED == [REPLY]


def test_a_subscription_to_an_unlisted_topic_is_refused_without_asking_aws(client, settings) -> None:
    settings.AMAZON_SES_INBOUND_TOPIC_ARNS = [TOPIC]
    other = "arn:aws:sns:us-east-1:444455556666:someone-else"
    confirmation = sns_notification(
        topic=other,
        message_type="SubscriptionConfirmation",
        Token="2336412f37fb687f5d51e6e2425c464de12884f" + "0" * 20,
        Message="You have chosen to subscribe to the topic.",
    )

    # Were it accepted, anymail would call SNS ConfirmSubscription, which fails on this machine.
    assert post_sns(client, confirmation, **basic_auth()).status_code == 403


def test_an_ses_s3_action_hands_on_the_stored_object_byte_for_byte(client, settings, moto_endpoint) -> None:
    """A receipt rule's S3 action (messages over SNS's 150 KB), read from moto's S3 over HTTP."""
    credentials = {
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        "region_name": "us-east-1",
    }
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, **credentials)
    s3.create_bucket(Bucket="portal-inbound-mail")
    s3.put_object(Bucket="portal-inbound-mail", Key="inbound/o3vrnil0e2ic", Body=REPLY)
    settings.ANYMAIL = {
        **settings.ANYMAIL,
        "AMAZON_SES_CLIENT_PARAMS": {"endpoint_url": moto_endpoint, **credentials},
    }
    notification = sns_notification()
    ses_event = json.loads(notification["Message"])
    del ses_event["content"]
    ses_event["receipt"]["action"] = {
        "type": "S3",
        "topicArn": TOPIC,
        "bucketName": "portal-inbound-mail",
        "objectKey": "inbound/o3vrnil0e2ic",
    }
    notification["Message"] = json.dumps(ses_event)

    response = post_sns(client, notification, **basic_auth())

    assert response.status_code == 200
    assert RECEIVED == [REPLY]


def test_a_failing_pipeline_answers_a_bare_500_and_the_retry_is_taken(client, settings) -> None:
    settings.INBOUND_HANDLER = "tests.complaints.test_webhooks.failing_pipeline"

    response = post_postmark(client, **basic_auth())

    # Every provider posts again after a 5xx; the answer is a status, not the portal's error page.
    assert response.status_code == 500
    assert response.content == b""

    settings.INBOUND_HANDLER = "tests.complaints.test_webhooks.record"
    assert post_postmark(client, **basic_auth()).status_code == 200
    assert RECEIVED == [REPLY]


@pytest.mark.parametrize("provider", ["mailgun", "sendgrid"])
def test_a_form_post_larger_than_django_holds_in_memory_is_refused_as_too_big(
    client, settings, provider
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = len(REPLY) // 2

    response = PROVIDERS[provider](client, **basic_auth())

    assert response.status_code == 413
    assert RECEIVED == []


@pytest.mark.parametrize("provider", ["postmark", "amazon_ses"])
def test_a_json_post_is_taken_up_to_the_inbound_cap_whatever_django_holds_in_memory(
    client, settings, provider
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = len(REPLY) // 2  # a reply with a screenshot is larger

    assert PROVIDERS[provider](client, **basic_auth()).status_code == 200
    assert RECEIVED == [REPLY]

    settings.INBOUND_MAX_BYTES = len(REPLY) // 4  # ...but not larger than the portal takes in
    RECEIVED.clear()
    response = PROVIDERS[provider](client, **basic_auth())
    assert response.status_code == 413 and RECEIVED == []


def test_a_postmark_post_without_the_raw_email_hands_on_the_message_anymail_rebuilt(client) -> None:
    payload = json.loads(post_postmark_payload())
    del payload["RawEmail"]

    response = client.post(
        reverse("inbound:postmark"), json.dumps(payload), content_type="application/json", **basic_auth()
    )

    assert response.status_code == 200
    message = message_from_bytes(RECEIVED[0], policy=default_policy)
    assert message["Message-ID"] == MESSAGE_ID
    assert message["From"].addresses[0].addr_spec == "lan@example.org"
    assert str(message["Subject"]) == SUBJECT
    assert message.get_body(("plain",)).get_content().startswith(BODY_START)


@pytest.mark.parametrize(
    "path",
    [
        "/inbound/mailjet/inbound/",
        "/inbound/brevo/inbound/",
        "/inbound/postmark/tracking/",
        "/inbound/mandrill/",
    ],
)
def test_only_the_four_providers_inbound_doors_are_open(client, path) -> None:
    assert client.post(path, {}, secure=True, **basic_auth()).status_code == 404


@pytest.mark.parametrize("secret", ["s3cret-without-a-user", ":", "provider:"])
def test_a_webhook_secret_that_is_not_user_and_password_fails_at_start_up(tmp_path, secret) -> None:
    result = load_settings(tmp_path, DEBUG="true", ANYMAIL_WEBHOOK_SECRET=secret)

    assert result.returncode != 0
    assert "ANYMAIL_WEBHOOK_SECRET" in result.stderr
