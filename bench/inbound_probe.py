"""The inbound benchmark's work inside Django, each step in a process of its own; prints its
figures as JSON (used by bench.inbound). INBOUND_IMAP_HOST, _PORT, _USER, _PASSWORD and
INBOUND_IMAP_SSL=false name the IMAP server (a Dovecot started by bench.inbound).

python -m bench.inbound_probe messages FOLDER N M   replies to the first N complaints in FOLDER/run,
                                                    to the next M in FOLDER/latency (.eml files)
python -m bench.inbound_probe floor FROM TO [each]  fetch every message of FROM and move it to TO,
                                                    with imapclient alone, in the door's batches
                                                    (with `each`, one message per command)
python -m bench.inbound_probe reading FOLDER       the replies of FOLDER/run read by the standard library
                                                    alone: parsed, every part decoded, hashed
python -m bench.inbound_probe door N                one run of the inbound poll as beat makes it,
                                                    then check that the N replies landed
python -m bench.inbound_probe latency FOLDER        deliver FOLDER/latency/*.eml one by one at
                                                    random gaps; the time until each is on its
                                                    case's timeline (a worker and beat poll)
"""

from __future__ import annotations

import cProfile
import hashlib
import io
import json
import os
import random
import sys
import time
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.utils import timezone  # noqa: E402
from imapclient import IMAPClient  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from complaints.mailbox import imap_settings  # noqa: E402
from complaints.models import Complaint, ComplaintEvent, EventKind, InboundMessage, InboundStatus  # noqa: E402
from complaints.replies import issue_reply_tokens, reply_address  # noqa: E402
from complaints.tasks import poll_inbound_mail  # noqa: E402
from evidence.models import Evidence  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"

NEW_TEXT = (
    "Chào anh/chị,\n\n"
    "Tôi gửi kèm ảnh chụp màn hình lỗi khi đăng nhập và biên nhận của cửa hàng. "
    "Mã giao dịch của tôi là GD-{number:06d}, thực hiện lúc 9 giờ 30 sáng ngày 10 tháng 1.\n"
    "Sau khi nhập mật khẩu, ứng dụng báo “Tài khoản tạm khoá” và không gửi mã OTP.\n\n"
    "Trân trọng,\n{name}\n"
)
# Two clients' ways of quoting the notice answered: Gmail's in Vietnamese, Outlook's in Vietnamese.
GMAIL_QUOTE = (
    "\nVào Th 2, 12 thg 1, 2026 lúc 08:15 Cổng khiếu nại <{address}> đã viết:\n"
    "> Kính gửi {name},\n>\n"
    "> Chúng tôi cần thêm thông tin để xử lý khiếu nại {reference} của bạn:\n"
    "> ảnh chụp màn hình thông báo lỗi và biên nhận giao dịch.\n>\n"
    "> Vui lòng trả lời e-mail này, kèm theo các tệp nếu có.\n>\n"
    "> Trân trọng,\n> Bộ phận tiếp nhận khiếu nại\n"
)
OUTLOOK_QUOTE = (
    "\n________________________________\n"
    "Từ: Cổng khiếu nại <{address}>\n"
    "Đã gửi: Thứ Hai, ngày 12 tháng 1 năm 2026 08:15\n"
    "Đến: {name} <{sender}>\n"
    "Chủ đề: Cập nhật về khiếu nại {reference}\n\n"
    "Kính gửi {name},\n\n"
    "Chúng tôi cần thêm thông tin để xử lý khiếu nại {reference} của bạn: ảnh chụp màn hình "
    "thông báo lỗi và biên nhận giao dịch.\n\n"
    "Trân trọng,\nBộ phận tiếp nhận khiếu nại\n"
)


