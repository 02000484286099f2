"""Sign-up, sign-in, profile and the language switcher."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from accounts import services
from accounts.forms import LoginForm, ProfileForm, SignUpForm


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


class LoginView(auth_views.LoginView):
    """Django's login, then the user's preferred language for the rest of the visit."""

    form_class = LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

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


password_reset = auth_views.PasswordResetView.as_view(
    template_name="accounts/password_reset_form.html",
    email_template_name="accounts/emails/password_reset.txt",
    html_email_template_name="accounts/emails/password_reset.html",
    subject_template_name="accounts/emails/password_reset_subject.txt",
    success_url=reverse_lazy("accounts:password_reset_done"),
)
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
