"""The complaint's badges, written in Python: they sit in every row of the staff queues, where an
included template per row cost more than the rest of the cell."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext

from complaints.models import Complaint, Status

register = template.Library()


@register.simple_tag(takes_context=True)
def status_badge(context: Any, complaint: Complaint) -> SafeString:
    """The status as a badge; staff read "waiting for the complainant" where the complainant
    reads the status's own name."""
    if context.get("is_agent") and complaint.status == Status.AWAITING_COMPLAINANT:
        label = gettext("Waiting for the complainant")
    else:
        label = complaint.get_status_display()
    return format_html('<span class="badge status-{}">{}</span>', complaint.status, label)
