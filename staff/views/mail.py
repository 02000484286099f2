"""Review of inbound e-mail: the messages that did not land on a case by themselves.

`staff/mail/` lists what waits for a person (no case matched, a sender who is not the one
the case wrote to, a failed DMARC/SPF, a message that could not be read, a closed case,
a sender over the hourly limit), newest first, with the reason and the case it seems to
be about; the other tabs show what was recorded without a person (automatic replies,
delivery failures) and what reviewers did. Each waiting message can be attached to a
case (as the complainant's reply) or discarded; nothing is dropped silently.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.decorators import role_required
from accounts.models import STAFF_ROLES
from complaints.models import Complaint, InboundMessage, InboundStatus
from complaints.refusals import ActionRefused
from complaints.services import inbound as pipeline
from staff.forms import AttachMailForm

PAGE_SIZE = 25
# The tabs of the page: the statuses each shows.
TABS: dict[str, tuple[str, ...]] = {
    "waiting": (InboundStatus.REVIEW,),
    "automatic": (InboundStatus.AUTO_REPLY, InboundStatus.BOUNCE),
    "handled": (InboundStatus.ATTACHED, InboundStatus.DISCARDED),
    "landed": (InboundStatus.LANDED,),
}


@role_required(*STAFF_ROLES)
def mail_review(request: HttpRequest, tab: str = "waiting") -> HttpResponse:
    if tab not in TABS:
        raise Http404
    rows = (
        InboundMessage.objects.filter(status__in=TABS[tab])
        .select_related("complaint", "handled_by")
        .order_by("-received_at", "-pk")
    )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    for message in page.object_list:
        suggested = message.complaint.reference if message.complaint is not None else ""
        message.attach_form = AttachMailForm(initial={"reference": suggested}, prefix=f"m{message.pk}")
    waiting = (
        page.paginator.count
        if tab == "waiting"
        else InboundMessage.objects.filter(status=InboundStatus.REVIEW).count()
    )
    context = {"page": page, "tab": tab, "tabs": TABS, "waiting": waiting}
    return render(request, "staff/mail_review.html", context)


@role_required(*STAFF_ROLES)
def mail_original(request: HttpRequest, pk: int) -> FileResponse:
    """The message as received (.eml), for a reviewer to read in a mail program."""
    message = get_object_or_404(InboundMessage, pk=pk)
    if not default_storage.exists(message.raw_key):
        raise Http404
    return FileResponse(
        default_storage.open(message.raw_key, "rb"),
        as_attachment=True,
        filename=f"message-{message.pk}.eml",
        content_type="message/rfc822",
    )


def _review_action(request: HttpRequest, act: Callable[[], str]) -> HttpResponse:
    """Run a reviewer's action: what `act` returns is said as a success; a rule's refusal
    (someone else dealt with the message, the case takes no replies, ...) as an error.
    Either way, back to the list."""
    try:
        done = act()
    except ActionRefused as exc:
        for error in exc.messages:
            messages.error(request, error)
    else:
        messages.success(request, done)
    return redirect("staff:mail_review")


@require_POST
@role_required(*STAFF_ROLES)
def mail_attach(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(InboundMessage, pk=pk)
    form = AttachMailForm(request.POST, prefix=f"m{message.pk}")
    if not form.is_valid():
        for error in form.errors.get("reference", []):
            messages.error(request, error)
        return redirect("staff:mail_review")
    complaint = Complaint.objects.get(reference=form.cleaned_data["reference"])

    def attach() -> str:
        pipeline.attach_to_case(inbound=message, complaint=complaint, by=request.user, now=timezone.now())
        return _("The e-mail was added to case %(reference)s.") % {"reference": complaint.reference}

    return _review_action(request, attach)


@require_POST
@role_required(*STAFF_ROLES)
def mail_open(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(InboundMessage, pk=pk)

    def open_it() -> str:
        opened = pipeline.open_as_complaint(inbound=message, by=request.user, now=timezone.now())
        return _(
            "Complaint %(reference)s was opened from the e-mail; its sender was sent a link to complete it."
        ) % {"reference": opened.complaint.reference}

    return _review_action(request, open_it)


@require_POST
@role_required(*STAFF_ROLES)
def mail_discard(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(InboundMessage, pk=pk)

    def discard() -> str:
        pipeline.discard(inbound=message, by=request.user, now=timezone.now())
        return _("The e-mail was discarded. It stays on record.")

    return _review_action(request, discard)
