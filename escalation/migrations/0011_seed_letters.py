"""Seed the letters of issue 16 for every seeded regime, in Vietnamese and English, and each
regime's next route for the final response (editable afterwards in the admin)."""

from django.db import migrations

ACKNOWLEDGEMENT = {
    "vi": (
        "Xác nhận đã nhận khiếu nại {reference}",
        "Kính gửi {name},\n\n"
        "Chúng tôi xác nhận đã nhận khiếu nại {reference} («{subject}») của quý khách lúc {received}. "
        "Khiếu nại được giải quyết theo {regime}.\n\n"
        "Thời hạn chúng tôi phải tuân thủ:\n{deadlines}\n\n"
        "Nếu cần thêm thông tin, chúng tôi sẽ liên hệ với quý khách.\n\n"
        "Trân trọng,\nBộ phận giải quyết khiếu nại",
    ),
    "en": (
        "We have received your complaint {reference}",
        "Dear {name},\n\n"
        "We confirm that we received your complaint {reference} (“{subject}”) on {received}. "
        "It is handled under {regime}.\n\n"
        "The deadlines we must keep:\n{deadlines}\n\n"
        "If we need more information, we will contact you.\n\n"
        "Yours sincerely,\nThe complaints team",
    ),
}
HOLDING = {
    "vi": (
        "Khiếu nại {reference}: chúng tôi vẫn đang giải quyết",
        "Kính gửi {name},\n\n"
        "Chúng tôi vẫn đang xem xét khiếu nại {reference} («{subject}») mà quý khách gửi lúc {received}, "
        "và xin lỗi vì quý khách phải chờ.\n\n"
        "Theo {regime}, chúng tôi sẽ gửi câu trả lời cuối cùng chậm nhất vào ngày {final_due}.\n\n"
        "Trân trọng,\nBộ phận giải quyết khiếu nại",
    ),
    "en": (
        "Your complaint {reference}: we are still working on it",
        "Dear {name},\n\n"
        "We are still looking into your complaint {reference} (“{subject}”), received on {received}, "
        "and we are sorry for the wait.\n\n"
        "Under {regime}, we will send you our final response by {final_due} at the latest.\n\n"
        "Yours sincerely,\nThe complaints team",
    ),
}
FINAL_RESPONSE = {
    "vi": (
        "Trả lời cuối cùng cho khiếu nại {reference}",
        "Kính gửi {name},\n\n"
        "Đây là câu trả lời cuối cùng của chúng tôi cho khiếu nại {reference} («{subject}») mà quý khách "
        "gửi lúc {received}.\n\n"
        "Kết quả xem xét:\n{findings}\n\n"
        "Kết luận: {outcome}.\n"
        "Biện pháp khắc phục: {remedy}.\n\n"
        "{next_route}\n\n"
        "Trân trọng,\nBộ phận giải quyết khiếu nại",
    ),
    "en": (
        "Final response to your complaint {reference}",
        "Dear {name},\n\n"
        "This is our final response to your complaint {reference} (“{subject}”), received on {received}.\n\n"
        "What we found:\n{findings}\n\n"
        "Our decision: {outcome}.\n"
        "What we will do: {remedy}.\n\n"
        "{next_route}\n\n"
        "Yours sincerely,\nThe complaints team",
    ),
}

NEXT_ROUTES = {
    "vn-consumer-2023": (
        "Nếu không đồng ý với kết quả này, quý khách có thể gửi yêu cầu đến cơ quan bảo vệ quyền lợi "
        "người tiêu dùng cấp tỉnh (Sở Công Thương nơi quý khách cư trú) hoặc tổ chức xã hội tham gia bảo vệ "
        "quyền lợi người tiêu dùng, hoặc giải quyết tranh chấp bằng hòa giải, trọng tài hay Tòa án.",
        "If you do not agree with this outcome, you can take your request to the provincial consumer "
        "protection authority (the Department of Industry and Trade where you live) or to a consumer "
        "protection association, or settle the dispute through mediation, arbitration or the courts.",
    ),
    "vn-complaints-2011": (
        "Nếu không đồng ý với quyết định giải quyết này, quý khách có quyền khiếu nại lần hai đến người "
        "có thẩm quyền hoặc khởi kiện vụ án hành chính tại Tòa án, trong thời hạn Luật Khiếu nại 2011 quy định.",
        "If you do not agree with this decision, you may complain a second time to the competent authority "
        "or bring an administrative case before the court, within the time the Law on Complaints 2011 allows.",
    ),
    "fca-disp": (
        "Nếu vẫn chưa hài lòng, quý khách có thể chuyển khiếu nại đến Financial Ombudsman Service (miễn phí) "
        "trong vòng sáu tháng kể từ ngày của thư này: www.financial-ombudsman.org.uk.",
        "If you remain dissatisfied, you can refer your complaint to the Financial Ombudsman Service, free "
        "of charge, within six months of the date of this letter: www.financial-ombudsman.org.uk.",
    ),
    "fca-disp-payments": (
        "Nếu vẫn chưa hài lòng, quý khách có thể chuyển khiếu nại đến Financial Ombudsman Service (miễn phí) "
        "trong vòng sáu tháng kể từ ngày của thư này: www.financial-ombudsman.org.uk.",
        "If you remain dissatisfied, you can refer your complaint to the Financial Ombudsman Service, free "
        "of charge, within six months of the date of this letter: www.financial-ombudsman.org.uk.",
    ),
    "cfpb": (
        "Nếu chưa hài lòng với câu trả lời này, quý khách có thể phản hồi với Cục Bảo vệ Tài chính Người "
        "tiêu dùng Hoa Kỳ (CFPB) qua khiếu nại của mình tại consumerfinance.gov/complaint.",
        "If you are not satisfied with this response, you can tell the Consumer Financial Protection Bureau "
        "so through your complaint at consumerfinance.gov/complaint.",
    ),
}


def seed(apps, schema_editor):
    Regime = apps.get_model("escalation", "Regime")
    LetterTemplate = apps.get_model("escalation", "LetterTemplate")
    for regime in Regime.objects.filter(code__in=NEXT_ROUTES):
        route_vi, route_en = NEXT_ROUTES[regime.code]
        if not regime.next_route_vi and not regime.next_route_en:
            regime.next_route_vi, regime.next_route_en = route_vi, route_en
            regime.save(update_fields=["next_route_vi", "next_route_en"])
        for kind, texts in (
            ("acknowledgement", ACKNOWLEDGEMENT),
            ("holding", HOLDING),
            ("final_response", FINAL_RESPONSE),
        ):
            for language, (subject, body) in texts.items():
                LetterTemplate.objects.get_or_create(
                    regime=regime, kind=kind, language=language, defaults={"subject": subject, "body": body}
                )


class Migration(migrations.Migration):
    dependencies = [("escalation", "0010_letters")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
