"""Upload, download and dossier export. Anyone not entitled gets 404, never a hint."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.core.files.storage import default_storage
from django.db import DatabaseError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import escape_uri_path
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from common import ratelimit
from complaints.access import (
    is_owner,
    is_staff,
    may_add_evidence,
    may_take_dossier,
    may_take_original,
    reader,
    staging_owner,
    visible_complaint,
)
from complaints.accesslog import record_access
from complaints.models import AccessKind
from complaints.refusals import EvidenceRejected
from evidence import services
from evidence.forms import EvidenceFormSet, refusal_messages, report_upload_outcome
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
    if not formset.items and not formset.removed and not refusal_messages(request):
        # Sent with no file at all (a caption alone): said, not passed over in silence.
        messages.error(
            request, _("No file was added: %(problems)s") % {"problems": _("Choose a file first.")}
        )
        return redirect(case_page, complaint.reference)
    owner = staging_owner(request)
    for public_id in formset.removed:
        services.discard_staged(owner=owner, public_id=public_id)
    try:
        result = services.attach_files(
            complaint=complaint,
            items=[(item, caption) for _index, item, caption in formset.items],
            owner=owner,
            by=request.user,
            now=timezone.now(),
        )
    except (services.EvidenceStorageError, DatabaseError):
        logger.exception("evidence upload to %s failed; nothing was kept", complaint.reference)
        messages.error(request, _("We could not store your files. Nothing was saved; please try again."))
    else:
        report_upload_outcome(request, result)
    return redirect(case_page, complaint.reference)


@require_POST
def stage(request: HttpRequest) -> JsonResponse:
    """A file chosen on a form, sent alone the moment it is chosen: checked, then kept in the
    visitor's staging area (201 with its id) or refused in plain words (400)."""
    upload = request.FILES.get("file")  # parsing the body notes the handler's refusals
    rejections = refusal_messages(request)
    if rejections:
        return JsonResponse({"error": " ".join(rejections)}, status=400)
    if upload is None:
        return JsonResponse({"error": _("Choose a file first.")}, status=400)
    # As many files an hour as the complaints an address may file could carry.
    limit = settings.INTAKE_LIMIT_PER_IP * settings.EVIDENCE_MAX_FILES
    verdict = ratelimit.check(
        [ratelimit.Limit("stage-ip", ratelimit.ip_key(request), limit, 3600)], fail_open=True
    )
    if not verdict.allowed:
        response = JsonResponse({"error": ratelimit.retry_message(verdict)}, status=429)
        response["Retry-After"] = str(verdict.retry_after)
        return response
    try:
        staged = services.stage_upload(
            owner=staging_owner(request, create=True), upload=upload, now=timezone.now()
        )
    except EvidenceRejected as exc:
        return JsonResponse({"error": " ".join(exc.messages)}, status=400)
    except (services.EvidenceStorageError, DatabaseError):
        logger.exception("staging a chosen file failed; nothing was kept")
        return JsonResponse(
            {"error": _("We could not check this file just now. It will be sent with the form instead.")},
            status=503,
        )
    return JsonResponse(
        {
            "id": str(staged.public_id),
            "name": staged.original_name,
            "size": filesizeformat(staged.size),
            "remove_url": reverse("evidence:unstage", args=[staged.public_id]),
        },
        status=201,
    )


@require_POST
def unstage(request: HttpRequest, public_id: str) -> HttpResponse:
    """Remove a file from the visitor's staging area; another visitor's is a 404."""
    owner = staging_owner(request)
    if not owner or not services.discard_staged(owner=owner, public_id=public_id):
        raise Http404
    return HttpResponse(status=204)


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
    for anything that is not re-encoded; thumb: the small preview shown on the timeline.

    Each file served but the preview is an entry in the access log (the original, or the
    cleaned copy); the preview shows on the case page, whose opening by staff is logged.
    """
    evidence = get_object_or_404(Evidence.objects.select_related("complaint"), public_id=public_id)
    complaint = evidence.complaint
    if not (is_owner(request, complaint) or is_staff(request)) or not evidence.original_key:
        raise Http404  # not theirs to see, or erased with the complaint's personal data
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
        kind = AccessKind.COPY
        response = _stored_response(
            evidence.derivative_key,
            filename=f"{stem}-cleaned.{ext}",
            content_type=evidence.derivative_content_type,
        )
    elif variant in ("original", "view") and may_take_original(
        request, complaint, is_image=evidence.is_image
    ):
        kind = AccessKind.ORIGINAL
        response = _stored_response(
            evidence.original_key, filename=evidence.original_name, content_type=evidence.content_type
        )
    else:
        raise Http404
    record_access(
        reader=reader(request), kind=kind, complaint=complaint, evidence=evidence, at=timezone.now()
    )
    return response


@require_GET
def dossier(request: HttpRequest, reference: str) -> HttpResponse:
    """The complaint as a ZIP for a regulator: its complainant and managers only."""
    complaint = visible_complaint(request, reference)
    if not may_take_dossier(request, complaint) or complaint.processing_restricted_at is not None:
        raise Http404  # not theirs to take, or its processing is restricted until lifted
    archive = services.write_dossier(complaint=complaint, language=get_language())
    record_access(reader=reader(request), kind=AccessKind.DOSSIER, complaint=complaint, at=timezone.now())
    response = FileResponse(
        archive,
        as_attachment=True,
        filename=f"{complaint.reference}-dossier.zip",
        content_type="application/zip",
    )
    response["Cache-Control"] = "private, no-store"
    return response
