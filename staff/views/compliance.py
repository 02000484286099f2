"""The managers' compliance report: a page of tables per period and regime, and the same as CSV
(the figures are `staff.compliance`)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from accounts.decorators import role_required
from accounts.models import Role
from staff import compliance
from staff.export import csv_lines
from staff.forms import ComplianceForm
from staff.views.reports import filters_refused


def _form(request: HttpRequest) -> ComplianceForm:
    return ComplianceForm(request.GET, today=timezone.localdate())


@role_required(Role.MANAGER)
def compliance_report(request: HttpRequest) -> HttpResponse:
    form = _form(request)
    if not form.is_valid():
        return render(request, "staff/compliance.html", {"form": form}, status=400)
    period, regime = form.cleaned_data["period"], form.cleaned_data["regime"]
    report = compliance.build_report(period=period, regime=regime, now=timezone.now())
    query = {"period": period.code, **({"regime": regime.code} if regime else {})}
    context = {
        "form": form,
        "report": report,
        "period": period,
        "regime": regime,
        "list_cap": compliance.LIST_CAP,
        "csv_query": urlencode(query),
    }
    return render(request, "staff/compliance.html", context)


@role_required(Role.MANAGER)
def compliance_csv(request: HttpRequest) -> HttpResponse:
    form = _form(request)
    if not form.is_valid():
        return filters_refused(form, _("The report was refused because of its filters."))
    period, regime = form.cleaned_data["period"], form.cleaned_data["regime"]
    now = timezone.now()
    report = compliance.build_report(period=period, regime=regime, now=now)
    rows = compliance.csv_rows(report, now=now, language=translation.get_language())
    response = StreamingHttpResponse(
        (chunk.encode("utf-8") for chunk in csv_lines(next(rows), rows)),
        content_type="text/csv; charset=utf-8",
    )
    suffix = f"-{regime.code}" if regime else ""
    response["Content-Disposition"] = f'attachment; filename="compliance-{period.code}{suffix}.csv"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
