"""A case's timeline, its contacts and its files, written in Python.

Both case pages show up to hundreds of entries, each with its time, who acted, what it did
and what it carried (contacts, files, the text, a message as received); as a template loop
that was the largest part of rendering a case. Written here as the staff queues' rows are
(staff.templatetags.queue_rows): every value escaped as templates escape it, the fixed words
translated once per timeline, every sentence the same msgid as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import template
from django.template.defaultfilters import filesizeformat, linebreaksbr
from django.utils.functional import cached_property
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext

from common.markup import escaped as _e
from common.markup import time_element
from common.urls import kept_row_url
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
        self.links = _Downloads()


class _Downloads:
    """The links to a page's files, each variant's route reversed once per process
    (common.urls.kept_row_url)."""

    @cached_property
    def thumb(self) -> Callable[[object], str]:
        return kept_row_url("evidence:download", "thumb")

    @cached_property
    def view(self) -> Callable[[object], str]:
        return kept_row_url("evidence:download", "view")

    @cached_property
    def original(self) -> Callable[[object], str]:
        return kept_row_url("evidence:download", "original")


@register.simple_tag
def evidence_items(evidence: list[Any], sees_originals: bool) -> SafeString:
    """The case's files, one list item each (evidence/_evidence_list.html): a picture's
    thumbnail, its sealed original (when the reader may take it) and cleaned copy, another
    file's original; the caption, and the SHA-256 fingerprint; a file erased with the
    complaint's personal data says so."""
    title = _e(gettext("A fingerprint of the original file: any change to the file changes it."))
    fingerprint = f'<div class="text-body-secondary sha256"><abbr title="{title}">SHA-256</abbr> '
    original, cleaned = _e(gettext("Original")), _e(gettext("Cleaned copy"))
    as_sent = _e(gettext("exactly as it was sent, with any location and camera details it carries"))
    reencoded = _e(gettext("re-encoded without location or camera details"))
    items, links = [], _Downloads()
    for item in evidence:
        size = _e(filesizeformat(item.size))
        if not item.original_key:
            erased = gettext("A file of %(size)s, erased with the complaint's personal data.") % {
                "size": size
            }
            items.append(
                f'<li class="mb-3 d-flex gap-2"><div class="small">{erased}'
                f"{fingerprint}{_e(item.sha256)}</div></div></li>"
            )
            continue
        parts = []
        if item.thumbnail_key:
            parts.append(_thumbnail(item, links))
        parts.append('<div class="small">')
        kind = _e(item.get_kind_display())
        href = _e(links.original(item.public_id))
        if item.is_image:
            parts.append(f'<span class="fw-semibold">{_e(item.original_name)}</span> · {kind} · {size}')
            parts.append('<ul class="list-unstyled mb-0">')
            if sees_originals:
                parts.append(f'<li><a href="{href}" download>{original}</a> — {as_sent}</li>')
            view = _e(links.view(item.public_id))
            parts.append(f'<li><a href="{view}" download>{cleaned}</a> — {reencoded}</li></ul>')
        else:
            name = gettext("%(name)s (original)") % {"name": _e(item.original_name)}
            parts.append(f'<a href="{href}" download>{name}</a> · {kind} · {size}')
        if item.caption:
            parts.append(f"<div>{_e(item.caption)}</div>")
        parts.append(f"{fingerprint}{_e(item.sha256)}</div></div>")
        items.append(f'<li class="mb-3 d-flex gap-2">{"".join(parts)}</li>')
    return mark_safe("".join(items))  # noqa: S308 - every value escaped above


def _thumbnail(item: Any, links: _Downloads) -> str:
    """A picture's thumbnail, its caption (else its name) for the words."""
    src, alt = links.thumb(item.public_id), item.caption or item.original_name
    return f'<img class="evidence-thumb rounded border" src="{_e(src)}" alt="{_e(alt)}" loading="lazy">'


def _file(item: Any, words: _Words) -> str:
    if not item.original_key:
        return words.erased
    if item.thumbnail_key:
        return _thumbnail(item, words.links)
    href = words.links.view(item.public_id)
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
        href = words.links.original(email.public_id)
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
