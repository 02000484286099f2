"""The second factor's pages: setting up an authenticator app, the code step of signing in,
recovery codes, and the page in the profile that shows and changes it all.

Every code typed is counted against two limits before it is checked (per account, per
address) and taken back when it works, so the limits count failures; like sign-in they fail
closed. A wrong code, whatever was wrong with it, gets one message.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts import second_factor
from accounts.forms import EnrolmentForm, SecondFactorForm
from accounts.signals import security_event
from common import ratelimit

# Fresh recovery codes wait here, in the session, for the one page that shows them.
_NEW_CODES_SESSION_KEY = "second_factor_new_codes"


def second_factor_limits(request: HttpRequest, user: Any) -> list[ratelimit.Limit]:
    """Codes tried per account (whoever tries them: the password is already known) and per
    address across accounts."""
    window = settings.OTP_LIMIT_WINDOW
    return [
        ratelimit.Limit("otp-user", f"account:{user.pk}", settings.OTP_LIMIT_PER_USER, window),
        ratelimit.Limit("otp-ip", ratelimit.ip_key(request), settings.OTP_LIMIT_PER_IP, window),
    ]


def _next_url(request: HttpRequest) -> str:
    """The page asked for before the second factor, if it is one of ours; else the home page.
    A URL, never a view name: it goes to HttpResponseRedirect, not redirect(), which would try to
    reverse whatever `next` holds."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _refusal(verdict: ratelimit.Verdict) -> tuple[str, int]:
    if verdict.unavailable:
        return _("Sign-in is unavailable right now. Please try again in a minute."), 503
    return ratelimit.retry_message(verdict), 429


def _render_refused(
    request: HttpRequest, template: str, context: dict[str, Any], verdict: ratelimit.Verdict
) -> HttpResponse:
    refusal, status = _refusal(verdict)
    response = render(request, template, {**context, "refusal": refusal}, status=status)
    response["Retry-After"] = str(verdict.retry_after)
    return response


def _refund(limits: list[ratelimit.Limit]) -> None:
    for limit in limits:
        ratelimit.refund(limit.scope, limit.key, window=limit.window)


def _show_new_codes(request: HttpRequest, codes: list[str], then: str) -> HttpResponse:
    request.session[_NEW_CODES_SESSION_KEY] = {"codes": codes, "next": then}
    return redirect("accounts:second_factor_codes")


@login_required
@never_cache
def setup(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator app (a staff member's first, a complainant's choice, or a new
    one): its QR code and secret, then a first code from it."""
    user = request.user
    current = second_factor.authenticator(user)
    if current is not None and not user.is_verified():
        # Replacing an authenticator takes a code from the current one (or a recovery code).
        return redirect_to_login(
            reverse("accounts:second_factor_setup"), reverse("accounts:second_factor_verify")
        )
    device = second_factor.start_enrolment(user=user)
    form = EnrolmentForm(request.POST or None)
    context = {
        "form": form,
        "next": _next_url(request),
        "qr_code": second_factor.qr_code_data_uri(device),
        "secret": second_factor.secret_text(device),
        "replacing": current is not None,
    }
    template = "accounts/second_factor_setup.html"
    if request.method == "POST" and form.is_valid():
        limits = second_factor_limits(request, user)
        verdict = ratelimit.check(limits, fail_open=False)
        if not verdict.allowed:
            return _render_refused(request, template, context, verdict)
        try:
            device, codes = second_factor.confirm_enrolment(user=user, code=form.cleaned_data["code"])
        except second_factor.SecondFactorRefused as refused:
            form.add_error("code", refused)
        else:
            _refund(limits)
            second_factor.pass_second_factor(request, device)
            messages.success(request, _("Your authenticator app is set up."))
            return _show_new_codes(request, codes, context["next"])
    return render(request, template, context)


@login_required
@never_cache
def verify(request: HttpRequest) -> HttpResponse:
    """The code step of signing in, after the password."""
    user = request.user
    then = _next_url(request)
    if user.is_verified():
        return HttpResponseRedirect(then)
    device = second_factor.authenticator(user)
    if device is None:
        if user.holds_staff_role:
            return redirect_to_login(then, reverse("accounts:second_factor_setup"))
        return HttpResponseRedirect(then)
    form = SecondFactorForm(request.POST or None, remember_days=settings.OTP_REMEMBER_DAYS)
    template = "accounts/second_factor_verify.html"
    context = {"form": form, "next": then}
    if request.method == "POST" and form.is_valid():
        limits = second_factor_limits(request, user)
        verdict = ratelimit.check(limits, fail_open=False)
        if not verdict.allowed:
            return _render_refused(request, template, context, verdict)
        check = second_factor.check_code(user=user, code=form.cleaned_data["code"])
        if check.wait:
            return _render_refused(request, template, context, ratelimit.Verdict(False, check.wait))
        if check.device is None:
            form.add_error("code", second_factor.SecondFactorRefused())
            # Someone holding the password tried a code that was wrong: the privacy officers
            # hear of it (at most once an hour per account, complaints.security).
            security_event.send(
                sender=verify, kind="second_factor_failure", account=user, details={}, now=timezone.now()
            )
            return render(request, template, context)
        _refund(limits)
        second_factor.pass_second_factor(request, check.device)
        response = HttpResponseRedirect(then)
        if form.cleaned_data.get("remember"):
            second_factor.remember_browser(response, user=user, device=device)
        if check.used_recovery_code:
            left = second_factor.recovery_codes_left(user)
            messages.warning(
                request,
                ngettext(
                    "You used a recovery code: %(count)s is left. Make new ones in your profile.",
                    "You used a recovery code: %(count)s are left. Make new ones in your profile.",
                    left,
                )
                % {"count": left},
            )
        return response
    return render(request, template, context)


@login_required
@never_cache
def codes(request: HttpRequest) -> HttpResponse:
    """GET: the recovery codes just made, once (then they are gone from the session).
    POST: make new ones, which replace the old."""
    user = request.user
    if second_factor.authenticator(user) is None:
        return redirect("accounts:second_factor")
    if request.method == "POST":
        fresh = second_factor.new_recovery_codes(user=user)
        messages.success(request, _("New recovery codes replace your old ones."))
        return _show_new_codes(request, fresh, reverse("accounts:second_factor"))
    shown = request.session.pop(_NEW_CODES_SESSION_KEY, None)
    if not shown:
        return redirect("accounts:second_factor")
    return render(
        request,
        "accounts/second_factor_codes.html",
        {
            "codes": [second_factor.format_recovery_code(code) for code in shown["codes"]],
            "next": shown["next"],
        },
    )


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    """The profile's page about the second factor: whether it is on, since when, how many
    recovery codes are left; set up a new app, new codes, or (complainants) turn it off."""
    user = request.user
    device = second_factor.authenticator(user)
    return render(
        request,
        "accounts/second_factor.html",
        {
            "device": device,
            "codes_left": second_factor.recovery_codes_left(user) if device else 0,
            "can_turn_off": second_factor.can_turn_off(user),
            "remember_days": settings.OTP_REMEMBER_DAYS,
        },
    )


@login_required
@require_POST
def turn_off(request: HttpRequest) -> HttpResponse:
    """A complainant goes back to the password alone; staff cannot (404)."""
    if not second_factor.can_turn_off(request.user):
        raise Http404
    second_factor.turn_off(user=request.user)
    messages.success(request, _("The second factor is off: you sign in with your password alone."))
    response = redirect("accounts:second_factor")
    response.delete_cookie(second_factor.REMEMBER_COOKIE, samesite="Lax")
    return response
