"""The access log for the people who answer for it: managers and privacy officers.

`staff/access/` is the whole log, newest first, with a box that opens one case's log;
`staff/cases/<reference>/access/` is one case's: who opened it, downloaded its files, its
dossier or exported it, when, in which role and from which address. Anyone else gets 404.
Reading the log is not itself logged: it shows who read a case, not the case.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.decorators import role_required
from accounts.models import ACCESS_LOG_ROLES
from common.paging import Cursor, Page
from complaints.access import complaint_or_404
from complaints.accesslog import access_page
from complaints.models import Complaint
from staff.forms import AccessLookupForm


@role_required(*ACCESS_LOG_ROLES)
def access_log(request: HttpRequest) -> HttpResponse:
    """Every case's log, newest first; a reference typed in opens that case's log (400 when
    no case has it)."""
    form = AccessLookupForm(request.GET if "reference" in request.GET else None)
    if form.is_bound and form.is_valid():
        return redirect("staff:case_access", form.cleaned_data["reference"])
    page = access_page(complaint=None, after=_cursor(request))
    status = 400 if form.is_bound else 200
    return render(request, "staff/access_log.html", _context(request, page, form=form), status=status)


@role_required(*ACCESS_LOG_ROLES)
def case_access(request: HttpRequest, reference: str) -> HttpResponse:
    """One case's log, newest first."""
    complaint = complaint_or_404(Complaint.objects.all(), reference)
    page = access_page(complaint=complaint, after=_cursor(request))
    return render(request, "staff/access_log.html", _context(request, page, complaint=complaint))


def _cursor(request: HttpRequest) -> Cursor | None:
    return Cursor.decode(request.GET["after"]) if request.GET.get("after") else None


def _context(request: HttpRequest, page: Page, **extra: Any) -> dict[str, Any]:
    return {
        "entries": page.rows,
        "next_cursor": page.next_cursor,
        "is_later_page": bool(request.GET.get("after")),
        "complaint": None,
        "form": None,
        **extra,
    }
