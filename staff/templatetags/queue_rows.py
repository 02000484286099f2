"""The rows of the staff queues, written in Python.

A queue page shows 25 rows of nine cells, with a badge per state, times in words and two
forms a row; as a template loop that was half the page's server time. The rows are
written here, as Django's admin writes its change list (`items_for_result`): every value
escaped as templates escape it (`common.markup.escaped`), the page's fixed words translated
once per page, every sentence the same msgid as before. The rest of each page (its header,
filters and paging) stays in its template.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext, gettext_noop

from common.markup import escaped as _e
from common.markup import time_element
from common.times import ago, duration, duration_since
from complaints.models import Complaint
from complaints.templatetags.complaint_badges import incomplete_badge, standing_why, status_badge
from escalation.models import DeadlineKind

register = template.Library()

# The SLA state (staff.selectors.sla_state) as a badge: its class and its words.
BADGES = {
    "breached": ("text-bg-danger", gettext_noop("Breached")),
    "warning": ("text-bg-warning", gettext_noop("Warning")),
    "paused": ("text-bg-secondary", gettext_noop("Paused")),
    "on_track": ("text-bg-success", gettext_noop("On track")),
}

ZERO = timedelta(0)


def _badges() -> dict[str, tuple[str, str]]:
    """The SLA states' badges: their classes and words, translated and escaped."""
    return {state: (css, _e(gettext(words))) for state, (css, words) in BADGES.items()}


def _sla(complaint: Complaint, badges: dict[str, tuple[str, str]]) -> str:
    """The SLA state as a badge, with the time over (breached) or left (warning, on track)
    under it when the case has a deadline (the nearest one: a regime's may be nearer)."""
    css, words = badges[complaint.sla]
    badge = f'<span class="badge {css}">{words}</span>'
    if not complaint.sla_delta or complaint.sla == "paused":
        return badge
    if complaint.sla == "breached":
        over = gettext("%(over)s over") % {"over": duration(max(complaint.sla_delta, ZERO))}
        return f'{badge}<div class="small text-danger">{_e(over)}</div>'
    left = gettext("%(left)s left") % {"left": duration(max(complaint.sla_delta, ZERO))}
    return f'{badge}<div class="small">{_e(left)}</div>'


@register.simple_tag
def sla_badge(complaint: Complaint) -> SafeString:
    """A case's SLA state (staff.selectors.sla_state) as the queues show it: the related and
    linked cases of a case page. Nothing for a case whose clock no longer runs (`sla` None)."""
    if not getattr(complaint, "sla", None):
        return mark_safe("")
    return mark_safe(_sla(complaint, _badges()))  # noqa: S308 - every value in it escaped by _e


class _Page:
    """What every row of one page shares: its words (translated once), the token and the
    page's own path for the forms, the staff list."""

    def __init__(self, context: Any) -> None:
        self.context = context
        self.now: datetime = context["now"]
        self.badges = _badges()
        self.nobody = _e(gettext("Nobody"))
        self.choose = _e(gettext("Choose a person"))
        self.csrf = f'<input type="hidden" name="csrfmiddlewaretoken" value="{_e(context["csrf_token"])}">'
        self.here = _e(context["here"])
        self.staff_options = _e(context.get("staff_options") or "")

    def sla(self, complaint: Complaint) -> str:
        return _sla(complaint, self.badges)

    def owner(self, complaint: Complaint) -> str:
        if complaint.assignee is not None:
            return _e(complaint.assignee.display_name)
        return f'<span class="text-body-secondary">{self.nobody}</span>'

    def take_form(self, complaint: Complaint, button: str) -> str:
        """The form that gives the case to the reader (claim, take ownership); `button` is HTML."""
        return (
            f'\n<form method="post" action="{_e(complaint.assign_url)}" class="mb-1">{self.csrf}\n'
            f'  <input type="hidden" name="assignee" value="me"><input type="hidden" name="version" value="{_e(complaint.version)}">\n'  # noqa: E501
            f'  <input type="hidden" name="next" value="{self.here}">\n'
            f'  <button class="btn btn-sm btn-primary" type="submit">{button}</button>\n'
            "</form>"
        )

    def assign_form(self, complaint: Complaint, *, id_prefix: str, label: str, button: str) -> str:
        """The form that gives the case to someone chosen from the staff list."""
        field_id = f"{id_prefix}-{_e(complaint.pk)}"
        return (
            f'\n<form method="post" action="{_e(complaint.assign_url)}" class="d-flex gap-1">{self.csrf}\n'
            f'  <input type="hidden" name="version" value="{_e(complaint.version)}">\n'
            f'  <input type="hidden" name="next" value="{self.here}">\n'
            f'  <label class="visually-hidden" for="{field_id}">{_e(label)}</label>\n'
            f'  <select class="form-select form-select-sm" name="assignee" id="{field_id}" required>\n'
            f'    <option value="">{self.choose}</option>{self.staff_options}\n'
            "  </select>\n"
            f'  <button class="btn btn-sm btn-outline-secondary" type="submit">{_e(button)}</button>\n'
            "</form>"
        )

    def moment(self, moment: datetime) -> tuple[str, str]:
        """A moment as <time> in words, and how long ago it was (or in how long it comes)."""
        return time_element(moment), _e(ago(moment, self.now))


