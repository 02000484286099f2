"""common.bootstrap writes the forms crispy-bootstrap5 would: every page with a form, shown
empty and again with its errors, in both languages, is rendered twice, once with the
portal's `bootstrap_forms` library and once with crispy's own filters under that name, and
the two pages must have the same elements, attributes and text (whitespace between tags
aside: crispy's templates leave some, which no browser shows)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from html.parser import HTMLParser

import pytest
from django import forms
from django.conf import settings
from django.core.cache import caches
from django.test import Client, override_settings
from django.urls import reverse

from accounts.models import Role
from complaints.models import PrivacyRequest
from tests.complaints.conftest import intake_post
from tests.factories import NOW, make_complaint, make_user, resolve, sign_in

pytestmark = pytest.mark.django_db

CRISPY = copy.deepcopy(settings.TEMPLATES)
CRISPY[0]["OPTIONS"]["libraries"]["bootstrap_forms"] = "crispy_forms.templatetags.crispy_forms_filters"
# Values that differ from one rendering to the next whoever writes the form.
PER_REQUEST = {"csrfmiddlewaretoken", "submission_key"}


class Tokens(HTMLParser):
    """A page as the browser reads it: its tags with their attributes, and its text with each
    run of whitespace as one space (text of whitespace alone dropped)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tokens: list[tuple] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs).get("name") or ""
        masked = tuple(
            (
                key,
                "*" if key == "nonce" or (key == "value" and named.split("-")[-1] in PER_REQUEST) else value,
            )
            for key, value in attrs
        )
        self.tokens.append(("<", tag, masked))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        self.tokens.append(("/", tag))

    def handle_data(self, data: str) -> None:
        if text := " ".join(data.split()):
            self.tokens.append(("text", text))


def tokens(html: str) -> list[tuple]:
    parser = Tokens()
    parser.feed(html)
    parser.close()
    return parser.tokens


def both(request: Callable[[], object]) -> tuple[list[tuple], list[tuple], int]:
    """The page `request` answers, written by the portal's filters and by crispy's."""
    pages = []
    for templates in (settings.TEMPLATES, CRISPY):
        with override_settings(TEMPLATES=templates):
            for name in ("default", "template_fragments"):  # no fragment cached by the other
                caches[name].clear()
            response = request()
        pages.append(response)
    ours, crispys = pages
    assert ours.status_code == crispys.status_code
    return tokens(ours.content.decode()), tokens(crispys.content.decode()), ours.status_code


def same(request: Callable[[], object]) -> int:
    ours, crispys, status = both(request)
    assert ours == crispys
    return status


def has_errors(page: list[tuple]) -> bool:
    return any(token[0] == "<" and ("class", "invalid-feedback") in token[2] for token in page)


@pytest.fixture(params=["vi", "en"])
def language(request, settings) -> str:
    return request.param


