"""Files for the upload catalogue, made here (no binary fixtures), and an upload helper."""

from __future__ import annotations

import io
import re
import struct
import wave

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from evidence.uploadhandler import EvidenceUploadHandler, SealedUpload


def png(width: int = 40, height: int = 30, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def jpeg_with_gps_and_rotation() -> bytes:
    """A 60x20 JPEG that says "rotate 90°" (orientation 6) and carries GPS coordinates."""
    image = Image.new("RGB", (60, 20), (10, 120, 200))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (10.0, 46.0, 30.0)  # latitude
    gps[3], gps[4] = "E", (106.0, 40.0, 10.0)  # longitude
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def pdf() -> bytes:
    return b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def mp4() -> bytes:
    ftyp = struct.pack(">I", 24) + b"ftypisom" + struct.pack(">I", 512) + b"isommp41"
    return ftyp + struct.pack(">I", 8) + b"free" + b"\x00" * 64


def wav() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * 800)
    return out.getvalue()


def eml() -> bytes:
    return (
        b"Return-Path: <support@shop.example>\nReceived: from mx.shop.example\n"
        b"From: Support <support@shop.example>\nTo: lan@example.org\nSubject: Re: Ticket 991\n"
        b"Date: Mon, 12 Jan 2026 10:00:00 +0700\nMessage-ID: <991@shop.example>\n"
        b"MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\nWe will reply within 48 hours.\n"
    )


def text(size: int = 100) -> bytes:
    line = b"Cuoc goi luc 10:05, nhan vien hua goi lai trong 24 gio.\n"
    return (line * (size // len(line) + 1))[:size]


def html() -> bytes:
    return b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>\n"


def svg() -> bytes:
    return (
        b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        b"<script>alert(1)</script></svg>\n"
    )


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def fill_intake(page) -> None:
    """Fill the filing form's required answers in Playwright (the consent box left to the test)."""
    from complaints.models import Subcategory

    page.select_option("#id_subcategory", str(Subcategory.objects.get(slug="app").pk))
    page.fill("#id_provider_name", "MoMoney")
    page.fill("#id_subject", "App crashes on payment")
    page.fill("#id_description", "It closes when I press Pay.")
    page.fill("#id_desired_outcome", "A working app.")
    page.fill("#id_occurred_at", "2026-01-10T09:30")
    page.fill("#id_contact_name", "Lan")
    page.fill("#id_contact_email", "lan@example.org")


def sealed(name: str, content: bytes) -> SealedUpload:
    """A file as the streaming upload handler hands it to the evidence service."""
    handler = EvidenceUploadHandler(None)
    handler.new_file("evidence-0-file", name, "application/octet-stream", None)
    handler.receive_data_chunk(content, 0)
    return handler.file_complete(len(content))


def evidence_post(files: list[tuple[str, bytes]], captions: list[str] | None = None) -> dict:
    """A case-page upload as the browser sends it: one row per file."""
    data: dict = {
        "evidence-TOTAL_FORMS": str(len(files)),
        "evidence-INITIAL_FORMS": "0",
        "evidence-MIN_NUM_FORMS": "0",
        "evidence-MAX_NUM_FORMS": "20",
    }
    for index, (name, content) in enumerate(files):
        data[f"evidence-{index}-file"] = upload(name, content)
        data[f"evidence-{index}-caption"] = (captions or [""] * len(files))[index]
    return data


@pytest.fixture
def small_limits(settings):
    settings.EVIDENCE_MAX_BYTES = 64 * 1024
    settings.EVIDENCE_MAX_VIDEO_BYTES = 128 * 1024
    settings.EVIDENCE_MAX_FILES = 3
    settings.EVIDENCE_MAX_TOTAL_BYTES = 200 * 1024
    return settings


def windows_program() -> bytes:
    """A minimal Windows executable (MZ header, PE signature, optional header): what libmagic
    calls application/vnd.microsoft.portable-executable (or application/x-dosexec)."""
    dos = bytearray(b"MZ" + b"\x90\x00" * 29)
    dos += b"\x00" * (0x3C - len(dos)) + struct.pack("<I", 0x80)
    dos += b"\x00" * (0x80 - len(dos))
    coff = b"PE\x00\x00" + struct.pack("<HHIIIHH", 0x8664, 1, 0, 0, 0, 0xF0, 0x22)
    optional = struct.pack("<H", 0x20B) + b"\x00" * (0xF0 - 2)
    return bytes(dos) + coff + optional + b"\x00" * 512


# What a complainant must never be shown: a MIME type, in any wording.
MIME_TYPE = re.compile(
    r"\b(?:application|image|text|video|audio|message)/[a-z0-9][a-z0-9.+-]*", re.IGNORECASE
)


def visible_mime_types(body: str) -> list[str]:
    """MIME types in a page's text and attribute values a person reads (not in <script>/<link>
    tags' own type attributes, which no page of the portal carries anyway)."""
    return MIME_TYPE.findall(body)
