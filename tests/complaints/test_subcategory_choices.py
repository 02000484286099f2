"""The filing form's subcategories come from a copy each process keeps; a change to a category
or subcategory shows on the next page, in this process and in every other."""

from __future__ import annotations

from django.core.cache import cache
from django.urls import reverse

from complaints import selectors
from complaints.models import Subcategory


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
    kept = selectors._subcategory_cache
    # Another process renames it: its signal changes the shared version, not this copy.
    Subcategory.objects.filter(slug="cannot-log-in").update(name_en="Renamed elsewhere")
    cache.set(selectors._VERSION_KEY, "changed by another process", timeout=None)
    selectors._subcategory_cache = kept
    assert "Renamed elsewhere" in form_page(client)


def test_without_a_change_the_copy_is_read_not_the_database(client, db, django_assert_num_queries):
    form_page(client)
    baseline = len(selectors.cached_active_subcategories())
    with django_assert_num_queries(0):
        assert len(selectors.cached_active_subcategories()) == baseline
        selectors.grouped_subcategory_choices()
