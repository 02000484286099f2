"""Everything the portal seeds reads in Vietnamese and English.

The migrations seed the role groups, categories, the ladder, SLA policies and the office
calendar with its holidays; `seed_demo` adds the demo accounts, canned replies and demo
complaints. The test walks every row of every model of the portal's apps (and the role
groups) after both, and every text column it finds: a column ending in `_vi` needs its
`_en` twin and the other way round, both filled and not the same text; a text column with
no twin must be named below as not the portal's wording (people's own words, names,
identifiers), so a new seeded model or column written in one language fails here.
"""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import models
from django.urls import reverse
from django.utils import translation

from accounts.models import Role
from complaints.models import Complaint
from tests.factories import make_user, sign_in

pytestmark = pytest.mark.django_db

PORTAL_APPS = ("accounts", "complaints", "escalation", "evidence")

# Models whose text is what people wrote or are called, or machine keys: never translated.
NOT_WORDING = {
    "accounts.User": "people's names, usernames and password hashes",
    "complaints.Complaint": "what the complainant wrote, in their own language",
    "complaints.ComplaintEvent": "what people wrote on the timeline",
    "complaints.ContactAttempt": "what the complainant reports of their contacts",
    "complaints.TrackingToken": "a token's hash",
    "complaints.Notification": "an outbox row: template name, address, language code, error",
    "complaints.ReportTally": "counts, and the time zone name they were kept in",
    "escalation.Escalation": "a trigger key and what staff wrote",
    "evidence.Evidence": "file names, captions, hashes and storage keys",
    # One row per language (its `language` column): the test below checks both are there.
    "escalation.LetterTemplate": "a letter in one language, beside its twin in the other",
}
# Single columns of otherwise translated models that are identifiers, not wording.
IDENTIFIERS = {
    ("escalation.BusinessCalendar", "time_zone"): "an IANA time zone name",
    ("complaints.Incident", "provider_name"): "a service's own name, as complainants write it",
    ("complaints.Incident", "provider_key"): "that name as a key, what filings are matched by",
}
# Twin columns written later in a row's life, both empty until then (never one without the other).
LATER_PAIRS = {
    ("complaints.Incident", "resolution"): "how an incident was solved, written when it is resolved",
}
# Columns whose value is a key into the message catalogue: its label there must be translated.
CATALOGUE_KEYS = {("auth.Group", "name"): Role}


def text_columns(model: type[models.Model]) -> list[models.Field]:
    """The model's free-text columns: choices, slugs and addresses are not wording."""
    return [
        field
        for field in model._meta.concrete_fields
        if isinstance(field, models.CharField | models.TextField)
        and not field.choices
        and not isinstance(field, models.SlugField | models.EmailField | models.URLField)
    ]


def seeded_models() -> list[type[models.Model]]:
    portal = [model for app in PORTAL_APPS for model in apps.get_app_config(app).get_models()]
    return [*portal, Group]


def untranslated_seeded_text() -> list[str]:
    problems = []
    for model in seeded_models():
        label = model._meta.label
        if label in NOT_WORDING:
            continue
        columns = {field.name for field in text_columns(model)}
        rows = list(model._default_manager.values("pk", *columns)) if columns else []
        for name in sorted(columns):
            if (label, name) in IDENTIFIERS:
                continue
            if (label, name) in CATALOGUE_KEYS:
                choices = CATALOGUE_KEYS[(label, name)]
                for row in rows:
                    value = row[name]
                    if value not in choices.values:
                        problems.append(f"{label} #{row['pk']}.{name} = {value!r} is in no catalogue")
                        continue
                    with translation.override("vi"):
                        vi = str(choices(value).label)
                    if vi == value:
                        problems.append(f"{label} #{row['pk']}.{name} = {value!r} has no Vietnamese label")
                continue
            stem, _sep, suffix = name.rpartition("_")
            twin = {"vi": f"{stem}_en", "en": f"{stem}_vi"}.get(suffix)
            if twin is None or twin not in columns:
                if rows:
                    problems.append(f"{label}.{name}: seeded text in one language ({rows[0][name]!r})")
                continue
            if suffix != "vi":
                continue
            for row in rows:
                vi, en = (row[name] or "").strip(), (row[twin] or "").strip()
                if not vi and not en and (label, stem) in LATER_PAIRS:
                    continue
                if not vi or not en:
                    problems.append(f"{label} #{row['pk']}.{stem}: vi={vi!r} en={en!r}, one is missing")
                elif vi == en:
                    problems.append(f"{label} #{row['pk']}.{stem}: {vi!r} in both languages")
    return problems


def test_everything_seeded_reads_in_vietnamese_and_english(settings):
    settings.DEBUG = True
    call_command("seed_demo")
    assert not untranslated_seeded_text()


def test_every_seeded_letter_is_written_in_vietnamese_and_english():
    from escalation.models import LetterKind, LetterTemplate, Regime

    texts = {(row.regime_id, row.kind, row.language): row.body for row in LetterTemplate.objects.all()}
    for regime in Regime.objects.all():
        for kind in LetterKind.values:
            vi, en = texts.get((regime.pk, kind, "vi")), texts.get((regime.pk, kind, "en"))
            assert vi and en and vi != en, (regime.code, kind)


def test_the_walk_catches_seeded_text_without_its_vietnamese(settings):
    from complaints.models import Category

    Category.objects.create(slug="new", name_vi="", name_en="New category")
    assert any(
        "Category" in problem and "one is missing" in problem for problem in untranslated_seeded_text()
    )


# The example: this reply kept its English title on the Vietnamese staff page.
TITLES = {"vi": "Cần mã đơn hàng hoặc mã giao dịch", "en": "Need the order or transaction number"}


@pytest.mark.parametrize("language", ["vi", "en"])
def test_the_staff_page_names_canned_replies_in_the_readers_language(client, settings, language):
    settings.DEBUG = True
    call_command("seed_demo")
    sign_in(client, make_user(role=Role.AGENT, preferred_language=language))
    # An English complaint on a Vietnamese page and the other way round: the title follows
    # the reader, the text the complainant.
    complaint = Complaint.objects.filter(status="new").first()
    complaint.language = "en" if language == "vi" else "vi"
    complaint.save(update_fields=["language"])
    page = client.get(
        reverse("staff:case", args=[complaint.reference]), HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()
    other = "en" if language == "vi" else "vi"
    assert f">{TITLES[language]}</option>" in page
    assert TITLES[other] not in page
