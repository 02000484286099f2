"""Invisible characters out of every single-line text: the bidirectional controls and
zero-width characters an outside probe put into names and subjects, which staff then saw
and e-mail greetings repeated (issue 14, point 8)."""

from __future__ import annotations

import inspect

import pytest
from django import forms
from django.urls import reverse

from accounts import forms as account_forms
from common.forms import CleanTextMixin
from common.text import single_line
from complaints import forms as complaint_forms
from complaints.mailparse import parse
from complaints.models import Complaint
from evidence import forms as evidence_forms
from staff import forms as staff_forms
from tests.complaints.conftest import intake_post

INVISIBLE = [
    "\u202e",  # right-to-left override
    "\u202a",  # left-to-right embedding
    "\u2066",  # left-to-right isolate
    "\u200f",  # right-to-left mark
    "\u200b",  # zero-width space
    "\u200c",  # zero-width non-joiner
    "\u200d",  # zero-width joiner
    "\u2060",  # word joiner
    "\ufeff",  # byte-order mark
    "\u00ad",  # soft hyphen
    "\u3164",  # Hangul filler
]


@pytest.mark.parametrize("char", INVISIBLE, ids=[f"U+{ord(c):04X}" for c in INVISIBLE])
def test_a_single_line_loses_every_invisible_character_and_keeps_vietnamese(char):
    assert single_line(f"Nguy{char}ễn  Văn\u00a0Lan{char}\n") == "Nguyễn Văn Lan"


def test_vietnamese_typed_in_decomposed_form_comes_out_composed():
    assert single_line("Nguye\u0302\u0303n") == "Nguyễn"


def form_classes():
    for module in (complaint_forms, staff_forms, evidence_forms, account_forms):
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, forms.BaseForm) and cls.__module__ == module.__name__:
                yield cls


def single_line_fields(cls) -> list[str]:
    return [
        name
        for name, field in cls.base_fields.items()
        if isinstance(field, forms.CharField)
        and not isinstance(field.widget, forms.Textarea | forms.PasswordInput | forms.HiddenInput)
    ]


# The sign-in forms keep nothing: they only check what is typed (a password, a code).
CHECKED_ONLY = {account_forms.LoginForm, account_forms.EnrolmentForm, account_forms.SecondFactorForm}
WITH_SINGLE_LINES = [cls for cls in form_classes() if single_line_fields(cls) and cls not in CHECKED_ONLY]


def test_the_forms_walked_include_those_people_type_names_and_subjects_into():
    names = {cls.__name__ for cls in WITH_SINGLE_LINES}
    assert {"ComplaintForm", "ContactForm", "SignUpForm", "ProfileForm", "AttachMailForm"} <= names


@pytest.mark.parametrize("cls", WITH_SINGLE_LINES, ids=lambda cls: cls.__name__)
def test_every_form_with_a_single_line_text_field_cleans_it(cls):
    assert issubclass(cls, CleanTextMixin), f"{cls.__name__} keeps {single_line_fields(cls)} as typed"


@pytest.mark.django_db
def test_a_complaint_filed_with_invisible_characters_keeps_none_of_them(client):
    response = client.post(
        reverse("complaints:create"),
        intake_post(contact_name="Lan\u202e\u200b Nguyễn", subject="Không\u2066 đăng\u200d nhập được"),
    )

    assert response.status_code == 302
    complaint = Complaint.objects.get()
    assert (complaint.contact_name, complaint.subject) == ("Lan Nguyễn", "Không đăng nhập được")


@pytest.mark.django_db
def test_a_name_made_only_of_invisible_characters_is_missing(client):
    blank = "\u200b\u3164\u202e"
    data = intake_post(contact_name=blank)
    response = client.post(reverse("complaints:create"), data, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert "contact_name" in response.context["form"].errors
    assert not Complaint.objects.exists()


def test_a_received_mails_sender_name_and_subject_lose_them_too():
    raw = (
        "From: =?utf-8?b?TGFu4oCuIE5ndXnhu4Vu?= <lan@example.org>\r\n"
        "To: replies@portal.example\r\n"
        "Subject: =?utf-8?q?Re=3A_Kh=C3=B4ng=E2=80=8B_=C4=91=C4=83ng_nh=E1=BA=ADp?=\r\n"
        "Message-ID: <1@example.org>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nXin chào\r\n"
    ).encode()

    mail = parse(raw)

    assert (mail.from_name, mail.subject) == ("Lan Nguyễn", "Re: Không đăng nhập")
