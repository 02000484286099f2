"""The complainant's side: intake, the case page and its actions, guest access, "my complaints"."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import DatabaseError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import get_language, gettext_noop
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from common import kept, ratelimit
from complaints import services
from complaints.access import (
    grant_guest_access,
    guest_ids,
    is_owner,
    is_staff,
    looked_up,
    owned_complaint,
    reader,
    staging_owner,
    visible_complaint,
)
from complaints.accesslog import record_export
from complaints.case_page import case_context
from complaints.consent import current_version, notice_context, record_consent_wording
from complaints.forms import (
    ComplaintForm,
    CompleteComplaintForm,
    ContactForm,
    ContactFormSet,
    CorrectContactForm,
    FindComplaintForm,
    JoinIncidentForm,
    PrivacyRequestForm,
    RatingForm,
    ReasonForm,
    ReplyForm,
    WithdrawConsentForm,
    WithdrawForm,
)
from complaints.models import Complaint, Incident
from complaints.refusals import ActionRefused, FilesRefused
from complaints.selectors import cached_active_subcategories, matching_incidents, name_categories
from complaints.services import personal_data, privacy
from complaints.tracking import redeem_tracking_token
from escalation import moves
from evidence import services as evidence_services
from evidence.forms import EvidenceFormSet, keep_chosen_files, report_upload_outcome

logger = logging.getLogger(__name__)


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "complaints/home.html")


def privacy_notice(request: HttpRequest) -> HttpResponse:
    """The privacy notice complainants consent to when filing, on a page of its own."""
    version, _texts = current_version()
    return render(request, "complaints/privacy.html", {**notice_context(), "version": version})


@never_cache
def complaint_create(request: HttpRequest) -> HttpResponse:
    """The intake page: the dossier, earlier contacts and evidence, filed in one transaction.

    Files are checked as they are chosen (static/js/stage.js stages them); without
    JavaScript they come with the form. A refused file files nothing: the form comes back
    with everything typed, the refusal beside the file, and the accepted files kept.
    Rate-limited per address and contact e-mail (failing open: a complaint is never lost to
    a limiter outage); a refused filing re-renders the form as typed, with status 429.
    """
    user = request.user if request.user.is_authenticated else None
    initial = {
        "language": get_language() if get_language() in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
    }
    if user is not None:
        initial.update(contact_name=user.get_full_name(), contact_email=user.email)
    form = ComplaintForm(request.POST or None, initial=initial)
    contacts = ContactFormSet(request.POST or None, prefix="contacts")
    sent_rows = "evidence-TOTAL_FORMS" in request.POST
    files = EvidenceFormSet(request.POST, request.FILES, prefix="evidence") if sent_rows else None
    if request.method != "POST":
        context = _intake_context(form, contacts, files)
        if user is None:
            # A guest's empty form reads the same for every guest in a language: its fields are
            # rendered once a minute per process, and again as soon as a subcategory changes.
            context["fields_fragment"] = f"{initial['language']}:{kept.version()}"
        return render(request, "complaints/complaint_form.html", context)
    valid = all([form.is_valid(), contacts.is_valid(), files is None or files.is_valid()])
    rejected = files is not None and files.add_rejections(request)
    if valid and not rejected:
        limits = ratelimit.per_address_and_email(
            request,
            "intake",
            form.cleaned_data["contact_email"],
            per_ip=settings.INTAKE_LIMIT_PER_IP,
            per_email=settings.INTAKE_LIMIT_PER_EMAIL,
        )
        verdict = ratelimit.check(limits, fail_open=True)
        if not verdict.allowed:
            # A refused filing stores nothing, not even the files sent with it.
            lost = files is not None and keep_chosen_files(request, files, stage_sent=False)
            return ratelimit.refuse(
                request,
                verdict,
                template="complaints/complaint_form.html",
                context=_intake_context(form, contacts, files, lost_files=lost),
                form=form,
            )
        rows = files.items if files is not None else []
        if files is not None:
            for public_id in files.removed:
                evidence_services.discard_staged(owner=staging_owner(request), public_id=public_id)
        try:
            now = timezone.now()
            complaint, result, created = services.file_complaint(
                data={**form.cleaned_data, "consent_version": record_consent_wording(now=now)},
                contacts=contacts.entries,
                files=[(item, caption) for _index, item, caption in rows],
                owner=staging_owner(request),
                by=user,
                now=now,
                submission_key=form.cleaned_data["submission_key"],
            )
        except FilesRefused as exc:
            for refusal in exc.refusals:
                if files is not None:  # refusals come only with files
                    files.refuse(rows[refusal.index][0], refusal.message)
        except (evidence_services.EvidenceStorageError, DatabaseError) as exc:
            if isinstance(exc, DatabaseError):
                logger.exception("intake failed in the database; nothing was kept")
                message = _("Something went wrong on our side, so nothing was sent. Please try again.")
            else:
                message = _("We could not store your files, so nothing was sent. Please try again.")
            form.add_error(None, message)
            # Nothing more is stored after such a failure: files sent with the form must be chosen again.
            lost = files is not None and keep_chosen_files(request, files, stage_sent=False)
            return render(
                request,
                "complaints/complaint_form.html",
                _intake_context(form, contacts, files, lost_files=lost),
            )
        else:
            if not created and not is_owner(request, complaint):
                # The form was sent before. Whoever sends it again (a copy of the page, its
                # key read off a shared screen) gets neither the complaint nor access to it:
                # only the browser that filed it, or the account it was filed under, follows it.
                messages.info(
                    request,
                    _(
                        "This form was sent before, and its complaint is filed. Follow it with "
                        "the link in the e-mail we sent to its contact address; if that e-mail "
                        "is lost, ask for a new link below."
                    ),
                )
                return redirect("complaints:find")
            report_upload_outcome(request, result)
            response = redirect("complaints:submitted", complaint.reference)
            return grant_guest_access(request, response, complaint)
    lost = files is not None and keep_chosen_files(request, files)
    return render(
        request, "complaints/complaint_form.html", _intake_context(form, contacts, files, lost_files=lost)
    )


def _intake_context(
    form: ComplaintForm, contacts: Any, files: Any, *, lost_files: bool = False
) -> dict[str, Any]:
    return {
        **notice_context(),
        "form": form,
        "contacts": contacts,
        "files": files or EvidenceFormSet(prefix="evidence"),
        "lost_files": lost_files,
        # Asked when the page is rendered: a refusal may add its error after this is built.
        "has_errors": lambda: bool(
            form.errors or contacts.total_error_count() or (files is not None and files.total_error_count())
        ),
    }


@require_GET
def known_incidents(request: HttpRequest) -> HttpResponse:
    """The filing form's open incidents for a category and provider, as a fragment that
    static/js/intake.js puts on the form as they are typed (without it the form shows them when
    it comes back). Read from this process's copy: no query."""
    subcategory = cached_active_subcategories().get(request.GET.get("subcategory", ""))
    rows = matching_incidents(
        subcategory.category_id if subcategory else None, request.GET.get("provider_name", "")
    )
    return render(
        request, "complaints/_known_incidents.html", {"rows": [(incident, False) for incident in rows]}
    )


