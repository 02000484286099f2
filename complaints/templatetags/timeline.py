"""A case's timeline and its contacts, written in Python.

Both case pages show up to hundreds of entries, each with its time, who acted, what it did
and what it carried (contacts, files, the text, a message as received); as a template loop
that was the largest part of rendering a case. Written here as the staff queues' rows are
(staff.templatetags.queue_rows): every value escaped as templates escape it, the fixed words
translated once per timeline, every sentence the same msgid as before.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.template.defaultfilters import linebreaksbr
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext

from common.markup import escaped as _e
from common.markup import time_element
from complaints.models import ComplaintEvent, ContactAttempt, EventKind

register = template.Library()


@register.simple_tag
def contact_line(contact: ContactAttempt) -> SafeString:
    """An earlier contact with the provider: when, how, with whom, their reference, what was said."""
    parts = [time_element(contact.contacted_at), _e(contact.get_channel_display())]
    parts += [_e(value) for value in (contact.with_whom, contact.their_reference) if value]
    return mark_safe(f"{' · '.join(parts)}<br><span>{linebreaksbr(contact.summary)}</span>")  # noqa: S308


class _Words:
    """The timeline's fixed words, translated once."""

    def __init__(self) -> None:
        self.you = _e(gettext("You"))
        self.complainant = _e(gettext("Complainant"))
        self.internal = _e(gettext("internal"))
        self.by_email = _e(gettext("by e-mail"))
        self.earlier = _e(gettext("Earlier contacts with the provider:"))
        self.erased = _e(gettext("(file erased)"))
        self.refused = _e(gettext("Files in the e-mail that were not added:"))
        self.as_received = _e(gettext("The e-mail as received (.eml)"))


def _file(item: Any, words: _Words) -> str:
    if not item.original_key:
        return words.erased
    if item.thumbnail_key:
        src = reverse("evidence:download", args=[item.public_id, "thumb"])
        alt = item.caption or item.original_name
        return f'<img class="evidence-thumb rounded border" src="{_e(src)}" alt="{_e(alt)}" loading="lazy">'
    href = reverse("evidence:download", args=[item.public_id, "view"])
    return f'<a href="{_e(href)}" download>{_e(item.original_name)}</a>'


def _entry(event: ComplaintEvent, *, is_owner: bool, words: _Words) -> str:
    payload = event.payload
    contacts = getattr(event, "contact_items", None)
    files = getattr(event, "evidence_items", None)
    refused = getattr(event, "refused_files", None)
    email = getattr(event, "email_item", None)
    summary = getattr(event, "summary", "")
    if event.actor_role == "complainant":
        who = words.you if is_owner else words.complainant
    else:
        who = _e(event.get_actor_role_display())
    border = "border-primary-subtle" if event.public else "border-warning"
    out = [
        f'\n<li class="border-start border-3 ps-3 pb-3 {border}" data-kind="{_e(event.kind)}">'
        f'\n  <div class="small text-body-secondary">\n    {time_element(event.created_at)} · {who}',
        "" if event.public else f'\n    <span class="badge text-bg-warning">{words.internal}</span>',
        f'\n  </div>\n  <div class="fw-semibold">{_e(event.get_kind_display())}',
        f' <span class="fw-normal small text-body-secondary">· {words.by_email}</span>'
        if payload.get("via") == "email"
        else "",
        "</div>",
    ]
    if summary:
        out.append(f"\n  <div>{_e(summary)}</div>")
    if event.kind == EventKind.RATED:
        rating = gettext("%(rating)s of 5") % {"rating": _e(payload.get("rating", ""))}
        out.append(f"\n  <div>{rating}</div>")
    if contacts:
        if event.kind == EventKind.SUBMITTED:
            out.append(f'\n  <div class="small mt-1">{words.earlier}</div>')
        items = "".join(f"<li>{contact_line(contact)}</li>" for contact in contacts)
        out.append(f'\n  <ul class="small mb-0">{items}</ul>')
    if files:
        items = "".join(f'\n    <li class="list-inline-item">{_file(item, words)}</li>' for item in files)
        out.append(f'\n  <ul class="list-inline mt-1 mb-0">{items}\n  </ul>')
    if event.body and not contacts:
        out.append(f'\n  <div class="mt-1">{linebreaksbr(event.body)}</div>')
    if refused:
        items = "".join(f"<li>{_e(file.get('why', ''))}</li>" for file in refused)
        out.append(f'\n  <div class="small mt-1 text-danger">{words.refused}</div>')
        out.append(f'\n  <ul class="small mb-0 text-danger">{items}</ul>')
    if email:
        href = reverse("evidence:download", args=[email.public_id, "original"])
        digest = _e(Truncator(email.sha256).chars(17))
        out.append(
            f'\n  <div class="small mt-1"><a href="{_e(href)}" download>{words.as_received}</a>'
            f' <span class="text-body-secondary">SHA-256 <span class="font-monospace">{digest}</span></span>'
            "</div>"
        )
    out.append("\n</li>")
    return "".join(out)


@register.simple_tag(takes_context=True)
def timeline(context: Any) -> SafeString:
    """The case's events, oldest first (`events`, annotated by complaints.case_page: their
    files, contacts and summaries), as the owner (`is_owner`) or anyone else reads them."""
    words, is_owner = _Words(), bool(context.get("is_owner"))
    entries = [_entry(event, is_owner=is_owner, words=words) for event in context["events"]]
    body = "".join(entries) if entries else f"\n<li>{_e(gettext('Nothing yet.'))}</li>"
    return mark_safe(f'<ol class="list-unstyled timeline" data-testid="timeline">{body}\n</ol>')  # noqa: S308