def browser(user=None, *, language: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    if user is not None:
        sign_in(client, user)
    return client


# Each complainant action whose form is invalid empty, posted empty: the case page again, with
# its errors (and nothing done, so that both renderings see the same case).
COMPLAINANT_POSTS = [
    "reply",
    "add_contact",
    "withdraw_consent",
    "correct_contact",
    "privacy_request",
    "request_escalation",
]
STAFF_POSTS = ["reply", "note", "request_info", "reclassify", "assign", "escalate", "de_escalate", "resolve"]


def test_the_complainants_case_page(language):
    complainant = make_user()
    complaint = make_complaint(by=complainant)
    client = browser(complainant, language=language)
    page = reverse("complaints:detail", args=[complaint.reference])
    assert same(lambda: client.get(page)) == 200
    with_errors = [
        action
        for action in COMPLAINANT_POSTS
        if same(lambda a=action: client.post(reverse(f"complaints:{a}", args=[complaint.reference]), {}))
        == 400
    ]
    assert len(with_errors) >= 5, with_errors  # the page shown again with a form's errors


def test_the_complainants_page_of_a_resolved_case(language):
    """The rating's radio buttons and the dispute's reason: crispy's own template and ours."""
    complainant = make_user()
    complaint = make_complaint(by=complainant)
    resolve(complaint, by=make_user(role=Role.AGENT), now=NOW)
    client = browser(complainant, language=language)
    page = reverse("complaints:detail", args=[complaint.reference])
    assert same(lambda: client.get(page)) == 200
    for action in ("dispute", "rate"):
        same(lambda a=action: client.post(reverse(f"complaints:{a}", args=[complaint.reference]), {}))


def test_the_staff_case_page(language):
    lead = make_user(role=Role.TEAM_LEAD)
    complaint = make_complaint()
    client = browser(lead, language=language)
    assert same(lambda: client.get(reverse("staff:case", args=[complaint.reference]))) == 200
    statuses = [
        same(lambda a=action: client.post(reverse(f"staff:{a}", args=[complaint.reference]), {}))
        for action in STAFF_POSTS
    ]
    assert statuses.count(400) >= 5, statuses


def test_the_filing_form_and_the_find_form(language):
    guest = browser(language=language)
    assert same(lambda: guest.get(reverse("complaints:create"))) == 200
    # Filled in but for its subject and with a contact's e-mail wrong: the fields' errors.
    invalid = intake_post(
        subject="",
        **{"contacts-TOTAL_FORMS": "1", "contacts-0-channel": "email", "contacts-0-summary": "x"},
    )
    ours, crispys, _status = both(lambda: guest.post(reverse("complaints:create"), invalid))
    assert ours == crispys and has_errors(ours)
    assert same(lambda: guest.get(reverse("complaints:find"))) == 200
    same(lambda: guest.post(reverse("complaints:find"), {"reference": "KN-0000-0000", "email": "x"}))


def test_the_account_pages(language):
    guest = browser(language=language)
    assert same(lambda: guest.get(reverse("accounts:login"))) == 200
    # A wrong password: the form's own error, above its fields.
    ours, crispys, _status = both(
        lambda: guest.post(reverse("accounts:login"), {"username": "nobody", "password": "wrong"})
    )
    assert ours == crispys and any("alert-danger" in str(token) for token in ours)
    assert same(lambda: guest.get(reverse("accounts:password_reset"))) == 200
    same(lambda: guest.post(reverse("accounts:password_reset"), {"email": "not an address"}))
    member = browser(make_user(), language=language)
    assert same(lambda: member.get(reverse("accounts:password_change"))) == 200
    same(lambda: member.post(reverse("accounts:password_change"), {}))


def test_the_privacy_officers_answer_form(language):
    complainant = make_user()
    complaint = make_complaint(by=complainant)
    asking = browser(complainant, language=language)
    response = asking.post(
        reverse("complaints:privacy_request", args=[complaint.reference]),
        {"privacy-kind": "correction", "privacy-details": "Số điện thoại đúng là 0912345678"},
    )
    assert response.status_code == 302
    item = PrivacyRequest.objects.latest("pk")
    officer = browser(make_user(role=Role.PRIVACY_OFFICER), language=language)
    assert same(lambda: officer.get(reverse("staff:privacy_request", args=[item.pk]))) == 200
    same(lambda: officer.post(reverse("staff:privacy_answer", args=[item.pk]), {"outcome": "refused"}))


HOSTILE = "\"'><script>alert(1)</script>&amp;"


class Every(forms.Form):
    """A field of each kind the portal's forms have, with attributes of each sort."""

    subject = forms.CharField(label=HOSTILE, help_text="<em>shown as written</em>", max_length=40)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "class": "auto-grow"}), required=False)
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": False}))
    when = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), required=False)
    count = forms.IntegerField(min_value=1, required=False, disabled=True, initial=2)
    secret = forms.CharField(widget=forms.PasswordInput(render_value=True), required=False)
    channel = forms.ChoiceField(choices=[("", "—"), ("email", HOSTILE)], required=False)
    agree = forms.BooleanField(label="Đồng ý", widget=forms.CheckboxInput(attrs={"data-flag": True}))
    rating = forms.ChoiceField(choices=[("1", "1"), ("5", "5")], widget=forms.RadioSelect, required=False)
    version = forms.IntegerField(widget=forms.HiddenInput)

    def clean_body(self):
        raise forms.ValidationError(HOSTILE)

    def clean(self):
        raise forms.ValidationError(HOSTILE)