def complaint_submitted(request: HttpRequest, reference: str) -> HttpResponse:
    """The confirmation: the reference, and the open incidents its filer may still join."""
    complaint = owned_complaint(request, reference)
    incidents = []
    if complaint.incident_id is None and complaint.is_open:
        incidents = matching_incidents(complaint.category_id, complaint.provider_name)
    return render(
        request, "complaints/complaint_submitted.html", {"complaint": complaint, "incidents": incidents}
    )


@require_POST
def complaint_join_incident(request: HttpRequest, reference: str) -> HttpResponse:
    """The filer says an open incident is their problem too, after filing: their case is linked."""
    complaint = owned_complaint(request, reference)
    form = JoinIncidentForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors["incident"]))
        return redirect("complaints:submitted", complaint.reference)
    by = request.user if request.user.is_authenticated else None
    try:
        services.join_incident(
            complaint=complaint, incident=form.cleaned_data["incident"], by=by, now=timezone.now()
        )
    except ActionRefused as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("complaints:submitted", complaint.reference)
    messages.success(request, _("Your complaint is linked to the known problem: you will get its news."))
    return redirect("complaints:detail", complaint.reference)


def incident_page(request: HttpRequest, slug: str) -> HttpResponse:
    """An incident's public page, in the reader's language: what is known, since when, the news
    and whether it is solved. Anyone may read it; it names no complainant."""
    incident = get_object_or_404(Incident.objects.select_related("category"), slug=slug)
    updates = incident.updates.order_by("-at", "-pk")
    return render(request, "complaints/incident_detail.html", {"incident": incident, "updates": updates})


def complaint_detail(request: HttpRequest, reference: str) -> HttpResponse:
    """The complainant's case page: status, deadlines, the timeline, evidence, and their actions.

    Staff work a case on their own page (`staff:case`); they are sent there.
    """
    if is_staff(request):
        return redirect("staff:case", reference)
    return _case_page(request, reference, bound={}, status=200)


def _case_page(request: HttpRequest, reference: str, *, bound: dict[str, Any], status: int) -> HttpResponse:
    """Render the complainant's case page, with a form posted with errors kept as it was typed."""
    # Not the assignee: the complainant's page never names who handles the case.
    complaint = visible_complaint(request, reference)
    name_categories([complaint])
    context = case_context(request, complaint, staff=False, now=timezone.now(), bound=bound)
    return render(request, "complaints/complaint_detail.html", context, status=status)


