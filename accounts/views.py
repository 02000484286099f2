"""Sign-up, sign-in, profile and the language switcher."""

from __future__ import annotations

import unicodedata
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from accounts import services
from accounts.backends import account_named
from accounts.forms import LoginForm, ProfileForm, SignUpForm
from accounts.signals import security_event
from common import ratelimit


def _remember_language(response: HttpResponse, language: str) -> HttpResponse:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response


def typed_name(username: str) -> str:
    """The sign-in name as the form hands it to the backend: Unicode-normalised, without
    surrounding spaces."""
    return unicodedata.normalize("NFKC", username).strip()


def login_limits(request: HttpRequest, typed: str, account: Any) -> list[ratelimit.Limit]:
    """Sign-in attempts counted per account + address (a stranger elsewhere cannot lock the
    real user out) and per address across names (password spraying).

    `account` is the one the typed name signs in to, so its username and e-mail address,
    in any case, share one count; a name that matches no account is counted as typed
    (normalised), so guessing at names is limited too.
    """
    ip = ratelimit.ip_key(request)
    window = settings.LOGIN_LIMIT_WINDOW
    who = f"account:{account.pk}" if account is not None else f"name:{ratelimit.normalise(typed)}"
    return [
        ratelimit.Limit("login-user-ip", f"{who}|{ip}", settings.LOGIN_LIMIT_PER_USER_IP, window),
        ratelimit.Limit("login-ip", ip, settings.LOGIN_LIMIT_PER_IP, window),
    ]


def account_ceiling(account: Any) -> ratelimit.Limit:
    """Failed sign-ins to one account from every address together (21 addresses trying 5
    passwords each stay under the per-address limits, not under this)."""
    return ratelimit.Limit(
        "login-account",
        f"account:{account.pk}",
        settings.LOGIN_LIMIT_PER_ACCOUNT,
        settings.LOGIN_LIMIT_WINDOW,
    )


# A browser its account signed in from: the account's owner, who is never slowed down by
# the account's ceiling (signed, so nobody can make one up).
KNOWN_BROWSER_COOKIE = "kn_known"
KNOWN_BROWSER_SALT = "accounts.known-browser"
KNOWN_BROWSER_MAX_ACCOUNTS = 5


def known_accounts(request: HttpRequest) -> list[int]:
    """The accounts that signed in from this browser within LOGIN_KNOWN_BROWSER_DAYS."""
    raw = request.get_signed_cookie(
        KNOWN_BROWSER_COOKIE,
        default="",
        salt=KNOWN_BROWSER_SALT,
        max_age=settings.LOGIN_KNOWN_BROWSER_DAYS * 24 * 3600,
    )
    return [int(part) for part in raw.split(",") if part.isdigit()]


