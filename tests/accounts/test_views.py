"""Sign-up, sign-in (by username or e-mail), profile, language choice, password reset and roles."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core import mail
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from accounts.decorators import role_required
from accounts.models import Role, User
from tests.factories import PASSWORD, make_user, sign_in

pytestmark = pytest.mark.django_db


def test_the_staff_groups_exist_after_migrating():
    assert set(Group.objects.values_list("name", flat=True)) >= {
        "Agents",
        "Team leads",
        "Managers",
        "Privacy officers",
    }


def test_a_privacy_officer_holds_a_staff_role_but_works_no_cases(client):
    officer = make_user(role=Role.PRIVACY_OFFICER)

    assert officer.holds_staff_role and officer.is_privacy_officer
    assert not officer.is_agent
    sign_in(client, officer)
    assert client.get(reverse("staff:queue")).status_code == 404


def test_a_complainant_signs_up_with_email_and_password_and_is_signed_in(client):
    response = client.post(
        reverse("accounts:signup"),
        {
            "full_name": "Nguyễn Văn An",
            "email": "An@Example.org",
            "password1": "một mật khẩu dài 2026",
            "password2": "một mật khẩu dài 2026",
            "preferred_language": "en",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="An@Example.org")
    assert user.username == "an@example.org"
    assert user.preferred_language == "en"
    assert not user.groups.exists()
    assert client.session["_auth_user_id"] == str(user.pk)
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"


def test_sign_up_refuses_an_address_already_used_whatever_its_case(client):
    make_user(email="taken@example.org")
    response = client.post(
        reverse("accounts:signup"),
        {
            "email": "TAKEN@example.org",
            "password1": "một mật khẩu dài 2026",
            "password2": "một mật khẩu dài 2026",
            "preferred_language": "vi",
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert "An account with this e-mail address already exists." in response.content.decode()
    assert User.objects.filter(email__iexact="taken@example.org").count() == 1


def test_sign_up_errors_come_in_vietnamese_by_default(client):
    response = client.post(
        reverse("accounts:signup"),
        {
            "email": "not-an-email",
            "password1": "abc",
            "password2": "abd",
            "preferred_language": "vi",
        },
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Hai mật khẩu không khớp nhau." in body
    assert not User.objects.exists()


@pytest.mark.parametrize("login", ["lan", "lan@example.org", "LAN@EXAMPLE.ORG"])
def test_people_sign_in_with_username_or_email(client, login):
    make_user(username="lan", email="lan@example.org", preferred_language="en")
    response = client.post(reverse("accounts:login"), {"username": login, "password": PASSWORD})
    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"


def test_a_wrong_password_gets_a_clear_message(client):
    make_user(username="lan")
    response = client.post(
        reverse("accounts:login"), {"username": "lan", "password": "wrong"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    assert "do not match an account" in response.content.decode()


def test_demo_accounts_cannot_sign_in_when_debug_is_off(client, settings):
    settings.DEBUG = False
    make_user(username="agent", is_demo=True)
    response = client.post(reverse("accounts:login"), {"username": "agent", "password": PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_demo_accounts_sign_in_while_debug_is_on(client, settings):
    settings.DEBUG = True
    make_user(username="agent", is_demo=True)
    response = client.post(reverse("accounts:login"), {"username": "agent", "password": PASSWORD})
    assert response.status_code == 302


def test_a_demo_session_ends_when_debug_is_turned_off(client, settings):
    settings.DEBUG = True
    user = make_user(username="agent", is_demo=True)
    sign_in(client, user)
    settings.DEBUG = False
    response = client.get(reverse("accounts:profile"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_the_profile_needs_a_signed_in_user(client):
    response = client.get(reverse("accounts:profile"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_the_profile_saves_name_email_and_language(client):
    user = make_user(preferred_language="vi")
    sign_in(client, user)
    response = client.post(
        reverse("accounts:profile"),
        {
            "full_name": "Trần Thị Bích",
            "email": "bich@example.org",
            "preferred_language": "en",
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.first_name, user.email, user.preferred_language) == (
        "Trần Thị Bích",
        "bich@example.org",
        "en",
    )
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert "Your profile was saved." in client.get(reverse("accounts:profile")).content.decode()


def test_the_language_switcher_sets_the_cookie_and_remembers_it_on_the_account(client):
    user = make_user(preferred_language="vi")
    sign_in(client, user)
    response = client.post(reverse("accounts:set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    user.refresh_from_db()
    assert user.preferred_language == "en"


def test_the_language_switcher_ignores_unknown_languages_and_foreign_redirects(client):
    user = make_user(preferred_language="vi")
    sign_in(client, user)
    response = client.post(
        reverse("accounts:set_language"), {"language": "xx", "next": "https://evil.example/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"
    user.refresh_from_db()
    assert user.preferred_language == "vi"


def test_password_reset_sends_a_working_link_in_the_page_language(client):
    make_user(username="lan", email="lan@example.org")
    response = client.post(
        reverse("accounts:password_reset"), {"email": "lan@example.org"}, HTTP_ACCEPT_LANGUAGE="vi"
    )
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["lan@example.org"]
    assert "mật khẩu" in message.subject
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/\S+/)", message.body).group(1)
    response = client.get(link, follow=True)
    assert response.status_code == 200
    assert response.context["validlink"]
    new_password = "một mật khẩu mới rất dài"
    response = client.post(
        response.redirect_chain[-1][0], {"new_password1": new_password, "new_password2": new_password}
    )
    assert response.status_code == 302
    assert client.login(username="lan", password=new_password)


def test_password_reset_gives_the_same_answer_for_unknown_addresses(client):
    response = client.post(reverse("accounts:password_reset"), {"email": "nobody@example.org"})
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:password_reset_done")
    assert mail.outbox == []


def test_logout_is_a_post(client):
    sign_in(client, make_user())
    assert client.post(reverse("accounts:logout")).status_code == 302
    assert "_auth_user_id" not in client.session


def _staff_view(request):
    return HttpResponse("staff only")


@pytest.mark.parametrize(
    ("role", "status"),
    [(None, 404), (Role.AGENT, 404), (Role.TEAM_LEAD, 200), (Role.MANAGER, 200)],
)
def test_staff_pages_answer_404_to_anyone_without_the_role(role, status):
    view = role_required(Role.TEAM_LEAD, Role.MANAGER)(_staff_view)
    request = RequestFactory().get("/staff/")
    request.user = make_user(role=role)
    if status == 404:
        from django.http import Http404

        with pytest.raises(Http404):
            view(request)
    else:
        assert view(request).status_code == 200


def test_staff_pages_send_anonymous_visitors_to_sign_in():
    from django.contrib.auth.models import AnonymousUser

    view = role_required(Role.AGENT)(_staff_view)
    request = RequestFactory().get("/staff/")
    request.user = AnonymousUser()
    response = view(request)
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]
