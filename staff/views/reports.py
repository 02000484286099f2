"""The managers' SLA dashboard and the CSV export of complaints."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from accounts.decorators import role_required
from accounts.models import Role
from complaints.access import reader
from complaints.accesslog import record_export
from escalation.standing import level_names
from staff import dashboard
from staff.charts import charts_for
from staff.export import csv_lines, export_rows, header
from staff.forms import DashboardForm, ExportFilterForm
from staff.selectors import filtered_complaints


@role_required(Role.MANAGER)
def sla_dashboard(request: HttpRequest) -> HttpResponse:
    form = DashboardForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return render(request, "staff/dashboard.html", {"form": form}, status=400)
    weeks = form.cleaned_data["weeks"] if form.is_bound else dashboard.DEFAULT_WEEKS
    now = timezone.now()
    figures = dashboard.build_dashboard(now=now, weeks=weeks)
    export_query = urlencode(
        {"submitted_from": figures.weeks[0].isoformat(), "submitted_to": timezone.localdate(now).isoformat()}
    )
    context = {
        "form": form,
        "weeks": weeks,
        "week_choices": dashboard.WEEK_CHOICES,
        "figures": figures,
        "charts": charts_for(figures),
        "export_url": f"{reverse('staff:export')}?{export_query}",
        "export_form": ExportFilterForm(
            initial={"submitted_from": figures.weeks[0], "submitted_to": timezone.localdate(now)}
        ),
    }
    return render(request, "staff/dashboard.html", context)


def filters_refused(form: Any, reason: str) -> HttpResponseBadRequest:
    """A CSV refused for its filters: why, then each filter's problems, as plain text."""
    problems = [
        f"{form.fields[name].label if name in form.fields else _('Filters')}: {' '.join(errors)}"
        for name, errors in form.errors.items()
    ]
    message = reason + "\n" + "\n".join(problems) + "\n"
    return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


@role_required(Role.MANAGER)
def export_complaints(request: HttpRequest) -> HttpResponse:
    form = ExportFilterForm(request.GET)
    if not form.is_valid():
        return filters_refused(form, _("The export was refused because of its filters."))
    # A case whose complainant restricted its processing is in no export until lifted.
    complaints = filtered_complaints(form.cleaned_data).filter(processing_restricted_at__isnull=True)
    # Logged before a row leaves: one entry per complaint exported, in one statement.
    record_export(reader=reader(request), complaints=complaints, at=timezone.now())
    rows = export_rows(
        complaints,
        language=translation.get_language(),
        level_names=level_names(),
    )
    response = StreamingHttpResponse(
        (chunk.encode("utf-8") for chunk in csv_lines(header(), rows)),
        content_type="text/csv; charset=utf-8",
    )
    filename = f"complaints-{timezone.localdate():%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
