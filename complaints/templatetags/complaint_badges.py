"""The complaint's badges and why a case stands where it does on the ladder, written in Python:
they sit in every row of the staff queues (staff.templatetags.queue_rows), where an included
template per row cost more than the rest of the cell, and on the case page."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext

from common.times import duration
from complaints.models import STAFF_STATUS_LABELS, Complaint
from escalation.models import Reason
from escalation.standing import Standing

register = template.Library()


@register.simple_tag(takes_context=True)
def status_badge(context: Any, complaint: Complaint) -> SafeString:
    """The status as a badge; staff read "waiting for the complainant" where the complainant
    reads the status's own name."""
    label = complaint.get_status_display()
    if context.get("is_agent"):
        label = STAFF_STATUS_LABELS.get(complaint.status, label)
    return format_html('<span class="badge status-{}">{}</span>', complaint.status, label)


@register.simple_tag
def incomplete_badge() -> SafeString:
    """The badge of a complaint opened by e-mail whose dossier misses parts."""
    return format_html(
        '<span class="badge text-bg-info" data-testid="incomplete" title="{}">{}</span>',
        gettext("Opened by e-mail: parts of the dossier are still missing."),
        gettext("Incomplete"),
    )


@register.simple_tag
def standing_why(standing: Standing) -> str:
    """What took the case up the ladder last, in a sentence ("" when nothing did)."""
    if standing.reason == Reason.FIRST_RESPONSE_BREACHED:
        return gettext("The first-response deadline was missed")
    if standing.reason == Reason.RESOLUTION_BREACHED:
        return gettext("The resolution deadline was missed")
    if standing.reason == Reason.CLIMB:
        if standing.limit:
            return gettext("The time allowed at “%(rung)s” (%(limit)s) ran out") % {
                "rung": standing.from_name,
                "limit": duration(standing.limit),
            }
        return gettext("The time allowed at “%(rung)s” ran out") % {"rung": standing.from_name}
    if standing.reason == Reason.COMPLAINANT_REQUEST:
        return gettext("The complainant asked for escalation")
    if standing.reason == Reason.MANUAL:
        return gettext("Escalated by staff")
    if standing.reason == Reason.REGULATORY_BREACHED:
        return gettext("A deadline set by law or a regulator was missed")
    return ""