def screenshot(number: int) -> bytes:
    """A small phone screenshot: a title bar, an error box and a few lines of 'text'."""
    image = Image.new("RGB", (360, 640), (245, 245, 245))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 360, 56), fill=(170, 20, 90))
    draw.text((16, 20), "MoMoney", fill="white")
    draw.rectangle((24, 220, 336, 380), fill="white", outline=(200, 0, 0), width=3)
    draw.text((40, 250), f"Account locked (code {number % 97})", fill=(200, 0, 0))
    draw.text((40, 290), "Please contact support.", fill=(60, 60, 60))
    for line in range(8):
        draw.rectangle(
            (24, 420 + line * 24, 336 - (line * 37 + number) % 120, 432 + line * 24), fill=(210, 210, 210)
        )
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def receipt(number: int) -> bytes:
    """A short one-page PDF: a shop's receipt."""
    stream = b"BT /F1 14 Tf 72 720 Td (Bien nhan GD-%06d - 250.000 VND) Tj ET" % number
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for index, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % index + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def reply(*, complaint: Complaint, token: str, number: int) -> bytes:
    """The complainant's reply to a notice, as a mail client writes it: the new text and the
    quoted notice (plain and HTML), a screenshot and a receipt attached."""
    name = f"Nguyễn Văn {number}"
    fields = {
        "address": settings.INBOUND_EMAIL_ADDRESS,
        "name": name,
        "sender": complaint.contact_email,
        "reference": complaint.reference,
    }
    quote = (GMAIL_QUOTE if number % 2 else OUTLOOK_QUOTE).format(**fields)
    text = NEW_TEXT.format(number=number, name=name) + quote
    message = EmailMessage()
    message["From"] = f"{name} <{complaint.contact_email}>"
    message["To"] = reply_address(token)
    message["Subject"] = f"Re: [{complaint.reference}] Cập nhật về khiếu nại của bạn"
    message["Message-ID"] = make_msgid(domain="mail.example.org")
    message["Date"] = format_datetime(timezone.now())
    message.set_content(text)
    paragraphs = "".join(f"<p>{line}</p>" for line in text.splitlines() if line)
    message.add_alternative(f"<html><body>{paragraphs}</body></html>", subtype="html")
    message.add_attachment(screenshot(number), maintype="image", subtype="png", filename="man-hinh-loi.png")
    message.add_attachment(receipt(number), maintype="application", subtype="pdf", filename="bien-nhan.pdf")
    return message.as_bytes()


def messages(folder: Path, run: int, latency: int) -> None:
    """A reply token for each complaint's contact address, and its reply written as an .eml."""
    complaints = list(Complaint.objects.order_by("pk")[: run + latency])
    tokens = issue_reply_tokens(pairs=[(c.pk, None, c.contact_email) for c in complaints], now=timezone.now())
    sizes = []
    for index, (complaint, token) in enumerate(zip(complaints, tokens, strict=True)):
        target = folder / ("run" if index < run else "latency")
        target.mkdir(parents=True, exist_ok=True)
        raw = reply(complaint=complaint, token=token, number=index + 1)
        (target / f"{index:04d}-{complaint.pk}.eml").write_bytes(raw)
        sizes.append(len(raw))
    print(json.dumps({"written": len(sizes), "mean_bytes": sum(sizes) / len(sizes)}))


def connect() -> IMAPClient:
    mailbox = imap_settings()
    client = IMAPClient(mailbox.host, port=mailbox.port, ssl=mailbox.ssl, timeout=mailbox.timeout)
    client.login(mailbox.user, mailbox.password)
    return client


def floor(source: str, target: str, *, each: bool = False) -> None:
    """Every message of `source` fetched (BODY.PEEK[]) and moved to `target`, with imapclient
    alone on one connection: per batch of the door's size, one SEARCH, then one FETCH and one
    MOVE of the whole batch, or with `each` one FETCH and one MOVE per message (the commands
    the door sends). Nothing is parsed or stored."""
    batch = imap_settings().batch
    fetched = size = 0
    started = time.perf_counter()
    client = connect()
    if not client.folder_exists(target):
        client.create_folder(target)
    client.select_folder(source)
    while uids := sorted(client.search(["NOT", "DELETED"]))[:batch]:
        for group in [[uid] for uid in uids] if each else [uids]:
            bodies = client.fetch(group, ["BODY.PEEK[]"])
            size += sum(len(bodies[uid][b"BODY[]"]) for uid in group)
            client.move(group, target)
            fetched += len(group)
    client.logout()
    seconds = time.perf_counter() - started
    print(json.dumps({"fetched": fetched, "bytes": size, "seconds": seconds}))


def reading(folder: Path) -> None:
    """What any pipeline that takes these messages in must at least do, with nothing of the
    portal's: each message's bytes hashed, parsed by the standard library (policy.default,
    which decodes RFC 2047 headers) and every leaf part's payload decoded and hashed. The
    files are read before the clock starts."""
    raws = [file.read_bytes() for file in sorted((folder / "run").glob("*.eml"))]
    parser = BytesParser(policy=policy.default)
    started = time.perf_counter()
    for raw in raws:
        hashlib.sha256(raw).digest()
        message = parser.parsebytes(raw)
        for name in ("From", "To", "Subject", "Message-ID", "Date"):
            str(message.get(name, ""))
        for part in message.walk():
            if not part.is_multipart():
                hashlib.sha256(part.get_payload(decode=True) or b"").digest()
    seconds = time.perf_counter() - started
    print(json.dumps({"read": len(raws), "seconds": seconds}))