def remember_browser(request: HttpRequest, response: HttpResponse, user: Any) -> None:
    """Mark this browser as one `user` signs in from (the most recent accounts kept)."""
    ids = [pk for pk in known_accounts(request) if pk != user.pk][-(KNOWN_BROWSER_MAX_ACCOUNTS - 1) :]
    response.set_signed_cookie(
        KNOWN_BROWSER_COOKIE,
        ",".join(str(pk) for pk in [*ids, user.pk]),
        salt=KNOWN_BROWSER_SALT,
        max_age=settings.LOGIN_KNOWN_BROWSER_DAYS * 24 * 3600,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


class LoginView(auth_views.LoginView):
    """Django's login, throttled; then the user's preferred language for the rest of the visit.

    Every attempt is counted before the password is checked and a successful one is taken
    back, so the limits count failures. The throttle fails closed: with its store down,
    nobody can sign in (503, "try again in a minute") rather than anybody guessing freely.

    Past LOGIN_LIMIT_PER_ACCOUNT failures to one account within the window, from whatever
    addresses, sign-ins to it from browsers it has not signed in from are slowed to one
    every LOGIN_SLOW_SECONDS, and the privacy officers are alerted (accounts.signals). Its
    owner, on a browser they signed in from before, is not slowed: nobody can lock them out.
    """

    form_class = LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        typed = typed_name(request.POST.get("username", ""))
        account = account_named(typed) if typed else None
        limits = login_limits(request, typed, account)
        verdict = ratelimit.check(limits, fail_open=False)
        if not verdict.allowed:
            return self.refuse(verdict)
        if account is not None and account.pk not in known_accounts(request):
            ceiling = account_ceiling(account)
            limits.append(ceiling)
            slowed = self.past_ceiling(account, ceiling)
            if slowed is not None:
                return self.refuse(slowed)
        response = super().post(request, *args, **kwargs)
        if request.user.is_authenticated:
            for limit in limits:
                ratelimit.refund(limit.scope, limit.key, window=limit.window)
            remember_browser(request, response, request.user)
        return response

    def past_ceiling(self, account: Any, ceiling: ratelimit.Limit) -> ratelimit.Verdict | None:
        """Count this attempt against the account's ceiling; past it, alert and let one attempt
        through every LOGIN_SLOW_SECONDS. The verdict that refuses this one, or None."""
        counted = ratelimit.hit(
            ceiling.scope, ceiling.key, limit=ceiling.limit, window=ceiling.window, fail_open=False
        )
        if counted.allowed:
            return None
        if counted.unavailable:
            return counted
        security_event.send(
            sender=type(self),
            kind="sign_in_ceiling",
            account=account,
            details={
                "limit": ceiling.limit,
                "window_minutes": ceiling.window // 60,
                "pace_seconds": settings.LOGIN_SLOW_SECONDS,
            },
            now=timezone.now(),
        )
        pace = ratelimit.hit(
            "login-account-pace", ceiling.key, limit=1, window=settings.LOGIN_SLOW_SECONDS, fail_open=False
        )
        return None if pace.allowed else pace

    def refuse(self, verdict: ratelimit.Verdict) -> HttpResponse:
        """The sign-in page again, the username kept, saying why and when to retry."""
        # An unbound form: validating the posted one would check the password after all.
        form = self.form_class(self.request, initial={"username": self.request.POST.get("username", "")})
        if verdict.unavailable:
            refusal, status = _("Sign-in is unavailable right now. Please try again in a minute."), 503
        else:
            refusal, status = ratelimit.retry_message(verdict), 429
        response = self.render_to_response(self.get_context_data(form=form, refusal=refusal), status=status)
        response["Retry-After"] = str(verdict.retry_after)
        return response

    def form_valid(self, form: LoginForm) -> HttpResponse:
        response = super().form_valid(form)
        language = form.get_user().preferred_language
        translation.activate(language)
        return _remember_language(response, language)


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("accounts:profile")
    form = SignUpForm(request.POST or None, initial={"preferred_language": translation.get_language()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        user = services.register_complainant(
            email=data["email"],
            password=data["password1"],
            full_name=data["full_name"],
            language=data["preferred_language"],
        )
        login(request, user, backend="accounts.backends.EmailOrUsernameBackend")
        translation.activate(user.preferred_language)
        messages.success(request, _("Welcome! Your account is ready."))
        return _remember_language(redirect(settings.LOGIN_REDIRECT_URL), user.preferred_language)
    return render(request, "accounts/signup.html", {"form": form})


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    initial = {
        "full_name": user.first_name,
        "email": user.email,
        "preferred_language": user.preferred_language,
    }
    form = ProfileForm(request.POST or None, user=user, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        services.update_profile(
            user=user, full_name=data["full_name"], email=data["email"], language=data["preferred_language"]
        )
        translation.activate(user.preferred_language)
        messages.success(request, _("Your profile was saved."))
        return _remember_language(redirect("accounts:profile"), user.preferred_language)
    return render(request, "accounts/profile.html", {"form": form})


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's set_language (cookie + safe redirect), remembered on the account too."""
    response = django_set_language(request)
    language = request.POST.get("language", "")
    if (
        isinstance(response, HttpResponseRedirect)
        and translation.check_for_language(language)
        and language in dict(settings.LANGUAGES)
        and request.user.is_authenticated
    ):
        services.set_preferred_language(user=request.user, language=language)
    return response


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset, limited per address and per e-mail so it cannot be used to flood
    someone's inbox. It fails open (a forgotten password is not left without a way back)."""

    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/emails/password_reset.txt"
    html_email_template_name = "accounts/emails/password_reset.html"
    subject_template_name = "accounts/emails/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form: Any) -> HttpResponse:
        limits = ratelimit.per_address_and_email(
            self.request,
            "reset",
            form.cleaned_data["email"],
            per_ip=settings.PASSWORD_RESET_LIMIT_PER_IP,
            per_email=settings.PASSWORD_RESET_LIMIT_PER_EMAIL,
        )
        verdict = ratelimit.check(limits, fail_open=True)
        if not verdict.allowed:
            return ratelimit.refuse(
                self.request, verdict, template=self.template_name, context={"form": form}, form=form
            )
        return super().form_valid(form)


password_reset = PasswordResetView.as_view()
password_reset_done = auth_views.PasswordResetDoneView.as_view(
    template_name="accounts/password_reset_done.html"
)
password_reset_confirm = auth_views.PasswordResetConfirmView.as_view(
    template_name="accounts/password_reset_confirm.html",
    success_url=reverse_lazy("accounts:password_reset_complete"),
)
password_reset_complete = auth_views.PasswordResetCompleteView.as_view(
    template_name="accounts/password_reset_complete.html"
)
password_change = auth_views.PasswordChangeView.as_view(
    template_name="accounts/password_change_form.html",
    success_url=reverse_lazy("accounts:password_change_done"),
)
password_change_done = auth_views.PasswordChangeDoneView.as_view(
    template_name="accounts/password_change_done.html"
)
logout = auth_views.LogoutView.as_view()