def _complainant_action(
    form_class: type | None,
    form_name: str,
    prefix: str | None,
    act: Callable[..., Any],
    success: str,
    limits: Callable[[HttpRequest, Complaint], list[ratelimit.Limit]] | None = None,
    then: Callable[[HttpRequest, Complaint], HttpResponse] | None = None,
) -> Callable[[HttpRequest, str], HttpResponse]:
    """A POST view for one complainant action: validate, call the service, redirect.

    Invalid input re-renders the case page with the errors and everything typed; a
    business rule that refuses the action becomes a message, never a 500. With `limits`,
    the action is rate-limited (failing open) and a refusal is the 429 page. Done, it goes
    back to the case page, or where `then` says.
    """

    @require_POST
    def view(request: HttpRequest, reference: str) -> HttpResponse:
        complaint = owned_complaint(request, reference)
        if limits is not None:
            verdict = ratelimit.check(limits(request, complaint), fail_open=True)
            if not verdict.allowed:
                return ratelimit.refuse(request, verdict, context={"complaint": complaint})
        by = request.user if request.user.is_authenticated else None
        data: dict[str, Any] = {}
        if form_class is not None:
            form = form_class(request.POST, prefix=prefix)
            if not form.is_valid():
                return _case_page(request, reference, bound={form_name: form}, status=400)
            data = form.cleaned_data
        try:
            act(complaint=complaint, by=by, now=timezone.now(), **data)
        except ActionRefused as exc:  # a business rule refused it; the message says why
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _(success))  # the literals are marked with gettext_noop below
            if then is not None:
                return then(request, complaint)
        return redirect("complaints:detail", complaint.reference)

    return view


def _add_contact(*, complaint: Complaint, by: Any, now: Any, **data: Any) -> None:
    services.add_contact(complaint=complaint, data=data, by=by, now=now)


def _complete(*, complaint: Complaint, by: Any, now: Any, consent: bool, **data: Any) -> None:
    # The form refuses an unticked box: here `consent` is True.
    services.complete_complaint(
        complaint=complaint, by=by, now=now, consent_version=record_consent_wording(now=now), **data
    )


complaint_complete = _complainant_action(
    CompleteComplaintForm,
    "complete_form",
    "complete",
    _complete,
    gettext_noop("Thank you: your complaint is complete."),
)
complaint_reply = _complainant_action(
    ReplyForm, "reply_form", None, services.reply_as_complainant, gettext_noop("Your message was added.")
)
complaint_add_contact = _complainant_action(
    ContactForm,
    "contact_form",
    "contact",
    _add_contact,
    gettext_noop("The contact was added to your complaint."),
)


def _reminder_limits(request: HttpRequest, complaint: Complaint) -> list[ratelimit.Limit]:
    return ratelimit.per_address_and_email(
        request,
        "remind",
        complaint.contact_email,
        per_ip=settings.REMINDER_LIMIT_PER_IP,
        per_email=settings.REMINDER_LIMIT_PER_EMAIL,
    )


complaint_remind = _complainant_action(
    None,
    "",
    None,
    services.send_reminder,
    gettext_noop("Your reminder was sent to the support team."),
    limits=_reminder_limits,
)
complaint_withdraw = _complainant_action(
    WithdrawForm,
    "withdraw_form",
    "withdraw",
    services.withdraw_complaint,
    gettext_noop("Your complaint was withdrawn."),
)


def _correct_contact(*, complaint: Complaint, by: Any, now: Any, **data: Any) -> None:
    personal_data.correct_contact(complaint=complaint, by=by, now=now, **data)


complaint_correct_contact = _complainant_action(
    CorrectContactForm,
    "correct_form",
    "correct",
    _correct_contact,
    gettext_noop("Your contact details were corrected."),
)


@require_GET
def complaint_export(request: HttpRequest, reference: str) -> HttpResponse:
    """Everything the portal holds about the complainant, as a ZIP: from a case page, the
    complaints of their account and those this browser holds."""
    complaint = owned_complaint(request, reference)
    user = request.user if request.user.is_authenticated else None
    mine = Complaint.objects.owned_by(request.user, guest_ids=guest_ids(request))
    complaints = mine | Complaint.objects.filter(pk=complaint.pk)
    return _export_response(request, complaints, user=user, name=complaint.reference)


@login_required
@require_GET
def my_data_export(request: HttpRequest) -> HttpResponse:
    """The same for a signed-in complainant, from "My complaints"."""
    mine = Complaint.objects.owned_by(request.user, guest_ids=guest_ids(request))
    return _export_response(request, mine, user=request.user, name=request.user.get_username())


