"""The filing form's subcategories come from a copy each process keeps, and a guest's empty form
from fields rendered once; a change to a category or subcategory shows on the next page, in
this process and in every other."""

from __future__ import annotations

import re
from contextlib import contextmanager
from unittest import mock

from crispy_forms.layout import Layout
from django.core.cache import cache
from django.test import Client
from django.test.signals import template_rendered
from django.urls import reverse

from common.kept import VERSION_KEY
from complaints import selectors
from complaints.models import Subcategory
from tests.complaints.conftest import intake_post
from tests.factories import make_user, sign_in


def form_page(client) -> str:
    return client.get(reverse("complaints:create"), HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_a_renamed_added_or_withdrawn_subcategory_shows_on_the_next_filing_form(client, db):
    subcategory = Subcategory.objects.get(slug="cannot-log-in")
    assert "Cannot log in" in form_page(client)

    subcategory.name_en = "Cannot sign in at all"
    subcategory.save()
    page = form_page(client)
    assert "Cannot sign in at all" in page
    assert "Cannot log in" not in page

    Subcategory.objects.create(
        category=subcategory.category,
        slug="passkey",
        name_vi="Khoá truy cập",
        name_en="Passkey refused",
        position=99,
    )
    assert "Passkey refused" in form_page(client)

    subcategory.is_active = False
    subcategory.save()
    assert "Cannot sign in at all" not in form_page(client)


def test_another_process_sees_the_change_through_the_shared_version(client, db):
    assert "Cannot log in" in form_page(client)  # this process keeps its copy
    kept = selectors._kept.kept
    # Another process renames it: its signal changes the shared version, not this copy.
    Subcategory.objects.filter(slug="cannot-log-in").update(name_en="Renamed elsewhere")
    cache.set(VERSION_KEY, "changed by another process", timeout=None)
    selectors._kept.kept = kept
    assert "Renamed elsewhere" in form_page(client)


def test_without_a_change_the_copy_is_read_not_the_database(client, db, django_assert_num_queries):
    form_page(client)
    baseline = len(selectors.cached_active_subcategories())
    with django_assert_num_queries(0):
        assert len(selectors.cached_active_subcategories()) == baseline
        selectors.grouped_subcategory_choices()


# --- The guest's empty filing form: its fields rendered once, kept per language -----------------

KEY = re.compile(r'name="submission_key" value="([0-9a-f-]{36})"')
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')


def rendering_layouts():
    """The crispy layouts rendered while it is patched in (the filing form has one)."""
    counted = []
    real = Layout.render

    def render(layout, *args, **kwargs):
        counted.append(layout)
        return real(layout, *args, **kwargs)

    return counted, mock.patch.object(Layout, "render", render)


def test_a_guests_empty_form_is_rendered_once_and_each_page_still_gets_its_own_submission_key(client, db):
    counted, patched = rendering_layouts()
    with patched, rendered_templates() as names:
        first, second = form_page(client), form_page(client)
    assert len(counted) == 1  # the second page's fields are the first one's
    assert names.count("complaints/_intake_fields.html") == 1  # and its earlier contacts too
    assert first.count('name="contacts-0-with_whom"') == 1
    assert KEY.search(first).group(1) != KEY.search(second).group(1)
    assert first.count('name="submission_key"') == second.count('name="submission_key"') == 1
    # Nothing else differs but the CSRF tokens, masked anew on every page.
    assert CSRF.sub("", KEY.sub("", first)) == CSRF.sub("", KEY.sub("", second))


def test_the_kept_fields_are_in_the_visitors_language(client, db):
    english = form_page(client)
    vietnamese = client.get(reverse("complaints:create"), HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    assert "What is the problem about?" in english
    assert "Vấn đề liên quan đến điều gì?" in vietnamese
    assert "What is the problem about?" not in vietnamese
    assert '<option value="vi" selected>' in vietnamese
    assert '<option value="en" selected>' in english


def test_a_signed_in_complainant_gets_their_own_details_and_no_guest_gets_them(client, db):
    form_page(Client())  # a guest's form kept
    user = make_user(username="lan", email="lan@example.org")
    sign_in(client, user)
    mine = form_page(client)
    assert 'value="lan@example.org"' in mine
    assert 'value="lan@example.org"' not in form_page(Client())


@contextmanager
def rendered_templates():
    """The names of the templates rendered meanwhile, includes too (the test runner's signal)."""
    names = []

    def record(sender, template, context, **kwargs):
        names.append(template.name)

    template_rendered.connect(record)
    try:
        yield names
    finally:
        template_rendered.disconnect(record)


ROWS = "evidence/_upload_rows_fields.html"


def test_the_empty_evidence_rows_are_rendered_once_and_follow_the_size_limits(client, db, settings):
    with rendered_templates() as names:
        first, second = form_page(client), form_page(client)
    assert names.count(ROWS) == 1
    assert first.count('name="evidence-0-caption"') == second.count('name="evidence-0-caption"') == 1
    assert "up to 7 MB each" not in second
    settings.EVIDENCE_MAX_BYTES = 7 * 1024 * 1024
    assert "up to 7 MB each" in form_page(client)


def test_evidence_rows_sent_back_with_an_error_are_rendered_with_what_was_typed(client, db):
    form_page(client)  # the empty rows kept
    data = intake_post(**{"evidence-0-caption": "the receipt I could not attach", "subject": ""})
    with rendered_templates() as names:
        page = client.post(reverse("complaints:create"), data, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert names.count(ROWS) == 1
    assert "the receipt I could not attach" in page


def test_a_form_rendered_in_full_builds_its_subcategory_list_once(client, db, monkeypatch):
    sign_in(client, make_user(username="minh", email="minh@example.org"))  # nothing kept for accounts
    built = []

    def counted():
        built.append(1)
        return selectors.grouped_subcategory_choices()

    monkeypatch.setattr("complaints.forms.grouped_subcategory_choices", counted)
    page = form_page(client)
    assert len(built) == 1  # not once for the empty first option and again for the options
    assert "Cannot log in" in page