def door(expected: int) -> None:
    """One run of the beat task's body (every configured door drained, each message through
    the pipeline), timed; then what landed. BENCH_INBOUND_PROFILE=1 profiles the run into
    bench/results/inbound-door.prof."""
    profile = cProfile.Profile() if os.environ.get("BENCH_INBOUND_PROFILE") else None
    started = time.perf_counter()
    if profile is not None:
        profile.enable()
    result = poll_inbound_mail()
    if profile is not None:
        profile.disable()
    seconds = time.perf_counter() - started
    if profile is not None:
        RESULTS.mkdir(parents=True, exist_ok=True)
        profile.dump_stats(RESULTS / "inbound-door.prof")
    events = ComplaintEvent.objects.filter(kind=EventKind.REPLY, payload__via="email")
    with_both_files = sum(
        1
        for payload in events.values_list("payload", flat=True)
        if len(payload.get("evidence", [])) == 2 and not payload.get("refused")
    )
    print(
        json.dumps(
            {
                **result,
                "seconds": seconds,
                "landed": InboundMessage.objects.filter(status=InboundStatus.LANDED).count(),
                "statuses": dict(InboundMessage.objects.values_list("status").annotate(n=Count("pk"))),
                "reply_events": events.count(),
                "with_both_files": with_both_files,
                "evidence": Evidence.objects.count(),
                "expected": expected,
            }
        )
    )


def latency(folder: Path) -> None:
    """Each reply of folder/latency appended to the INBOX after a random gap (0 to 3 s, so the
    40 of them take about a minute), while the database is read every 0.2 s: the seconds from
    the end of each APPEND to the first read that finds the reply on its case's timeline."""
    files = sorted((folder / "latency").glob("*.eml"))
    complaint_of = {file: int(file.stem.split("-")[1]) for file in files}
    # Unseeded: each run meets beat's 10 s cycle at other moments (a fixed seed gave three runs
    # the same phases, so the same figures to the millisecond).
    gaps = [random.uniform(0, 3) for _ in files]  # noqa: S311 - not cryptography
    client = connect()
    delivered: dict[int, float] = {}
    seen: dict[int, float] = {}
    pending = list(files)
    next_at = time.monotonic() + gaps[0]
    deadline = None
    while len(seen) < len(files):
        now = time.monotonic()
        if pending and now >= next_at:
            file = pending.pop(0)
            client.append("INBOX", file.read_bytes())
            delivered[complaint_of[file]] = time.monotonic()
            if pending:
                next_at = time.monotonic() + gaps[len(files) - len(pending)]
            else:
                deadline = time.monotonic() + 120
        waiting = [pk for pk in delivered if pk not in seen]
        if waiting:
            found = ComplaintEvent.objects.filter(complaint_id__in=waiting, kind=EventKind.REPLY)
            stamp = time.monotonic()
            for pk in found.values_list("complaint_id", flat=True):
                seen.setdefault(pk, stamp)
        if deadline is not None and time.monotonic() > deadline:
            break
        time.sleep(0.2)
    client.logout()
    print(
        json.dumps(
            {
                "delivered": len(delivered),
                "seen": len(seen),
                "seconds": [seen[pk] - delivered[pk] for pk in delivered if pk in seen],
                "spread_s": max(delivered.values()) - min(delivered.values()),
                "poll_interval_s": settings.INBOUND_POLL_INTERVAL,
            }
        )
    )


if __name__ == "__main__":
    step, *arguments = sys.argv[1:]
    if step == "messages":
        messages(Path(arguments[0]), int(arguments[1]), int(arguments[2]))
    elif step == "floor":
        floor(arguments[0], arguments[1], each=arguments[2:] == ["each"])
    elif step == "reading":
        reading(Path(arguments[0]))
    elif step == "door":
        door(int(arguments[0]))
    elif step == "latency":
        latency(Path(arguments[0]))
    else:
        raise SystemExit(f"unknown step {step!r}: messages, floor, door or latency")
