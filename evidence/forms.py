"""Evidence rows (a file and its caption), at intake and on the case page."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db import DatabaseError
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from common.forms import CleanTextMixin
from complaints.access import staging_owner
from complaints.refusals import EvidenceRejected
from evidence.models import StagedUpload
from evidence.services import (
    GONE_UNNAMED,
    AttachResult,
    EvidenceStorageError,
    discard_staged,
    display_name,
    stage_upload,
    staged_uploads,
)
from evidence.uploadhandler import Rejection, SealedUpload

ACCEPT_ATTRIBUTE = ".jpg,.jpeg,.png,.webp,.gif,.heic,.heif,.mp4,.m4v,.webm,.mov,.mp3,.m4a,.wav,.pdf,.txt,.eml"


class EvidenceForm(CleanTextMixin, forms.Form):
    file = forms.FileField(
        label=_("File"),
        required=False,
        allow_empty_file=True,  # attach_evidence says "is empty", naming the file
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT_ATTRIBUTE}),
    )
    caption = forms.CharField(
        label=_("What does it show?"),
        max_length=300,
        required=False,
        help_text=_("E.g. “error after entering the OTP”, “bank statement with the double charge”."),
    )
    # A file checked when it was chosen and kept in the visitor's staging area: its id.
    staged = forms.UUIDField(required=False, widget=forms.HiddenInput)
    remove = forms.BooleanField(label=_("Remove this file"), required=False)

    # The staged file this row shows (set by `keep_chosen_files`), if any.
    staged_upload: StagedUpload | None = None


class BaseEvidenceFormSet(forms.BaseFormSet):
    """Evidence rows: each carries a file sent with the form, or the id of a file staged
    when it was chosen, and a caption. Files the upload handler refused never reach these
    forms; `add_rejections` puts them beside their rows."""

    @property
    def items(self) -> list[tuple[int, SealedUpload | uuid.UUID, str]]:
        """(row, file or staged id, caption) of the rows that carry one and are not removed."""
        rows = []
        for index, form in enumerate(self.forms):
            data = getattr(form, "cleaned_data", None) or {}
            item = data.get("file") or data.get("staged")
            if item is not None and not data.get("remove"):
                rows.append((index, item, data.get("caption", "")))
        return rows

    @property
    def removed(self) -> list[uuid.UUID]:
        """The staged files whose rows were ticked "remove"."""
        return [
            form.cleaned_data["staged"]
            for form in self.forms
            if getattr(form, "cleaned_data", None)
            and form.cleaned_data.get("remove")
            and form.cleaned_data.get("staged")
        ]

    def refuse(self, index: int, message: str) -> None:
        """Show a refusal beside the file of row `index`."""
        form = self.forms[index]
        form.add_error("file", message)
        form.cleaned_data.pop("staged", None)

    def add_rejections(self, request: Any) -> bool:
        """Put the files the upload handler refused in this request beside their rows;
        whether there were any."""
        rejections = getattr(request, "evidence_rejections", [])
        by_field = {form.add_prefix("file"): index for index, form in enumerate(self.forms)}
        for rejection in rejections:
            index = by_field.get(rejection.field_name)
            if index is None:
                self.non_form_errors().append(rejection_message(rejection))
            else:
                self.forms[index].add_error("file", rejection_message(rejection))
        return bool(rejections)


def refusal_messages(request: Any) -> list[str]:
    """Messages for the files the upload handler refused in this request."""
    return [rejection_message(r) for r in getattr(request, "evidence_rejections", [])]


def rejection_message(rejection: Rejection) -> str:
    if rejection.code == "too_many":
        return ngettext(
            "“%(name)s” was not sent: at most %(count)s file can be sent at once.",
            "“%(name)s” was not sent: at most %(count)s files can be sent at once.",
            rejection.limit,
        ) % {"name": display_name(rejection.file_name), "count": rejection.limit}
    return _("“%(name)s” is larger than %(limit)s.") % {
        "name": display_name(rejection.file_name),
        "limit": filesizeformat(rejection.limit),
    }


EvidenceFormSet = forms.formset_factory(
    EvidenceForm,
    formset=BaseEvidenceFormSet,
    extra=3,
    max_num=settings.EVIDENCE_MAX_FILES,
    absolute_max=settings.EVIDENCE_MAX_FILES,
    validate_max=True,
)


def report_upload_outcome(request: Any, result: AttachResult) -> None:
    """Tell the user, file by file, what was added and what was refused and why."""
    for message in refusal_messages(request):
        messages.error(request, message)
    for refusal in result.refused:
        messages.error(request, refusal.message)
    if result.attached:
        count = len(result.attached)
        messages.success(
            request,
            ngettext("%(count)s file was added.", "%(count)s files were added.", count) % {"count": count},
        )


def keep_chosen_files(request: Any, formset: BaseEvidenceFormSet, *, stage_sent: bool = True) -> bool:
    """Before a form is shown again: stage the files sent with it that were not refused
    (checked as if chosen one by one; a refusal goes beside its row), drop the rows ticked
    "remove", and give each row the staged file it now shows, so nothing accepted has to be
    chosen again. Returns whether a file could not be kept (storage or database down, or
    `stage_sent` false: after such a failure nothing more is stored)."""
    owner = staging_owner(request)
    for public_id in formset.removed:
        discard_staged(owner=owner, public_id=public_id)
    items = [(index, item) for index, item, _caption in formset.items if not formset.forms[index].errors]
    known = staged_uploads(owner=owner, ids=[item for _index, item in items if isinstance(item, uuid.UUID)])
    lost = False
    for index, item in items:
        form = formset.forms[index]
        if isinstance(item, uuid.UUID):
            form.staged_upload = known.get(item)
            if form.staged_upload is None:
                formset.refuse(index, str(GONE_UNNAMED))
            continue
        if not stage_sent:
            lost = True
            continue
        try:
            form.staged_upload = stage_upload(
                owner=staging_owner(request, create=True), upload=item, now=timezone.now()
            )
        except EvidenceRejected as exc:
            formset.refuse(index, " ".join(exc.messages))
        except (EvidenceStorageError, DatabaseError):
            lost = True
    return lost