@register.simple_tag(takes_context=True)
def agent_queue_rows(context: Any) -> SafeString:
    """The agents' queue's rows (staff/queue.html)."""
    page = _Page(context)
    claim, assign, assign_label = (
        gettext('Claim<span class="visually-hidden"> %(reference)s</span>'),
        gettext("Assign"),
        gettext("Assign %(reference)s to"),
    )
    rows = []
    for complaint in context["rows"]:
        reference = _e(complaint.reference)
        status = status_badge(context, complaint)
        if complaint.incomplete_since:
            status = f"{status} {incomplete_badge()}"
        actions = ""
        if not complaint.assignee_id:
            # The translation's own markup around the escaped reference, as {% blocktranslate %}.
            actions += page.take_form(complaint, claim % {"reference": reference})
        if page.staff_options:
            label = assign_label % {"reference": complaint.reference}
            actions += page.assign_form(complaint, id_prefix="assign", label=label, button=assign)
        rows.append(
            f'\n<tr data-reference="{reference}">'
            f'\n  <td><a class="font-monospace" href="{_e(complaint.case_url)}">{reference}</a>'
            f'<div class="small">{_e(Truncator(complaint.subject).chars(60))}</div></td>'
            f"\n  <td>{_e(complaint.category.name)}</td>"
            f"\n  <td>{_e(complaint.get_complexity_display())}</td>"
            f"\n  <td>{status}</td>"
            f"\n  <td>{_e(complaint.level_name)}</td>"
            f"\n  <td>{_e(duration_since(complaint.submitted_at, page.now))}</td>"
            f"\n  <td>{page.sla(complaint)}</td>"
            f"\n  <td>{page.owner(complaint)}</td>"
            f"\n  <td>{actions}</td>\n</tr>"
        )
    return mark_safe("".join(rows))  # noqa: S308 - every value in it escaped by _e


@register.simple_tag(takes_context=True)
def manager_queue_rows(context: Any) -> SafeString:
    """The managers' queue's rows (staff/manager_queue.html)."""
    page = _Page(context)
    reader = context["request"].user
    deadlines = {
        "first_response": _e(gettext("First response deadline")),
        "resolution": _e(gettext("Resolution deadline")),
        **{
            f"regulatory_{kind}": _e(gettext("Required by law: %(deadline)s") % {"deadline": label})
            for kind, label in DeadlineKind.choices
        },
    }
    take, reassign, reassign_label = (
        gettext("Take ownership"),
        gettext("Reassign"),
        gettext("Reassign %(reference)s to"),
    )
    rows = []
    for complaint in context["rows"]:
        reference, standing = _e(complaint.reference), complaint.standing
        why = "—"
        if standing.reason:
            moved, moved_ago = page.moment(standing.moved_at)
            when_moved = f'<div class="small text-body-secondary">{moved} · {moved_ago}</div>'
            why = f"{_e(standing_why(standing))}\n    {when_moved}"
        missed = "—"
        if standing.deadline:
            broke, broke_ago = page.moment(standing.broke_at)
            deadline = deadlines[standing.deadline]
            missed = (
                f'{deadline}\n    <div>{broke}</div>\n    <div class="small text-danger">{broke_ago}</div>'
            )
        actions = ""
        if complaint.assignee_id != reader.pk:
            actions += page.take_form(complaint, _e(take))
        label = reassign_label % {"reference": complaint.reference}
        actions += page.assign_form(complaint, id_prefix="reassign", label=label, button=reassign)
        rows.append(
            f'\n<tr data-reference="{reference}">'
            f'\n  <td class="font-monospace"><a href="{_e(complaint.case_url)}">{reference}</a></td>'
            f"\n  <td>{_e(complaint.subject)}"
            f'<div class="small text-body-secondary">{_e(complaint.category.name)} › {_e(complaint.subcategory.name)}</div></td>'  # noqa: E501, RUF001 - the pages' separator
            f"\n  <td>{why}</td>\n  <td>{missed}</td>\n  <td>{_e(standing.level_name)}</td>"
            f"\n  <td>{page.owner(complaint)}</td>\n  <td>{actions}</td>\n</tr>"
        )
    return mark_safe("".join(rows))  # noqa: S308 - every value in it escaped by _e
