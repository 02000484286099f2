"""The privacy officers' pages: requests about personal data, nearest deadline first, and
each request with its case, answered here (complaints.services.privacy)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.decorators import role_required
from accounts.models import Role
from complaints.models import Complaint, PrivacyRequest, PrivacyRequestStatus
from complaints.refusals import ActionRefused
from complaints.services import privacy
from staff.forms import AnswerPrivacyRequestForm

PAGE_SIZE = 25
TABS = ("open", "answered")


@role_required(Role.PRIVACY_OFFICER)
def privacy_requests(request: HttpRequest, tab: str = "open") -> HttpResponse:
    if tab not in TABS:
        raise Http404
    rows = PrivacyRequest.objects.select_related("complaint", "handled_by")
    if tab == "open":
        rows = rows.filter(status=PrivacyRequestStatus.OPEN).order_by("due_at", "pk")
    else:
        rows = rows.exclude(status=PrivacyRequestStatus.OPEN).order_by("-handled_at", "-pk")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    open_count = PrivacyRequest.objects.filter(status=PrivacyRequestStatus.OPEN).count()
    context = {"page": page, "tab": tab, "tabs": TABS, "open_count": open_count, "now": timezone.now()}
    return render(request, "staff/privacy_requests.html", context)


@role_required(Role.PRIVACY_OFFICER)
def privacy_request(
    request: HttpRequest, pk: int, form: AnswerPrivacyRequestForm | None = None
) -> HttpResponse:
    item = get_object_or_404(PrivacyRequest.objects.select_related("complaint", "handled_by"), pk=pk)
    context = {
        "item": item,
        "complaint": item.complaint,
        "form": form or AnswerPrivacyRequestForm(),
        "now": timezone.now(),
    }
    return render(request, "staff/privacy_request.html", context, status=400 if form is not None else 200)


@role_required(Role.PRIVACY_OFFICER)
@require_POST
def privacy_answer(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(PrivacyRequest, pk=pk)
    form = AnswerPrivacyRequestForm(request.POST)
    if not form.is_valid():
        return privacy_request(request, pk, form=form)
    try:
        privacy.answer_request(
            request=item,
            outcome=form.cleaned_data["outcome"],
            answer=form.cleaned_data["answer"],
            by=request.user,
            now=timezone.now(),
        )
    except ActionRefused as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The request was answered and the requester told."))
    return redirect("staff:privacy_request", pk)


@role_required(Role.PRIVACY_OFFICER)
@require_POST
def privacy_lift(request: HttpRequest, reference: str) -> HttpResponse:
    complaint = get_object_or_404(Complaint, reference=reference)
    try:
        privacy.lift_restriction(complaint=complaint, by=request.user, now=timezone.now())
    except ActionRefused as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The restriction is lifted: the case is processed again."))
    return redirect("staff:privacy_requests")