@pytest.mark.parametrize(
    "data",
    [
        None,
        {},
        {
            "subject": HOSTILE,
            "body": HOSTILE,
            "email": HOSTILE,
            "when": HOSTILE,
            "secret": HOSTILE,
            "channel": "email",
            "agree": "on",
            "rating": "5",
            "version": HOSTILE,
        },
    ],
    ids=["empty", "blank", "hostile"],
)
def test_each_kind_of_field_with_hostile_values(data, language):
    from crispy_forms.templatetags.crispy_forms_filters import as_crispy_field, as_crispy_form
    from django.utils import translation

    from common.bootstrap import as_field, form_html

    with translation.override(language):
        ours = tokens(form_html(Every(data)))
        assert ours == tokens(as_crispy_form(Every(data)))
        assert [tokens(as_field(field)) for field in Every(data)] == [
            tokens(as_crispy_field(field)) for field in Every(data)
        ]
    assert ("text", HOSTILE) in ours or data is None


# --- Blank forms: written once per process and language -------------------------------------


def test_a_blank_form_is_written_as_the_form_itself_in_each_language():
    """Each of the complainant's forms, as the case page first shows it: the same markup as
    the form itself, written and then read back, and in each language its own words."""
    from django.utils import translation

    from common.bootstrap import Blank, form_html
    from complaints.case_page import COMPLAINANT_FORMS

    for form_class, prefix in COMPLAINANT_FORMS.values():
        written = {}
        for language in ("vi", "en"):
            with translation.override(language):
                expected = form_html(form_class(prefix=prefix))
                assert form_html(Blank(form_class, prefix=prefix)) == expected  # written
                assert form_html(Blank(form_class, prefix=prefix)) == expected  # read back
                written[language] = expected
        assert written["vi"] != written["en"], form_class


def test_only_a_form_with_the_same_fields_for_every_instance_can_be_blank():
    from accounts.models import User
    from common.bootstrap import Blank

    class Dated(forms.Form):
        day = forms.DateField()

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.fields["day"].widget.attrs["max"] = NOW.date().isoformat()

    class Chosen(forms.Form):
        person = forms.ModelChoiceField(queryset=User.objects.all())

    class Called(forms.Form):
        kind = forms.ChoiceField(choices=lambda: [("a", "A")])

    for form_class in (Dated, Chosen, Called):
        with pytest.raises(TypeError):
            Blank(form_class)


def test_the_case_page_makes_no_form_for_its_blank_ones_once_written(client):
    """The page's empty forms cost nothing but their markup, read back, after the first view;
    a form posted with errors is shown as it was posted."""
    from common.bootstrap import Blank
    from complaints.case_page import COMPLAINANT_FORMS

    complainant = make_user()
    complaint = make_complaint(by=complainant)
    sign_in(client, complainant)
    url = reverse("complaints:detail", args=[complaint.reference])
    client.get(url)
    context = client.get(url).context
    blanks = [context[name] for name in COMPLAINANT_FORMS if isinstance(context[name], Blank)]
    assert len(blanks) >= len(COMPLAINANT_FORMS) - 1  # the contact details are filled in
    assert not [blank for blank in blanks if "form" in vars(blank)]
    response = client.post(reverse("complaints:reply", args=[complaint.reference]), {"body": "  "})
    assert response.status_code == 400
    assert not isinstance(response.context["reply_form"], Blank)
    assert response.context["reply_form"].errors
