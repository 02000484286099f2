"""Cells of the queues' rows, written in Python: a queue page has 25 rows, and these cells'
template logic (a badge per state, a sentence with the time over or left) cost a third of a
row's rendering."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext, gettext_noop

from common.times import duration_since, duration_until
from complaints.models import Complaint

register = template.Library()

# The SLA state (staff.selectors.sla_state) as a badge: its class and its words.
BADGES = {
    "breached": ("text-bg-danger", gettext_noop("Breached")),
    "warning": ("text-bg-warning", gettext_noop("Warning")),
    "paused": ("text-bg-secondary", gettext_noop("Paused")),
    "on_track": ("text-bg-success", gettext_noop("On track")),
}


@register.simple_tag
def sla_cell(complaint: Complaint, now: datetime) -> SafeString:
    """The row's SLA state as a badge, with the time over (breached) or left (warning, on
    track) under it when the case has a deadline."""
    css, words = BADGES[complaint.sla]
    badge = format_html('<span class="badge {}">{}</span>', css, gettext(words))
    if not complaint.sla_delta or complaint.sla == "paused":
        return badge
    if complaint.sla == "breached":
        over = gettext("%(over)s over") % {"over": duration_since(complaint.due, now)}
        return format_html('{}<div class="small text-danger">{}</div>', badge, over)
    left = gettext("%(left)s left") % {"left": duration_until(complaint.due, now)}
    return format_html('{}<div class="small">{}</div>', badge, left)
