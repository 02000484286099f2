"""Evidence rows (a file and its caption), at intake and on the case page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from complaints.forms import CleanTextMixin
from evidence.services import AttachResult, display_name
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


class BaseEvidenceFormSet(forms.BaseFormSet):
    """Evidence rows. Files the upload handler refused never reach these forms; the view
    reports them (`refusal_messages`) without rejecting anything else that was sent."""

    @property
    def uploads(self) -> list[tuple[SealedUpload, str]]:
        """The (upload, caption) pairs of the rows that carry a file."""
        return [
            (form.cleaned_data["file"], form.cleaned_data.get("caption", ""))
            for form in self.forms
            if form.cleaned_data.get("file") is not None
        ]


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
