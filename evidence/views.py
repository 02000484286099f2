"""Upload, download and dossier export. Anyone not entitled gets 404, never a hint."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.core.files.storage import default_storage
from django.db import DatabaseError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.encoding import escape_uri_path
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from complaints.access import (
    is_owner,
    is_staff,
    may_add_evidence,
    may_take_dossier,
    may_take_original,
    visible_complaint,
)
from evidence import services
from evidence.forms import EvidenceFormSet, report_upload_outcome
from evidence.models import Evidence

logger = logging.getLogger(__name__)

# Served files never run: no script, no plugins, no same-origin access, even if opened.
DOWNLOAD_CSP = "default-src 'none'; img-src 'self'; media-src 'self'; sandbox"


@require_POST
def upload(request: HttpRequest, reference: str) -> HttpResponse:
    complaint = visible_complaint(request, reference)
    if not may_add_evidence(request, complaint):
        raise Http404
    case_page = "staff:case" if is_staff(request) else "complaints:detail"
    formset = EvidenceFormSet(request.POST, request.FILES, prefix="evidence")
    if not formset.is_valid():
        messages.error(request, _("No file was added: %(problems)s") % {"problems": _problems(formset)})
        return redirect(case_page, complaint.reference)
    try:
        result = services.attach_evidence(
            complaint=complaint, uploads=formset.uploads, by=request.user, now=timezone.now()
        )
    except (services.EvidenceStorageError, DatabaseError):
        logger.exception("evidence upload to %s failed; nothing was kept", complaint.reference)
        messages.error(request, _("We could not store your files. Nothing was saved; please try again."))
    else:
        report_upload_outcome(request, result)
    return redirect(case_page, complaint.reference)


def _problems(formset: EvidenceFormSet) -> str:
    """What is wrong with the posted rows, in the visitor's language (Django's own messages)."""
    problems = [str(error) for error in formset.non_form_errors()]
    for form in formset.forms:
        for name, errors in form.errors.items():
            label = form.fields[name].label if name in form.fields else ""
            problems.append(f"{label}: {' '.join(errors)}" if label else " ".join(errors))
    return " ".join(dict.fromkeys(problems))


def _stored_response(key: str, *, filename: str, content_type: str, inline: bool = False) -> HttpResponse:
    """Serve a stored object: streamed from local storage, or a short-lived signed S3 link."""
    disposition = "inline" if inline else "attachment"
    if hasattr(default_storage, "bucket"):
        quoted = escape_uri_path(filename)
        url = default_storage.url(
            key,
            parameters={
                "ResponseContentDisposition": f"{disposition}; filename*=UTF-8''{quoted}",
                "ResponseContentType": content_type,
            },
            expire=settings.EVIDENCE_URL_EXPIRY,
        )
        response: HttpResponse = HttpResponseRedirect(url)
    else:
        try:
            handle = default_storage.open(key, "rb")
        except FileNotFoundError as exc:
            raise Http404 from exc
        response = FileResponse(
            handle, as_attachment=not inline, filename=filename, content_type=content_type
        )
    response["Content-Security-Policy"] = DOWNLOAD_CSP
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_GET
def download(request: HttpRequest, public_id: str, variant: str) -> HttpResponse:
    """original: the sealed file, as it was sent (`may_take_original`);
    view: the re-encoded image without its metadata (named "…-cleaned"), or the file itself
    for anything that is not re-encoded; thumb: the small preview shown on the timeline."""
    evidence = get_object_or_404(Evidence.objects.select_related("complaint"), public_id=public_id)
    complaint = evidence.complaint
    if not (is_owner(request, complaint) or is_staff(request)):
        raise Http404
    stem = evidence.original_name.rsplit(".", 1)[0]
    if variant == "thumb" and evidence.thumbnail_key:
        ext = evidence.thumbnail_key.rsplit(".", 1)[-1]
        return _stored_response(
            evidence.thumbnail_key,
            filename=f"{stem}-preview.{ext}",
            content_type=evidence.derivative_content_type,
            inline=True,
        )
    if variant == "view" and evidence.derivative_key:
        ext = evidence.derivative_key.rsplit(".", 1)[-1]
        return _stored_response(
            evidence.derivative_key,
            filename=f"{stem}-cleaned.{ext}",
            content_type=evidence.derivative_content_type,
        )
    if variant in ("original", "view") and may_take_original(request, complaint, is_image=evidence.is_image):
        return _stored_response(
            evidence.original_key, filename=evidence.original_name, content_type=evidence.content_type
        )
    raise Http404


@require_GET
def dossier(request: HttpRequest, reference: str) -> HttpResponse:
    """The complaint as a ZIP for a regulator: its complainant and managers only."""
    complaint = visible_complaint(request, reference)
    if not may_take_dossier(request, complaint):
        raise Http404
    archive = services.write_dossier(complaint=complaint, language=get_language())
    response = FileResponse(
        archive,
        as_attachment=True,
        filename=f"{complaint.reference}-dossier.zip",
        content_type="application/zip",
    )
    response["Cache-Control"] = "private, no-store"
    return response
