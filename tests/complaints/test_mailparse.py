"""complaints.mailparse: what a raw inbound message parses to.

The corpus under tests/mail_corpus/ is hand-written in the shape of what Gmail, Outlook,
Apple Mail, webmail and mail servers send (CRLF line ends, as on the wire); each file has
a test of its new text, of what must not survive (the quoted history, the signature) and
of its detection fields. The rest builds small messages inline. No database.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from complaints import mailparse
from complaints.mailparse import (
    Attachment,
    Bounce,
    Limits,
    MalformedMail,
    TooDeep,
    TooLarge,
    TooManyAttachments,
    new_text,
    normalise_address,
    parse,
    reason_for,
    reference_in_subject,
)

CORPUS = Path(__file__).resolve().parent.parent / "mail_corpus"


def load(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def message(
    body: str = "Xin chào.\n", *, headers: dict[str, str] | None = None, raw_body: bytes = b""
) -> bytes:
    """A small text/plain message; `headers` replace or add to the defaults."""
    fields = {
        "From": "Lan <lan@example.org>",
        "To": "phanhoi+abc@portal.example",
        "Subject": "Re: [KN-7F3K-Q9XM] Yêu cầu",
        "Date": "Tue, 1 Dec 2026 10:00:00 +0700",
        "Message-ID": "<m1@example.org>",
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=utf-8",
        "Content-Transfer-Encoding": "8bit",
    }
    fields.update(headers or {})
    head = "".join(f"{name}: {value}\r\n" for name, value in fields.items() if value is not None)
    return head.encode() + b"\r\n" + (raw_body or body.replace("\n", "\r\n").encode())


def nested(depth: int) -> bytes:
    """A message whose text sits `depth` multiparts below the root."""
    part = b"Content-Type: text/plain\r\n\r\nhello\r\n"
    for level in range(depth):
        boundary = b"b%d" % level
        part = (
            b'Content-Type: multipart/mixed; boundary="' + boundary + b'"\r\n\r\n'
            b"--" + boundary + b"\r\n" + part + b"\r\n--" + boundary + b"--\r\n"
        )
    return b"From: lan@example.org\r\nSubject: deep\r\nMIME-Version: 1.0\r\n" + part


def with_attachments(count: int) -> bytes:
    parts = b"".join(
        b"--mix\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; "
        b'filename="f%d.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0x\r\n' % index
        for index in range(count)
    )
    return (
        b"From: lan@example.org\r\nSubject: files\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="mix"'
        b"\r\n\r\n--mix\r\nContent-Type: text/plain\r\n\r\nfiles\r\n" + parts + b"--mix--\r\n"
    )


# Tags and entities that must never survive into text.
MARKUP = re.compile(
    r"</?(?:html|head|body|div|p|br|b|a|span|img|ul|li|blockquote|style|script)\b|&[a-z]+;|&#"
)


# --- the corpus ---------------------------------------------------------------------------


def test_the_corpus_keeps_crlf_line_ends_as_on_the_wire():
    for path in CORPUS.glob("*.eml"):
        if path.name == "malformed.eml":
            continue
        raw = path.read_bytes()
        assert b"\r\n" in raw, path.name
        assert raw.count(b"\n") == raw.count(b"\r\n"), path.name


def test_gmail_reply_in_vietnamese_keeps_the_new_text_and_cuts_the_quote_and_signature():
    mail = parse(load("gmail_reply_vi.eml"))

    assert mail.text == (
        "Dạ em chào anh/chị,\n\n"
        "Em gửi bổ sung thông tin như anh/chị yêu cầu:\n"
        "- Mã đơn hàng: DH-2026-118834\n"
        "- Ngày thanh toán: 28/11/2026, qua thẻ ATM\n\n"
        'Tiền đã bị trừ nhưng đơn vẫn báo "chưa thanh toán".'
    )
    for gone in ("đã viết", "Kính gửi anh/chị", "0912 345 678", "Nguyễn Văn An"):
        assert gone not in mail.text
    assert "Kính gửi anh/chị" in mail.full_text and "0912 345 678" in mail.full_text
    assert mail.from_address == "an.nguyen@example.com"
    assert mail.from_name == "Nguyễn Văn An"
    assert mail.subject == "Re: [KN-7F3K-Q9XM] Yêu cầu bổ sung thông tin"
    assert mail.recipients == ("phanhoi+q7rkt2vx9mlpw4sz@portal.example",)
    assert mail.message_id == "CAHk7x=3pQ9vZ-Lm2RtW8sYb4Nd0cE6fG1hJ5kU@mail.example.com"
    assert mail.in_reply_to == mail.references == ("notice.1842.4f3a9c@portal.example",)
    assert mail.date == datetime(2026, 12, 1, 3, 42, 3, tzinfo=UTC)
    assert (mail.auto_reply, mail.bounce, mail.auth_failure, mail.attachments) == ("", None, "", ())


def test_gmail_reply_in_english_keeps_a_sentence_that_starts_with_thanks_and_cuts_the_sign_off():
    mail = parse(load("gmail_reply_en.eml"))

    assert mail.text == (
        "Hello,\n\n"
        "The order number is 7731-2290 and I paid on 28 November.\n"
        "Thanks, but please note the charge appears twice on my card statement:\n"
        "- 28/11 VND 1,250,000\n"
        "- 28/11 VND 1,250,000"
    )
    for gone in ("Best regards", "John Carter", "wrote:", "Dear customer"):
        assert gone not in mail.text
    assert mail.from_address == "john.carter@example.com"
    assert mail.date == datetime(2026, 12, 1, 2, 15, 31, tzinfo=UTC)


def test_outlook_reply_in_vietnamese_cuts_the_tu_da_gui_den_chu_de_block_and_the_signature():
    mail = parse(load("outlook_reply_vi.eml"))

    assert mail.text == (
        "Chào anh/chị,\n\n"
        "Tôi đã thử đăng nhập lại theo hướng dẫn nhưng ứng dụng vẫn báo “Tài khoản bị khóa”.\n"
        "Ảnh chụp màn hình tôi sẽ gửi sau."
    )
    for gone in ("Trân trọng", "Minh Phát", "Từ:", "Đã gửi:", "Chủ đề:", "Kính gửi chị Bình", "____"):
        assert gone not in mail.text
    assert mail.from_address == "binh.tran@example.net"
    assert mail.subject == "TL: [KN-4MZT-8HQP] Yêu cầu bổ sung thông tin"


def test_outlook_reply_in_english_cuts_the_original_message():
    mail = parse(load("outlook_reply_en.eml"))

    assert mail.text == (
        "Hi,\n\n"
        "I tried resetting my password twice today. "
        "The reset e-mail never arrives, not even in the spam folder.\n"
        "My username is mchen_88."
    )
    for gone in ("Regards", "Michael Chen", "Original Message", "Dear Mr Chen"):
        assert gone not in mail.text


@pytest.mark.parametrize(
    "name", ["gmail_reply_vi.eml", "gmail_reply_en.eml", "outlook_reply_vi.eml", "outlook_reply_en.eml"]
)
def test_the_html_alternative_alone_gives_the_same_new_text_as_the_plain_one(name):
    raw = load(name)
    html_only = BytesParser(policy=policy.default).parsebytes(raw)
    alternative = next(
        part for part in html_only.walk() if part.get_content_type() == "multipart/alternative"
    )
    alternative.set_payload(
        [part for part in alternative.get_payload() if part.get_content_type() == "text/html"]
    )

    from_html = parse(html_only.as_bytes())

    assert not MARKUP.search(from_html.full_text)
    assert from_html.text == parse(raw).text


def test_apple_mail_reply_in_vietnamese_joins_flowed_lines_and_cuts_the_quoted_attribution():
    mail = parse(load("apple_reply_vi.eml"))

    assert mail.text == (
        "Em đã làm theo hướng dẫn: gỡ ứng dụng, cài lại bản mới nhất rồi đăng nhập, "
        "nhưng vẫn bị báo “Phiên đăng nhập đã hết hạn”."
    )
    assert "Gửi từ iPhone của tôi" not in mail.text
    # The quoted attribution was soft-wrapped too: joined, it reads as one line.
    assert (
        "> Vào ngày 30 thg 11, 2026, lúc 16:05, Cổng khiếu nại "
        "<phanhoi+Ys4tH8mC1vQ6rN2w@portal.example> đã viết:" in mail.full_text
    )
    assert mail.from_name == "Lê Văn Dũng"


def test_html_only_reply_becomes_plain_text_without_markup_scripts_styles_or_history():
    mail = parse(load("html_only_reply.eml"))

    assert mail.text == (
        "Hello,\n\n"
        "the parcel arrived on 29 November, but the box was empty & the seal was broken "
        "(see the courier's note <attached to the box>).\n"
        "I would like a refund, not a replacement.\n\n"
        "Zoë Müller\n"
        "Café Zoë, Hanoi"
    )
    for gone in ("document.location", "font-family", "Dear customer", "wrote:", "[KN-6HNR-2QXS]", "onerror"):
        assert gone not in mail.text
    assert "Dear customer, please tell us" in mail.full_text
    assert not MARKUP.search(mail.full_text)
    assert mail.from_name == "Zoë Müller"


def test_windows_1258_reply_is_decoded_and_its_combining_tone_marks_composed():
    raw = load("windows1258_reply.eml")
    assert b"\xf0a\xde" in raw  # "đã" as windows-1258 writes it: đ, a, a combining tilde

    mail = parse(raw)

    assert mail.text == (
        "Chào Cổng khiếu nại,\n\n"
        "Tôi xác nhận đã nhận được tiền hoàn lại vào sáng nay, đủ 2.450.000 đồng.\n"
        "Cảm ơn các anh chị đã hỗ trợ nhiệt tình.\n\n"
        "Phạm Quốc Hưng"
    )
    assert "đã viết" not in mail.text and "Khoản hoàn tiền" not in mail.text
    assert mail.subject == "Re: [KN-8CFM-4JTB] Xác nhận hoàn tiền"
    assert mail.from_name == "Phạm Quốc Hưng"
    for text in (mail.text, mail.full_text, mail.subject, mail.from_name):
        assert unicodedata.is_normalized("NFC", text)


@pytest.mark.parametrize(
    ("name", "note", "marker"),
    [
        (
            "forwarded_vi.eml",
            "Em chuyển tiếp thư trả lời của cửa hàng để anh/chị xem ạ.",
            "Thư đã chuyển tiếp",
        ),
        ("forwarded_en.eml", "Here is the shop's answer, forwarded.", "Forwarded message"),
    ],
)
def test_a_forwarded_message_keeps_the_note_as_new_text_and_the_forward_in_the_full_text(name, note, marker):
    mail = parse(load(name))

    assert mail.text == note
    assert marker not in mail.text and "không đủ điều kiện hoàn tiền" not in mail.text
    assert marker in mail.full_text and "không đủ điều kiện hoàn tiền" in mail.full_text


def test_an_inline_image_and_a_pdf_become_attachments_with_decoded_names():
    mail = parse(load("inline_image_and_pdf.eml"))

    image, pdf = mail.attachments
    assert (image.name, image.content_type, image.inline) == ("image-1.png", "image/png", True)
    assert image.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert (pdf.name, pdf.content_type, pdf.inline) == ("Hóa đơn tháng 11.pdf", "application/pdf", False)
    assert pdf.data.startswith(b"%PDF-1.4") and pdf.data.rstrip().endswith(b"%%EOF")
    assert mail.text == "Em gửi ảnh chụp màn hình lỗi và hóa đơn tháng 11 ạ.\n[image: image.png]"


def test_a_bounce_names_the_failed_recipient_and_the_message_it_returns():
    mail = parse(load("bounce.eml"))

    assert mail.bounce == Bounce(
        original_message_id="notice.1907.8c21de@portal.example",
        recipients=("khong.ton.tai@example.com",),
        status="5.1.1",
        diagnostic="550 5.1.1 <khong.ton.tai@example.com>: Recipient address rejected: "
        "User unknown in virtual mailbox table",
    )
    assert mail.auto_reply == ""  # a bounce has its own field, although it is Auto-Submitted
    assert mail.attachments == ()  # the returned notice is not evidence
    assert "Kính gửi anh/chị" not in mail.full_text


def test_a_bounce_with_returned_headers_only_counts_only_the_failed_recipients():
    mail = parse(load("bounce_headers_only.eml"))

    assert mail.bounce is not None
    assert mail.bounce.original_message_id == "notice.2044.5ab7c3@portal.example"
    assert mail.bounce.recipients == ("hop.thu.day@example.com",)  # lan.vo's delivery is only delayed
    assert mail.bounce.status == "5.2.2"
    assert mail.bounce.diagnostic.startswith("552-5.2.2 The recipient's inbox is out of storage space.")


def test_a_delay_notice_is_a_report_but_not_a_bounce():
    raw = load("bounce_headers_only.eml").replace(b"Action: failed", b"Action: delayed")
    raw = raw.replace(b"Auto-Submitted: auto-replied\r\n", b"")

    mail = parse(raw)

    assert mail.bounce is None
    assert mail.auto_reply == "report:delivery-status"


@pytest.mark.parametrize(
    ("name", "reason"),
    [("out_of_office_vi.eml", "auto-submitted"), ("out_of_office_en.eml", "auto-submitted")],
)
def test_out_of_office_replies_are_marked_automatic(name, reason):
    mail = parse(load(name))

    assert mail.auto_reply == reason
    assert mail.bounce is None


def test_dmarc_fail_is_read_from_the_topmost_authentication_results_and_softfail_is_no_failure():
    mail = parse(load("dmarc_fail.eml"))

    # The lower "dmarc=pass" was written by the sender; the receiving server's says fail.
    assert mail.auth_failure == "dmarc=fail"
    assert mail.text == "Tôi rút lại khiếu nại này. Xin hãy đóng hồ sơ."


def test_split_encoded_words_in_three_charsets_base64_and_quoted_printable_are_decoded():
    mail = parse(load("encoded_words.eml"))

    assert mail.subject == "Re: [KN-7F3K-Q9XM] Hóa đơn và biên lai (reçu)"
    assert mail.from_name == "Nguyễn Văn An"
    assert mail.text == "Em gửi lại hóa đơn và biên lai (reçu) như đã hẹn.\nSố tiền: 1.250.000 ₫."
    assert mail.recipients == ("phanhoi+q7rkt2vx9mlpw4sz@portal.example", "binh.tran@example.net")
    assert mail.references == ("notice.1801.aa0b1c@portal.example", "notice.1842.4f3a9c@portal.example")
    assert [(a.name, a.content_type, a.inline) for a in mail.attachments] == [
        ("Biên lai.png", "image/png", False)
    ]


def test_a_message_without_headers_is_malformed_with_a_reason():
    with pytest.raises(MalformedMail) as refused:
        parse(load("malformed.eml"))

    assert refused.value.code == "no_headers"
    with translation.override("en"):
        assert str(refused.value.reason) == "The message has no headers, so it is not an e-mail."


# --- the new text ---------------------------------------------------------------------------

NEW = "Em đã gửi hóa đơn hôm qua."
QUOTED = "> Chúng tôi cần thêm thông tin.\n"


@pytest.mark.parametrize(
    "attribution",
    [
        "Vào Th 2, 1 thg 12, 2026 lúc 10:00 Nguyễn Văn A <a@example.org> đã viết:",
        "Vào Th 2, 1 thg 12, 2026 lúc 10:00 Nguyễn Văn A <\na@example.org> đã viết:",
        "Vào Th 2, 1 thg 12, 2026 vào lúc 10:00\nCổng khiếu nại <\nphanhoi@portal.example> đã viết:",
        "Vào lúc 10:00 ngày 01/12/2026, Nguyễn Văn A <a@example.org> đã viết:",
        "Vào ngày 1 thg 12, 2026, lúc 10:00, Nguyễn Văn A <a@example.org> đã viết:",
        "> Vào ngày 1 thg 12, 2026, lúc 10:00, Nguyễn Văn A <a@example.org> đã viết:",
        "On Tue, Dec 1, 2026 at 10:00 AM Portal <a@example.org> wrote:",
        "On Tue, Dec 1, 2026 at 10:00 AM Portal <\na@example.org> wrote:",
        "-----Original Message-----\nFrom: Portal\nSent: Tuesday\nTo: Lan\nSubject: x",
        "________________________________\nFrom: Portal\nSent: Tuesday\nTo: Lan\nSubject: x",
        "________________________________\nTừ: Cổng khiếu nại\nĐã gửi: Thứ Ba\nĐến: Lan\nChủ đề: x",
        "Từ: Cổng khiếu nại <a@example.org>\nGửi: Thứ Ba, 1/12/2026 10:00\nĐến: Lan\nCc: Bình\nChủ đề: x",
        "Từ: Cổng khiếu nại <a@example.org>\nNgày: Thứ Ba, 1 tháng 12, 2026 10:00\nTới: Lan\nChủ đề: x",
        "---------- Forwarded message ---------\nFrom: Shop\nDate: Tue\nSubject: x\nTo: Lan",
        "---------- Thư đã chuyển tiếp ----------\nTừ: Shop\nDate: Tue\nSubject: x\nTo: Lan",
        "Bắt đầu thư được chuyển tiếp:",
    ],
)
def test_reply_headers_in_vietnamese_and_english_end_the_new_text(attribution):
    text = f"{NEW}\n\n{attribution}\n\nNội dung cũ của thư trước.\n{QUOTED}"

    assert new_text(text) == NEW


@pytest.mark.parametrize(
    "signature",
    [
        "-- \nNguyễn Văn A\n0912 345 678",
        "--\nNguyễn Văn A",
        "Sent from my iPhone",
        "Gửi từ iPhone của tôi",
        "Được gửi từ Thư dành cho Windows",
        "Gửi từ điện thoại Samsung Galaxy",
        "Get Outlook for iOS",
        "Tải Outlook cho Android",
        "Trân trọng,\nNguyễn Văn A",
        "Trân trọng cảm ơn!\nLan",
        "Best regards,\nLan",
        "Thanks,\nLan",
    ],
)
def test_signatures_are_cut(signature):
    assert new_text(f"{NEW}\nVui lòng kiểm tra.\n\n{signature}\n") == f"{NEW}\nVui lòng kiểm tra."


@pytest.mark.parametrize(
    "kept",
    [
        "Gửi từ hôm qua mà chưa thấy trả lời.",
        # A complainant summing up an earlier contact: not Outlook's block, which opens with "Từ:".
        "Ngày: 28/11/2026\nGửi: bộ phận CSKH\nChủ đề: yêu cầu hoàn tiền\nĐến nay chưa có trả lời.",
        "- bước một: gỡ ứng dụng\n- bước hai: cài lại",
        "Thanks, but it still fails.",
        "Trân trọng cảm ơn anh chị đã giúp đỡ trong thời gian qua.",
        "Vào ngày 28/11 tôi đã thanh toán.\nTiền đã bị trừ.",
    ],
)
def test_a_complainants_own_lines_that_look_like_headers_or_signatures_are_kept(kept):
    text = f"{NEW}\n\n{kept}\n\nLan"

    assert new_text(text) == text


def test_quoted_lines_go_and_an_answer_written_between_them_stays():
    text = "> Mã đơn hàng?\nDH-118834\n> Ngày thanh toán?\n28/11/2026\n"

    assert new_text(text) == "DH-118834\n28/11/2026"


def test_html_blockquotes_are_quoted_history_even_without_an_attribution_line():
    raw = message(
        headers={"Content-Type": "text/html; charset=utf-8"},
        body="<div>Đã nhận được tiền.</div><blockquote><div>Chúng tôi đã hoàn tiền.</div></blockquote>",
    )

    mail = parse(raw)

    assert mail.text == "Đã nhận được tiền."
    assert mail.full_text == "Đã nhận được tiền.\n\nChúng tôi đã hoàn tiền."


def test_a_reply_that_only_quotes_has_no_new_text():
    assert new_text("Vào lúc 10:00 ngày 01/12/2026, Cổng khiếu nại đã viết:\n> Xin chào\n") == ""
    assert new_text("  \n") == ""


# --- decoding -----------------------------------------------------------------------------


def test_an_unknown_charset_falls_back_to_utf8():
    raw = message(headers={"Content-Type": "text/plain; charset=x-no-such-charset"}, body="Khiếu nại\n")

    assert parse(raw).text == "Khiếu nại"


def test_a_charset_that_lies_is_read_as_utf8_when_the_bytes_are_utf8():
    raw = message(headers={"Content-Type": "text/plain; charset=us-ascii"}, body="Hóa đơn\n")

    assert parse(raw).text == "Hóa đơn"


def test_bytes_that_no_charset_reads_become_replacement_characters():
    raw = message(headers={"Content-Type": "text/plain; charset=x-unknown"}, raw_body=b"ab\xff\xfecd\r\n")

    assert parse(raw).text == "ab\ufffd\ufffdcd"


def test_a_text_codec_that_is_not_a_charset_does_not_raise():
    for charset in ("base64", "zlib", "idna", "utf-7", "punycode"):
        raw = message(headers={"Content-Type": f"text/plain; charset={charset}"}, raw_body=b"+AGEA-\xff\r\n")
        parse(raw)


def test_nul_and_control_characters_never_reach_the_text():
    raw = message(raw_body=b"a\x00b\x1b[31mc\x7f\r\nd\r\n", headers={"Subject": "x\x00y"})

    mail = parse(raw)

    assert mail.text == "ab[31mc\nd"
    assert "\x00" not in mail.subject


def test_raw_utf8_headers_are_read():
    raw = message(headers={"Subject": "Khiếu nại", "From": "Nguyễn Văn A <a@example.org>"})

    mail = parse(raw)

    assert (mail.subject, mail.from_name) == ("Khiếu nại", "Nguyễn Văn A")


@pytest.mark.parametrize(
    ("disposition", "expected"),
    [
        ('attachment; filename="../../etc/passwd"', "passwd"),
        ('attachment; filename="C:\\\\Users\\\\lan\\\\hoa-don.pdf"', "hoa-don.pdf"),
        ('attachment; filename="invoice\u202efdp.exe"', "invoicefdp.exe"),
        ('attachment; filename="a<b>:c|d?.pdf"', "a_b__c_d_.pdf"),
        ('attachment; filename="..."', "attachment-1.pdf"),
        ("attachment", "attachment-1.pdf"),
        ("attachment; filename*=utf-8''%E1%BA%A2nh%20ch%E1%BB%A5p.pdf", "Ảnh chụp.pdf"),
    ],
)
def test_attachment_names_are_made_safe_and_never_empty(disposition, expected):
    raw = with_attachments(1).replace(b'attachment; filename="f0.pdf"', disposition.encode())

    (attachment,) = parse(raw).attachments

    assert attachment.name == expected
    assert attachment.data == b"%PDF-1"


def test_an_attached_message_is_one_attachment_named_after_its_subject():
    inner = b"From: shop@example.com\r\nSubject: Your refund\r\n\r\nWe refuse.\r\n"
    raw = (
        b"From: lan@example.org\r\nSubject: fw\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="m"\r\n\r\n'
        b"--m\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
        b"--m\r\nContent-Type: message/rfc822\r\n\r\n" + inner + b"--m--\r\n"
    )

    mail = parse(raw)

    assert [(a.name, a.content_type) for a in mail.attachments] == [("Your refund.eml", "message/rfc822")]
    assert b"We refuse." in mail.attachments[0].data
    assert mail.text == "See attached."


# --- detection ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Auto-Submitted": "auto-replied"}, "auto-submitted"),
        ({"Auto-Submitted": "auto-generated; owner-email=x@example.org"}, "auto-submitted"),
        ({"X-Autoreply": "yes"}, "x-autoreply"),
        ({"X-Autorespond": "Vacation"}, "x-autorespond"),
        ({"Precedence": "bulk"}, "precedence:bulk"),
        ({"Precedence": "Junk"}, "precedence:junk"),
        ({"Precedence": "list"}, "precedence:list"),
        ({"Precedence": "auto_reply"}, "precedence:auto_reply"),
        ({"X-Auto-Response-Suppress": "OOF, AutoReply"}, "x-auto-response-suppress"),
        ({"X-Auto-Response-Suppress": "All"}, "x-auto-response-suppress"),
        ({"From": "MAILER-DAEMON@mx.example.com"}, "mailer-daemon"),
        ({"Return-Path": "<>"}, "null-sender"),
    ],
)
def test_automatic_messages_are_recognised_by_their_headers(headers, reason):
    assert parse(message(headers=headers)).auto_reply == reason


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Auto-Submitted": "no"},
        {"Precedence": "first-class"},
        {"X-Auto-Response-Suppress": "DR, RN"},
        {"Return-Path": "<lan@example.org>"},
    ],
)
def test_a_person_writing_is_not_automatic(headers):
    assert parse(message(headers=headers)).auto_reply == ""


@pytest.mark.parametrize(
    ("subject", "reason"),
    [
        ("Out of Office: Re: [KN-7F3K-Q9XM] x", "out-of-office"),
        ("Automatic reply: [KN-7F3K-Q9XM] x", "out-of-office"),
        ("Auto-Reply: x", "out-of-office"),
        ("Trả lời tự động: [KN-7F3K-Q9XM] Yêu cầu", "out-of-office"),
        ("Re: Trả lời tự động: x", "out-of-office"),
        ("Vắng mặt: Re: [KN-7F3K-Q9XM] Yêu cầu", "out-of-office"),
        ("Phản hồi tự động", "out-of-office"),
        ("Re: [KN-7F3K-Q9XM] the automatic reply you sent me was useless", ""),
        ("Re: [KN-7F3K-Q9XM] Tôi vắng mặt hôm qua nên không nghe máy", ""),
    ],
)
def test_out_of_office_subjects_are_recognised_at_the_start_only(subject, reason):
    assert parse(message(headers={"Subject": subject})).auto_reply == reason


TOP = "mx.portal.example; dkim=pass header.d=example.org"


@pytest.mark.parametrize(
    ("results", "failure"),
    [
        ([f"{TOP}; spf=pass smtp.mailfrom=example.org; dmarc=pass header.from=example.org"], ""),
        ([f"{TOP}; spf=fail smtp.mailfrom=example.org; dmarc=pass header.from=example.org"], "spf=fail"),
        ([f"{TOP}; spf=softfail smtp.mailfrom=example.org; dmarc=pass"], ""),
        ([f"{TOP}; spf=pass; dmarc=fail (p=REJECT) header.from=example.org"], "dmarc=fail"),
        (["mx.portal.example; spf=fail; DMARC=FAIL"], "dmarc=fail, spf=fail"),
        (["mx.portal.example; dkim=pass (key ok; spf=fail upstream) header.d=example.org; spf=pass"], ""),
        ([f"{TOP}; dkim=fail; spf=pass; dmarc=pass"], ""),
        ([f"{TOP}; spf=pass; dmarc=pass", "mx.portal.example; spf=fail; dmarc=fail"], ""),
        ([f"{TOP}; spf=pass; dmarc=fail", "mx.portal.example; spf=pass; dmarc=pass"], "dmarc=fail"),
        (["mx.portal.example; none"], ""),
    ],
)
def test_authentication_failures_come_from_the_topmost_results_only(results, failure):
    head = "".join(f"Authentication-Results: {value}\r\n" for value in results)

    assert parse(head.encode() + message()).auth_failure == failure


# --- headers --------------------------------------------------------------------------------


def test_every_address_the_message_was_sent_to_is_a_recipient_once():
    raw = message(
        headers={
            "To": "Cổng <Phanhoi+AbC@Portal.Example>, khac@example.org",
            "Cc": "lan@example.org",
            "Delivered-To": "phanhoi+abc@portal.example",
            "X-Original-To": "intake@portal.example",
            "Envelope-To": "intake@portal.example",
        }
    )

    assert parse(raw).recipients == (
        "phanhoi+abc@portal.example",
        "khac@example.org",
        "lan@example.org",
        "intake@portal.example",
    )


def test_ids_lose_their_brackets_and_a_missing_message_id_is_empty():
    raw = message(
        headers={
            "Message-ID": None,
            "In-Reply-To": "<a@x> (comment)",
            "References": "<r1@x>\r\n <r 2@x> <a@x>",
        }
    )

    mail = parse(raw)

    assert mail.message_id == ""
    assert mail.in_reply_to == ("a@x",)
    assert mail.references == ("r1@x", "r2@x", "a@x")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Tue, 1 Dec 2026 10:00:00 +0700", datetime(2026, 12, 1, 10, tzinfo=timezone(timedelta(hours=7)))),
        ("Tue, 1 Dec 2026 03:00:00 -0000", datetime(2026, 12, 1, 3, tzinfo=UTC)),
        ("yesterday", None),
        ("Tue, 1 Dec 99999 03:00:00 +0000", None),
        (None, None),
    ],
)
def test_the_date_is_aware_or_none(value, expected):
    when = parse(message(headers={"Date": value})).date

    assert when == expected
    assert when is None or when.tzinfo is not None


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("  <Lan.Nguyen@Example.ORG> ", "lan.nguyen@example.org"),
        (unicodedata.normalize("NFD", "Nguyễn@example.org"), "nguyễn@example.org"),
        ("lan@xn--bcher-kva.example.", "lan@bücher.example"),
        ("lan@BÜCHER.example", "lan@bücher.example"),
        ("lan@xn--broken-.example", "lan@xn--broken-.example"),
        ("STRASSE@example.org", "strasse@example.org"),
        ("no-at-sign", "no-at-sign"),
    ],
)
def test_addresses_are_normalised(address, expected):
    assert normalise_address(address) == expected


@pytest.mark.parametrize(
    ("subject", "reference"),
    [
        ("Re: [KN-7F3K-Q9XM] Yêu cầu bổ sung", "KN-7F3K-Q9XM"),
        ("Trả lời: Khiếu nại [kn-7f3k-q9xm]", "KN-7F3K-Q9XM"),
        ("[ KN-7F3K-Q9XM ]", "KN-7F3K-Q9XM"),
        ("Re: [KN-7F3K-Q9XM] và lại [KN-7F3K-Q9XM]", "KN-7F3K-Q9XM"),
        ("Re: [KN-7F3K-Q9XM] và [KN-4MZT-8HQP]", None),  # two cases: a guess could be wrong
        ("Re: KN-7F3K-Q9XM without brackets", None),
        ("Re: [KN-7F3K-Q9XMZ]", None),
        ("Re: [KN-7F3K-Q9IL]", None),  # I, L, O and U are not in the alphabet
        ("Re: [KN-7F3K-Q9O0]", None),
        ("", None),
    ],
)
def test_the_reference_is_found_in_brackets_in_the_subject(subject, reference):
    assert reference_in_subject(subject) == reference


def test_the_reference_alphabet_is_the_one_references_are_made_from():
    from complaints.models import REFERENCE_ALPHABET, new_reference

    assert mailparse.REFERENCE_ALPHABET == REFERENCE_ALPHABET
    reference = new_reference()
    assert reference_in_subject(f"Re: [{reference.lower()}] x") == reference


# --- caps and refusals ------------------------------------------------------------------------


def test_a_message_over_the_size_cap_is_refused_before_it_is_parsed():
    garbage = b"\x00" * 2048  # would be refused as having no headers, were it parsed

    with pytest.raises(TooLarge) as refused:
        parse(garbage, limits=Limits(max_bytes=1024))

    assert refused.value.code == "too_large"
    assert parse(message(), limits=Limits(max_bytes=len(message()))).text == "Xin chào."
    with pytest.raises(TooLarge):
        parse(message(), limits=Limits(max_bytes=len(message()) - 1))


def test_more_attachments_than_the_cap_are_refused():
    assert len(parse(with_attachments(3), limits=Limits(max_attachments=3)).attachments) == 3
    with pytest.raises(TooManyAttachments) as refused:
        parse(with_attachments(4), limits=Limits(max_attachments=3))

    assert refused.value.params == {"count": 4, "limit": 3}


def test_inline_images_count_as_attachments_against_the_cap():
    with pytest.raises(TooManyAttachments):
        parse(load("inline_image_and_pdf.eml"), limits=Limits(max_attachments=1))


def test_parts_nested_deeper_than_the_cap_are_refused():
    assert parse(nested(8), limits=Limits(max_depth=8)).text == "hello"
    with pytest.raises(TooDeep):
        parse(nested(9), limits=Limits(max_depth=8))


def test_thousands_of_nested_parts_are_refused_not_a_crash():
    with pytest.raises(TooDeep):
        parse(nested(3000))


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"", "empty"),
        (b" \r\n\r\n\t", "empty"),
        (b"Subject: nobody\r\n\r\nhello\r\n", "no_sender"),
        (b"From: Lan <>\r\nSubject: a name, no address\r\n\r\nhello\r\n", "no_sender"),
        (b"From: undisclosed-recipients:;\r\n\r\nhello\r\n", "no_sender"),
        (b"just some text\r\nwithout headers\r\n", "no_headers"),
    ],
)
def test_unreadable_messages_are_refused_with_a_code(raw, code):
    with pytest.raises(MalformedMail) as refused:
        parse(raw)

    assert refused.value.code == code


def test_refusal_reasons_are_translated_when_shown_not_when_raised():
    with translation.override("en"), pytest.raises(TooManyAttachments) as refused:
        parse(with_attachments(4), limits=Limits(max_attachments=3))
    reason = refused.value.reason

    with translation.override("en"):
        assert str(reason) == "The message has 4 attachments, more than the 3 accepted."
    with translation.override("vi"):
        assert str(reason) == "Thư có 4 tệp đính kèm, nhiều hơn mức tối đa 3 tệp được nhận."
        assert (
            str(TooLarge(size="30", limit="25").reason)
            == "Thư nặng 30 MB, vượt quá mức tối đa 25 MB được nhận."
        )
        assert str(TooDeep(limit=8).reason) == "Các phần của thư lồng nhau quá 8 cấp."


def test_a_stored_refusal_is_shown_again_in_the_readers_language():
    with pytest.raises(TooManyAttachments) as refused:
        parse(with_attachments(4), limits=Limits(max_attachments=3))
    stored = (refused.value.code, refused.value.params)

    with translation.override("vi"):
        assert str(reason_for(*stored)) == "Thư có 4 tệp đính kèm, nhiều hơn mức tối đa 3 tệp được nhận."
        assert str(reason_for("no_sender", {})) == "Thư không có địa chỉ người gửi (From)."
    with translation.override("en"):
        assert str(reason_for("no_such_code", {"x": 1})) == "The message could not be read as an e-mail."


# --- properties -----------------------------------------------------------------------------

PROPERTIES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CORPUS_FILES = sorted(path.name for path in CORPUS.glob("*.eml"))
SPLICES = [
    b"\r\n",
    b"\r\n\r\n",
    b"=?",
    b"?=",
    b"=?utf-8?b?",
    b"--",
    b"boundary=",
    b"charset=",
    b">",
    b"<",
    b"\x00",
]


def check(raw: bytes) -> None:
    """parse either refuses with MalformedMail or returns clean, NFC text."""
    try:
        mail = parse(raw)
    except MalformedMail as refused:
        assert str(refused.reason)
        return
    for text in (mail.text, mail.full_text, mail.subject, mail.from_name, mail.from_address):
        assert "\x00" not in text
        assert unicodedata.is_normalized("NFC", text)
        text.encode("utf-8")  # no lone surrogates: PostgreSQL would refuse them
    assert all(isinstance(one, Attachment) and one.name for one in mail.attachments)


@PROPERTIES
@given(st.binary(max_size=4096))
def test_parse_refuses_or_reads_arbitrary_bytes_and_raises_nothing_else(raw):
    check(raw)


@PROPERTIES
@given(
    st.sampled_from(CORPUS_FILES),
    st.lists(
        st.tuples(
            st.sampled_from(["flip", "insert", "delete", "splice"]),
            st.floats(min_value=0, max_value=1, exclude_max=True),
            st.binary(min_size=1, max_size=8),
            st.sampled_from(SPLICES),
        ),
        min_size=1,
        max_size=12,
    ),
)
def test_parse_refuses_or_reads_mutated_corpus_messages_and_raises_nothing_else(name, mutations):
    raw = bytearray(load(name))
    for operation, where, data, splice in mutations:
        at = int(where * len(raw))
        if operation == "flip" and raw:
            raw[min(at, len(raw) - 1)] ^= data[0]
        elif operation == "insert":
            raw[at:at] = data
        elif operation == "delete":
            del raw[at : at + len(data) * 8]
        else:
            raw[at:at] = splice
    check(bytes(raw))
