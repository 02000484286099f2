"""Playwright in Chromium, in Vietnamese: one outage, many complaints. A manager searches the queue,
declares an incident from the search (its results linked at once), a new complainant sees the
incident while filing and joins it, and the manager resolves every linked case, then the
incident. Every label is read from the real catalogue."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone, translation
from playwright.sync_api import expect

from accounts.models import Role
from complaints.models import (
    Complaint,
    EventKind,
    Incident,
    IncidentStatus,
    Notification,
    Status,
    Subcategory,
)
from tests.factories import make_complaint, make_user
from tests.test_staff_journeys import Browsing, field_label, sign_in, tr

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VI = "vi"


def test_a_manager_declares_an_incident_from_a_search_a_complainant_joins_it_and_all_are_resolved(
    browser, live_server
):
    base = live_server.url
    make_user(username="quanly", role=Role.MANAGER, preferred_language=VI)
    now = timezone.now()
    earlier = [
        make_complaint(
            now=now - timedelta(minutes=40 - 10 * n),
            subject=f"Không đăng nhập được ShopNhanh ({n + 1})",
            contact_email=f"khach{n}@example.org",
        )
        for n in range(3)
    ]
    unrelated = make_complaint(
        now=now,
        subject="Giao hàng chậm",
        provider_name="GiaoNhanh",
        subcategory=Subcategory.objects.get(slug="not-received"),
    )
    staff = Browsing(browser, VI)
    page = staff.new_page()
    sign_in(page, base, "quanly", VI)

    # The manager searches the unassigned cases and declares an incident from what the search finds.
    page.goto(f"{base}/staff/queue/unassigned/")
    page.get_by_role("search").get_by_label(tr(VI, "Search")).fill("đăng nhập được ShopNhanh")
    page.get_by_role("button", name=tr(VI, "Apply")).click()
    rows = page.get_by_test_id("queue").locator("tbody tr")
    expect(rows).to_have_count(3)
    page.get_by_text(tr(VI, "Link all results of this search to an incident")).click()
    page.get_by_role("link", name=tr(VI, "Declare a new incident for these results")).click()
    expect(page.get_by_test_id("declared-from-search")).to_contain_text("đăng nhập được ShopNhanh")
    declare = page.get_by_role("region", name=tr(VI, "Declare an incident"))
    expect(declare.get_by_role("textbox", name=field_label(VI, "Service or company"))).to_have_value(
        "ShopNhanh"
    )
    declare.get_by_role("textbox", name=field_label(VI, "Title (Vietnamese)")).fill(
        "ShopNhanh không cho đăng nhập"
    )
    declare.get_by_role("textbox", name=field_label(VI, "Title (English)")).fill("ShopNhanh log-in is down")
    declare.get_by_role("textbox", name=field_label(VI, "Public note (Vietnamese)")).fill(
        "Chúng tôi đang làm việc với ShopNhanh."
    )
    declare.get_by_role("textbox", name=field_label(VI, "Public note (English)")).fill(
        "We are working with ShopNhanh."
    )
    declare.get_by_role("button", name=tr(VI, "Declare")).click()
    page.wait_for_url(re.compile(r"/staff/incidents/[a-z0-9-]+/$"))
    incident = Incident.objects.get()
    linked = page.get_by_test_id("linked-cases")
    for case in earlier:
        expect(linked.get_by_role("link", name=case.reference)).to_be_visible()
    assert Complaint.objects.filter(incident=incident).count() == 3
    assert Complaint.objects.get(pk=unrelated.pk).incident_id is None

    # A new complainant, on a phone, names the same service: the form says the problem is known.
    filing = browser.new_context(viewport={"width": 375, "height": 800}, locale="vi-VN")
    form = filing.new_page()
    form.goto(f"{base}/complaints/new/")
    form.select_option("#id_subcategory", label=str(Subcategory.objects.get(slug="cannot-log-in")))
    form.fill("#id_provider_name", "shopnhanh")
    known = form.get_by_test_id("known-incidents")
    expect(known).to_contain_text("ShopNhanh không cho đăng nhập")
    known.get_by_label(tr(VI, "This is my problem too: send me the news on it.")).check()
    form.fill("#id_subject", "Sáng nay không đăng nhập được")
    form.fill("#id_description", "Ứng dụng báo lỗi mỗi lần tôi đăng nhập.")
    form.fill("#id_desired_outcome", "Đăng nhập lại được.")
    form.fill("#id_occurred_at", timezone.localtime(now).strftime("%Y-%m-%dT%H:%M"))
    form.fill("#id_contact_name", "Trần Văn Minh")
    form.fill("#id_contact_email", "minh@example.org")
    form.get_by_label("Tôi đã đọc cách dữ liệu cá nhân của tôi được xử lý (ở trên) và tôi đồng ý.").check()
    form.get_by_role("button", name="Gửi khiếu nại").click()
    form.wait_for_url(re.compile(r"/complaints/KN-[0-9A-Z-]+/submitted/$"))
    joined = Complaint.objects.get(reference=form.get_by_test_id("reference").inner_text())
    assert joined.incident_id == incident.pk
    filing.close()

    # The manager resolves every linked case at once, with what was found, then the incident.
    page.reload()
    expect(page.get_by_test_id("linked-cases").get_by_role("link", name=joined.reference)).to_be_visible()
    resolve_all = page.get_by_role("region", name=tr(VI, "Resolve all"))
    resolve_all.get_by_role("textbox", name=field_label(VI, "Resolution summary (Vietnamese)")).fill(
        "ShopNhanh đã sửa lỗi đăng nhập; tài khoản của bạn dùng lại được."
    )
    resolve_all.get_by_role("textbox", name=field_label(VI, "Resolution summary (English)")).fill(
        "ShopNhanh fixed the log-in fault; your account works again."
    )
    resolve_all.get_by_role("combobox", name=field_label(VI, "Cause")).select_option(index=1)
    with translation.override(VI):
        outcome = field_label(VI, "Outcome", "whether a complaint is upheld")
        resolve_all.get_by_role("combobox", name=outcome).select_option(label=translation.gettext("Upheld"))
        resolve_all.get_by_role("combobox", name=field_label(VI, "Remedy")).select_option(
            label=translation.gettext("Access restored")
        )
    resolve_all.get_by_role("button", name=tr(VI, "Resolve all")).click()
    with translation.override(VI):
        done = translation.ngettext(
            "%(count)d linked case was resolved.", "%(count)d linked cases were resolved.", 4
        ) % {"count": 4}
    expect(page.get_by_role("status").filter(has_text=done)).to_be_visible()
    cases = Complaint.objects.filter(incident=incident)
    assert set(cases.values_list("status", flat=True)) == {Status.RESOLVED}
    for case in cases:
        assert case.first_responded_at is not None and case.resolved_at is not None
        assert case.events.filter(kind=EventKind.RESOLVED).count() == 1
    told = Notification.objects.filter(template="case_update", complaint__incident=incident)
    assert sorted(told.values_list("email", flat=True)) == sorted(
        [*(case.contact_email for case in earlier), "minh@example.org"]
    )

    news = page.get_by_role("region", name=tr(VI, "Resolve the incident"))
    news.get_by_role("textbox", name=field_label(VI, "Text (Vietnamese)")).fill(
        "ShopNhanh đã khôi phục đăng nhập lúc 11:00."
    )
    news.get_by_role("textbox", name=field_label(VI, "Text (English)")).fill(
        "ShopNhanh restored log-in at 11:00."
    )
    news.get_by_role("button", name=tr(VI, "Resolve and send")).click()
    expect(page.get_by_role("region", name=tr(VI, "Resolve the incident"))).to_have_count(0)
    assert Incident.objects.get().status == IncidentStatus.RESOLVED
    assert staff.errors == []
    staff.close()
