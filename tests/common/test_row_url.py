"""common.urls.row_url gives what reverse() gives, a route reversed once for a page's rows; and
{% route %} what {% url %} gives, each route reversed once per process."""

import uuid
from unittest import mock

import pytest
from django.template import engines
from django.urls import NoReverseMatch, reverse, set_script_prefix

from common.urls import row_url


@pytest.mark.parametrize("argument", ["KN-0001-ABCD", "a b", "é-ü", "x?y#z", "100%", "a:b@c~d"])
def test_a_row_url_is_the_url_reverse_gives(argument):
    assert row_url("staff:case")(argument) == reverse("staff:case", args=[argument])
    assert row_url("staff:assign")(argument) == reverse("staff:assign", args=[argument])


@pytest.mark.parametrize("argument", ["", "a/b"])
def test_an_argument_the_route_refuses_is_refused(argument):
    with pytest.raises(NoReverseMatch):
        reverse("staff:case", args=[argument])
    with pytest.raises(NoReverseMatch):
        row_url("staff:case")(argument)


def test_a_uuid_route_with_fixed_arguments_after_the_rows():
    public_id = uuid.uuid4()
    for variant in ("thumb", "view", "original"):
        url = row_url("evidence:download", variant)
        assert url(public_id) == reverse("evidence:download", args=[public_id, variant])
        assert url(str(public_id)) == reverse("evidence:download", args=[str(public_id), variant])
    for refused in ("ROWARGUMENT", "not-a-uuid", str(public_id).upper()):
        with pytest.raises(NoReverseMatch):
            reverse("evidence:download", args=[refused, "thumb"])
        with pytest.raises(NoReverseMatch):
            row_url("evidence:download", "thumb")(refused)


# --- {% route %}: {% url %} with each route reversed once per process ---------------------------


def render(source: str, **context) -> str:
    return engines["django"].from_string("{% load routes %}" + source).render(context)


@pytest.mark.parametrize(
    ("tag", "context"),
    [
        ("'staff:reply' ref", {"ref": "KN-0001-ABCD"}),
        ("'complaints:withdraw_consent' ref", {"ref": "a b?é"}),
        ("'evidence:download' public_id 'thumb'", {"public_id": uuid.UUID(int=7)}),
        ("'privacy'", {}),
        ("'staff:mail_open' pk", {"pk": 42}),  # an <int:…> route: reversed each time
    ],
)
def test_a_route_is_the_url_the_url_tag_gives(tag, context):
    assert render("{% route " + tag + " %}", **context) == render("{% url " + tag + " %}", **context)


def test_a_route_is_reversed_once_then_kept():
    assert render("{% route 'staff:note' ref %}", ref="KN-1") == reverse("staff:note", args=["KN-1"])
    with mock.patch("common.urls.reverse", side_effect=AssertionError("reversed again")):
        assert render("{% route 'staff:note' ref %}", ref="KN-2") == reverse("staff:note", args=["KN-2"])


def test_a_route_follows_the_script_prefix_and_the_urlconf(settings):
    plain = render("{% route 'staff:resolve' ref %}", ref="KN-1")
    set_script_prefix("/portal/")
    try:
        assert render("{% route 'staff:resolve' ref %}", ref="KN-1") == "/portal" + plain
    finally:
        set_script_prefix("/")
    settings.ROOT_URLCONF = "tests.urls_with_a_failing_page"
    assert render("{% route 'failing_page' %}") == "/failing-page/"


def test_a_route_refuses_what_the_url_tag_refuses():
    for source in ("{% route 'staff:case' ref %}", "{% url 'staff:case' ref %}"):
        with pytest.raises(NoReverseMatch):
            render(source, ref="a/b")
