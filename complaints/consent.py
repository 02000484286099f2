"""The privacy notice a complainant reads and consents to when filing, and its version.

The notice is one template (complaints/_privacy_notice.html) shown in the visitor's
language; its version is a digest of its text in every language the portal speaks, so any
change to the wording, in either language or in the settings it names, is a new version.
The first consent to a version records its texts (ConsentWording), so the wording behind a
complaint's consent can always be shown.
"""

from __future__ import annotations

import functools
import hashlib
import re
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.html import strip_tags

from common.prepared import Param, Prepared
from complaints.models import ConsentWording

NOTICE_TEMPLATE = "complaints/_privacy_notice.html"


def notice_context() -> dict[str, object]:
    """What the notice names, from the settings."""
    return {
        "operator": settings.PORTAL_OPERATOR_NAME,
        "privacy_email": settings.PRIVACY_CONTACT_EMAIL,
        "retention_years": settings.RETENTION_DEFAULT_YEARS,
    }


def notice_text(language: str) -> str:
    """The notice in `language`, as plain text (one paragraph a line)."""
    with translation.override(language):
        markup = render_to_string(NOTICE_TEMPLATE, notice_context())
    lines = (" ".join(line.split()) for line in strip_tags(markup).splitlines())
    return re.sub(r"\n{2,}", "\n", "\n".join(line for line in lines if line)).strip()


def current_version() -> tuple[str, dict[str, str]]:
    """The version of the notice as it reads now, and its text in each language."""
    return _version(*notice_context().values())


@functools.lru_cache(maxsize=8)
def _version(*settings_named: object) -> tuple[str, dict[str, str]]:
    # Rendered once per process for the settings the notice names (the catalogues do not
    # change while it runs): filing a complaint does not render it twice more.
    texts = {code: notice_text(code) for code, _name in settings.LANGUAGES}
    digest = hashlib.sha256("\n\x00\n".join(texts[code] for code in sorted(texts)).encode()).hexdigest()
    return f"pn-{digest[:20]}", texts


# Whether a version's wording is recorded: one read, compiled once per process.
_RECORDED = Prepared(ConsentWording.objects.filter(version=Param("version")).values_list("pk"))


def record_consent_wording(*, now: datetime) -> str:
    """The current version, its wording recorded (once) so it can be shown later.

    Once recorded, one read says so (a round trip, no transaction of its own): every
    filing asks, and only the first consent to a wording writes it.
    """
    version, texts = current_version()
    if _RECORDED(version=version):
        return version
    try:
        with transaction.atomic():
            ConsentWording.objects.get_or_create(
                version=version,
                defaults={"text_vi": texts.get("vi", ""), "text_en": texts.get("en", ""), "created_at": now},
            )
    except IntegrityError:  # recorded by another request at the same moment
        pass
    return version