def _export_response(request: HttpRequest, complaints: Any, *, user: Any, name: str) -> HttpResponse:
    now = timezone.now()
    # In the access log like every export, one entry per complaint, before a byte leaves.
    record_export(reader=reader(request), complaints=complaints.distinct(), at=now)
    archive = personal_data.write_export(complaints.distinct(), user=user, language=get_language(), now=now)
    response = FileResponse(archive, as_attachment=True, filename=f"my-data-{now:%Y%m%d}.zip")
    response["Cache-Control"] = "no-store"
    return response


def _privacy_request(*, complaint: Complaint, by: Any, now: Any, kind: str, details: str) -> None:
    privacy.make_request(complaint=complaint, kind=kind, details=details, by=by, now=now)


complaint_privacy_request = _complainant_action(
    PrivacyRequestForm,
    "privacy_form",
    "privacy",
    _privacy_request,
    gettext_noop("Your request was sent. We will answer by e-mail before the date shown."),
)


def _withdraw_consent(*, complaint: Complaint, by: Any, now: Any, confirm: bool) -> None:
    # The form refuses an unticked box: here `confirm` is True.
    services.withdraw_consent(complaint=complaint, by=by, now=now)


def _after_consent_withdrawn(request: HttpRequest, complaint: Complaint) -> HttpResponse:
    """The case page while this visitor still sees it (a guest's browser holds it; a legal hold
    keeps the data for now); a signed-in complainant whose case was erased no longer does (the
    erasure unlinks it from the account), and would land on "Page not found": their complaints."""
    mine = Complaint.objects.owned_by(request.user, guest_ids=guest_ids(request))
    if mine.filter(pk=complaint.pk).exists():
        return redirect("complaints:detail", complaint.reference)
    return redirect("complaints:mine" if request.user.is_authenticated else "home")


complaint_withdraw_consent = _complainant_action(
    WithdrawConsentForm,
    "consent_form",
    "consent",
    _withdraw_consent,
    gettext_noop(
        "Your consent is withdrawn. Your complaint's personal data is erased, unless the law "
        "requires us to keep it for now: then it is erased as soon as that ends."
    ),
    then=_after_consent_withdrawn,
)
complaint_accept = _complainant_action(
    None, "", None, services.accept_resolution, gettext_noop("Thank you. Your complaint is now closed.")
)
complaint_dispute = _complainant_action(
    ReasonForm,
    "dispute_form",
    "dispute",
    services.dispute_resolution,
    gettext_noop("Your complaint was reopened. We will look at it again."),
)
complaint_request_escalation = _complainant_action(
    ReasonForm,
    "escalation_form",
    "escalation",
    moves.request_escalation,
    gettext_noop("Your request was sent: your complaint now goes to someone with more authority."),
)
complaint_rate = _complainant_action(
    RatingForm,
    "rating_form",
    "rating",
    services.rate_handling,
    gettext_noop("Thank you for your rating."),
)


@never_cache
def track(request: HttpRequest, token: str) -> HttpResponse:
    """Exchange a tracking link's token for this browser's access, then go to the token-free URL."""
    with looked_up(request):
        complaint = redeem_tracking_token(token=token, now=timezone.now())
        if complaint is None:
            raise Http404
    response = redirect("complaints:detail", complaint.reference)
    response["Referrer-Policy"] = "no-referrer"
    return grant_guest_access(request, response, complaint)


def find_complaint(request: HttpRequest) -> HttpResponse:
    """Re-send the tracking link: same answer whether or not reference and e-mail match."""
    form = FindComplaintForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"].lower()
        limit = settings.FIND_COMPLAINT_LIMIT
        verdict = ratelimit.check(
            ratelimit.per_address_and_email(request, "find", email, per_ip=limit, per_email=limit),
            fail_open=True,
        )
        if not verdict.allowed:
            return ratelimit.refuse(
                request, verdict, template="complaints/complaint_find.html", context={"form": form}, form=form
            )
        services.resend_tracking_link(
            reference=form.cleaned_data["reference"], email=email, now=timezone.now()
        )
        messages.success(
            request,
            _(
                "If that reference and e-mail address belong to a complaint, we have sent a new "
                "tracking link to that address. It may take a few minutes to arrive."
            ),
        )
        return redirect("complaints:find")
    return render(request, "complaints/complaint_find.html", {"form": form})


@login_required
def my_complaints(request: HttpRequest) -> HttpResponse:
    queryset = (
        Complaint.objects.owned_by(request.user, guest_ids=guest_ids(request))
        .select_related("category", "subcategory")
        .order_by("-submitted_at", "-pk")
    )
    page = Paginator(queryset, 20).get_page(request.GET.get("page"))
    return render(request, "complaints/complaint_list.html", {"page": page})
