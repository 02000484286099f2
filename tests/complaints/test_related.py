"""Related cases (complaints.related): similar text within the window of time around a case's
filing, the same provider in that window, the same account at the provider at any time; ranked
and bounded; the embedded SQLite default's arithmetic the same as PostgreSQL's."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from complaints import related as related_module
from complaints import services
from complaints.models import Complaint, ComplaintRelation, Subcategory
from complaints.related import (
    RELATED_LIMIT,
    RELATED_SIMILARITY,
    RELATED_WINDOW,
    Candidate,
    find_related,
    rank,
)
from complaints.search import provider_key, related_text, similarity, trigrams
from tests.factories import NOW, make_complaint, make_incident, make_user

LOGIN = (
    "Không đăng nhập được ShopNhanh",
    "Từ sáng nay tôi không vào được tài khoản, ứng dụng báo sai mật khẩu.",
)
LOGIN_AGAIN = ("Khong dang nhap duoc vao ShopNhanh", "tu sang nay khong vao duoc tai khoan, bao sai mat khau")
DELIVERY = ("Giao hàng trễ ba tuần", "Đơn hàng giày thể thao vẫn chưa tới, shop hẹn mãi.")


def filed(text=LOGIN, *, at=NOW, provider="ShopNhanh", **fields):
    """A complaint filed through intake, giving no account at the provider unless told."""
    subject, description = text
    values = {"provider_username": "", "provider_email": "", "provider_account_id": "", **fields}
    return make_complaint(now=at, subject=subject, description=description, provider_name=provider, **values)


def link_to_each_other(first, second):
    """Two cases linked to each other, as complaints.services.relations stores them."""
    low, high = ComplaintRelation.pair(first.pk, second.pk)
    ComplaintRelation.objects.create(low_id=low, high_id=high, created_at=NOW)


def ids(found):
    return [item.id for item in found.related]


def why(found, complaint):
    return next(item for item in found.related if item.id == complaint.pk)


# --- The arithmetic, without a database ----------------------------------------------------------

PAIRS = [
    ("khong dang nhap duoc shopnhanh", "khong the dang nhap vao shopnhanh tu sang"),
    ("cannot log in to shopnhanh since this morning", "ShopNhanh LOGIN broken, cannot log-in!"),
    ("don hang 500.000 dong chua toi", "don_hang 500000 dong"),
    ("a", "a b c"),
    ("", "khong dang nhap"),
    ("x  y", "x y"),
    ("đăng nhập ÁB", "dang nhap ab"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("first", "second"), PAIRS)
def test_the_python_similarity_is_pg_trgms(first, second):
    """The embedded default ranks as PostgreSQL does: the same trigrams, the same score."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT similarity(%s, %s), array_length(show_trgm(%s), 1)", [first, second, first])
        score, count = cursor.fetchone()
    assert similarity(first, second) == pytest.approx(score, abs=1e-6)
    assert len(trigrams(first)) == (count or 0)


def test_trigrams_pad_each_word_as_pg_trgm_does():
    assert trigrams("Ab c") == {"  a", " ab", "ab ", "  c", " c "}
    assert similarity("", "") == 0.0 and similarity("abc", "abc") == 1.0


def test_the_related_text_is_folded_and_cut_between_words():
    assert related_text("Không ĐĂNG nhập", "được  nữa") == "khong dang nhap duoc nua"
    whole = "tai khoan" + " bi khoa" * 100
    long = related_text("Tài khoản", "bị khóa " * 100)
    assert len(long) <= 200 and whole.startswith(long) and whole[len(long)] == " "


def candidate(pk, *, hours=0, score=0.0, account=False, provider=False):
    return Candidate(pk, NOW + timedelta(hours=hours), score, account, provider)


def test_the_same_account_comes_first_then_similar_text_by_score_then_the_same_provider():
    ranked = rank(
        [
            candidate(1, score=0.9),
            candidate(2, score=0.1, provider=True),
            candidate(3, score=0.05, account=True, provider=True, hours=-24 * 300),
            candidate(4, score=0.5),
            candidate(5, score=0.1),  # neither similar nor of the provider: unrelated
        ],
        around=NOW,
    )
    assert [item.id for item in ranked] == [3, 1, 4, 2]
    assert ranked[0].same_account and not ranked[0].same_provider  # the provider's outside the window
    assert ranked[1].similar and ranked[1].gap == timedelta(0)


def test_the_window_bounds_text_and_provider_but_not_the_account():
    window = RELATED_WINDOW
    ranked = rank(
        [
            candidate(1, score=0.9, hours=window.total_seconds() / 3600 + 1),
            candidate(2, provider=True, hours=-(window.total_seconds() / 3600 + 1)),
            candidate(3, score=0.9, hours=-(window.total_seconds() / 3600)),  # at its edge: in
            candidate(4, account=True, hours=-(window.total_seconds() / 3600 + 1)),
        ],
        around=NOW,
    )
    assert [item.id for item in ranked] == [4, 3]


def test_the_threshold_is_inclusive_and_ties_go_to_the_nearer_then_the_older():
    ranked = rank(
        [
            candidate(9, score=RELATED_SIMILARITY, hours=5),
            candidate(8, score=RELATED_SIMILARITY, hours=-2),
            candidate(7, score=RELATED_SIMILARITY, hours=2),
            candidate(6, score=RELATED_SIMILARITY - 0.001),
        ],
        around=NOW,
    )
    assert [item.id for item in ranked] == [7, 8, 9]


def test_at_most_the_limit_each_candidate_once():
    many = [candidate(pk, score=pk / 100) for pk in range(31, 31 + 3 * RELATED_LIMIT)]
    ranked = rank([*many, *many], around=NOW)
    assert len(ranked) == RELATED_LIMIT
    assert [item.id for item in ranked] == list(range(30 + 3 * RELATED_LIMIT, 30 + 2 * RELATED_LIMIT, -1))


# --- Finding them -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_similar_text_is_found_whatever_its_provider_and_unrelated_text_is_not():
    case = filed(LOGIN)
    similar = filed(LOGIN_AGAIN, at=NOW + timedelta(hours=3), provider="Shop Nhanh VN")
    unrelated = filed(DELIVERY, at=NOW - timedelta(hours=1), provider="Tiki")
    found = find_related(case)
    assert ids(found) == [similar.pk]
    item = why(found, similar)
    assert item.similar and item.score >= RELATED_SIMILARITY and not item.same_provider
    assert not item.same_account and item.gap == timedelta(hours=3)
    assert unrelated.pk not in ids(found)


@pytest.mark.django_db
def test_the_same_account_is_found_across_any_wording_and_any_time():
    case = filed(LOGIN, provider="ShopNhanh", provider_username="Lan.Nguyen")
    same = filed(DELIVERY, at=NOW - timedelta(days=400), provider="SHOPNHANH", provider_username="lan.nguyen")
    other_provider = filed(
        DELIVERY, at=NOW - timedelta(days=2), provider="Tiki", provider_username="lan.nguyen"
    )
    found = find_related(case)
    assert ids(found) == [same.pk]
    assert why(found, same).same_account and not why(found, same).similar
    assert other_provider.pk not in ids(found)


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["provider_username", "provider_email", "provider_account_id"])
def test_each_identifier_of_the_account_relates_two_cases(field):
    case = filed(LOGIN, **{field: "ACC-77 x"})
    same = filed(DELIVERY, at=NOW - timedelta(days=90), **{field: "acc-77 X"})
    blank = filed(DELIVERY, at=NOW - timedelta(days=90))  # gives none: never the same account
    found = find_related(case)
    assert ids(found) == [same.pk]
    assert blank.pk not in ids(found)


@pytest.mark.django_db
def test_the_window_leaves_out_older_and_later_cases_of_similar_text_or_the_same_provider():
    case = filed(LOGIN)
    inside = filed(LOGIN_AGAIN, at=NOW - RELATED_WINDOW + timedelta(minutes=1))
    too_old = filed(LOGIN_AGAIN, at=NOW - RELATED_WINDOW - timedelta(minutes=1))
    too_late = filed(LOGIN_AGAIN, at=NOW + RELATED_WINDOW + timedelta(minutes=1))
    provider_inside = filed(DELIVERY, at=NOW + timedelta(days=1))
    provider_old = filed(DELIVERY, at=NOW - RELATED_WINDOW - timedelta(days=1))
    found = find_related(case)
    assert set(ids(found)) == {inside.pk, provider_inside.pk}
    assert ids(found)[0] == inside.pk  # similar text before the same provider alone
    assert why(found, provider_inside).same_provider and not why(found, provider_inside).similar
    assert not {too_old.pk, too_late.pk, provider_old.pk} & set(ids(found))


@pytest.mark.django_db
def test_at_most_ten_best_first():
    case = filed(LOGIN)
    others = [
        filed((LOGIN[0], LOGIN[1][: 20 + 4 * n]), at=NOW + timedelta(minutes=n), provider=f"Shop {n}")
        for n in range(RELATED_LIMIT + 2)
    ]
    found = find_related(case)
    assert len(found.related) == RELATED_LIMIT
    scores = [item.score for item in found.related]
    assert scores == sorted(scores, reverse=True)
    assert set(ids(found)) <= {other.pk for other in others}


@pytest.mark.django_db
def test_the_candidates_are_bounded_the_nearest_in_time_first(monkeypatch):
    """What bounds the cost: each source reads RELATED_POOL cases from each side of the filing,
    nearest first, whatever the number in the window."""
    monkeypatch.setattr(related_module, "RELATED_POOL", 2)
    case = filed(LOGIN)
    near = [filed(LOGIN_AGAIN, at=NOW - timedelta(hours=n), provider=f"Shop {n}") for n in (1, 2)]
    far = filed(LOGIN_AGAIN, at=NOW - timedelta(hours=3), provider="Shop 3")
    found = find_related(case)
    assert set(ids(found)) == {c.pk for c in near}
    assert far.pk not in ids(found)


@pytest.mark.django_db
def test_one_query_on_postgresql_however_many_cases():
    case = filed(LOGIN, provider_username="lan", provider_email="lan@shop.vn", provider_account_id="9")
    for n in range(30):
        filed(LOGIN_AGAIN, at=NOW + timedelta(minutes=n), provider_username="lan")
    with CaptureQueriesContext(connection) as captured:
        find_related(case)
    assert len(captured.captured_queries) == 1


@pytest.mark.django_db
def test_the_linked_cases_and_the_incidents_cases_are_not_candidates():
    lead = make_user(role="Team leads")
    case = filed(LOGIN)
    linked = filed(LOGIN_AGAIN, at=NOW + timedelta(hours=1))
    in_incident = filed(LOGIN_AGAIN, at=NOW + timedelta(hours=2))
    elsewhere = filed(LOGIN_AGAIN, at=NOW + timedelta(hours=3))
    incident = make_incident(lead, started_at=NOW)
    for complaint in (case, in_incident):
        services.link_complaint(complaint=complaint, incident=incident, by=lead, now=NOW)
    link_to_each_other(case, linked)
    found = find_related(Complaint.objects.get(pk=case.pk))
    assert ids(found) == [elsewhere.pk]
    assert found.linked == [linked.pk]


@pytest.mark.django_db
def test_the_embedded_defaults_path_finds_what_postgresqls_finds(monkeypatch):
    """SQLite reads each source apart and scores in Python: the same cases, reasons and scores."""
    case = filed(LOGIN, provider_username="lan")
    filed(LOGIN_AGAIN, at=NOW + timedelta(hours=1), provider="Other")
    filed(DELIVERY, at=NOW - timedelta(days=300), provider_username="LAN")
    filed(DELIVERY, at=NOW + timedelta(days=2))
    filed(DELIVERY, at=NOW + timedelta(days=2), provider="Tiki")
    linked = filed(DELIVERY, at=NOW - timedelta(days=50), provider="Tiki")
    link_to_each_other(case, linked)
    in_sql = find_related(case)
    monkeypatch.setattr(related_module, "in_sql", lambda: False)
    in_python = find_related(case)
    assert len(in_sql.related) == 3 and in_sql.linked == [linked.pk]
    assert in_python.linked == in_sql.linked
    for first, second in zip(in_sql.related, in_python.related, strict=True):
        assert first.id == second.id and first.score == pytest.approx(second.score, abs=1e-6)
        assert (first.similar, first.same_account, first.same_provider) == (
            second.similar,
            second.same_account,
            second.same_provider,
        )


@pytest.mark.django_db
@pytest.mark.parametrize("seed", range(4))
def test_postgresqls_statement_and_the_embedded_path_agree_on_random_cases(monkeypatch, seed):
    """Cases drawn at random (texts, times within and beyond the window, providers, accounts
    given or not, some in an incident, some linked to each other, a small pool so that the caps
    bite): for every case, the hand-written statement and the ORM's sources scored in Python find
    the same related cases, for the same reasons, with the same scores, and the same linked ones."""
    import random

    draw = random.Random(seed)
    monkeypatch.setattr(related_module, "RELATED_POOL", 3)
    lead = make_user(username=f"lead-{seed}", role=Role.TEAM_LEAD)
    incident = make_incident(lead, started_at=NOW)
    cases = []
    for _ in range(24):
        fields = {
            field: draw.choice(["", "", "lan", "LAN", "minh"])
            for field in ("provider_username", "provider_email", "provider_account_id")
        }
        at = NOW + timedelta(hours=draw.randint(-24 * 10, 24 * 10))
        case = make_complaint(
            now=at,
            subject=draw.choice([LOGIN, LOGIN_AGAIN, DELIVERY])[0],
            description=draw.choice([LOGIN, LOGIN_AGAIN, DELIVERY])[1],
            provider_name=draw.choice(["ShopNhanh", "Shop Nhanh", "Tiki", "MoMoney"]),
            **fields,
        )
        if draw.random() < 0.2:
            services.link_complaint(complaint=case, incident=incident, by=lead, now=at)
        cases.append(case)
    for first, second in {tuple(sorted(draw.sample(cases, 2), key=lambda c: c.pk)) for _ in range(6)}:
        link_to_each_other(first, second)
    for case in cases:
        case = Complaint.objects.get(pk=case.pk)
        monkeypatch.setattr(related_module, "in_sql", lambda: True)
        in_sql = find_related(case)
        monkeypatch.setattr(related_module, "in_sql", lambda: False)
        in_python = find_related(case)
        assert in_sql.linked == in_python.linked
        assert [(r.id, r.similar, r.same_account, r.same_provider, r.gap) for r in in_sql.related] == [
            (r.id, r.similar, r.same_account, r.same_provider, r.gap) for r in in_python.related
        ]
        assert [r.score for r in in_sql.related] == pytest.approx(
            [r.score for r in in_python.related], abs=1e-6
        )


@pytest.mark.django_db
def test_intake_and_completion_write_what_related_cases_compare():
    case = filed(("Không  Đăng nhập", "được"), provider="Ví điện tử MoMoney")
    assert (case.provider_key, case.related_text) == ("vidientumomoney", "khong dang nhap duoc")
    saved = Complaint.objects.get(pk=case.pk)
    assert (saved.provider_key, saved.related_text) == ("vidientumomoney", "khong dang nhap duoc")
    incomplete = Complaint.objects.get(pk=case.pk)
    Complaint.objects.filter(pk=case.pk).update(incomplete_since=NOW, missing_parts=["provider"])
    incomplete.refresh_from_db()
    services.complete_complaint(
        complaint=incomplete,
        by=None,
        now=NOW,
        subcategory=Subcategory.objects.get(slug="cannot-log-in"),
        provider_name="Tiki Việt Nam",
        occurred_at=NOW - timedelta(days=1),
        desired_outcome="Mở lại tài khoản.",
        consent_version="v1",
    )
    assert Complaint.objects.get(pk=case.pk).provider_key == "tikivietnam"


@pytest.mark.django_db
def test_the_migration_fills_the_complaints_filed_before_it():
    from django.apps import apps

    case = filed(("Tài KHOẢN bị khóa", "từ hôm qua"), provider="Điện Máy Xanh")
    Complaint.objects.filter(pk=case.pk).update(provider_key="", related_text="")
    migration = importlib.import_module("complaints.migrations.0030_related_cases")
    migration.fill_keys(apps, None)
    saved = Complaint.objects.get(pk=case.pk)
    assert (saved.provider_key, saved.related_text) == ("dien may xanh", "tai khoan bi khoa tu hom qua")


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Shop Nhanh", "shopnhanh"),
        ("ShopNhanh", "shopnhanh"),
        ("  SHOP-NHANH ", "shopnhanh"),
        ("shopnhanh.vn", "shopnhanh"),
        ("www.ShopNhanh.com.vn", "shopnhanh"),
        ("Điện Máy Xanh", "dienmayxanh"),
        ("Ngân hàng X (chi nhánh Hà Nội)", "nganhangxchinhanhhanoi"),
        ("Grab", "grab"),
        (".vn", "vn"),  # nothing but a suffix: kept, not emptied
        ("", ""),
    ],
)
def test_a_provider_is_one_key_however_it_is_spaced_cased_accented_or_addressed(name, key):
    assert provider_key(name) == key


@pytest.mark.django_db
def test_the_migration_rekeys_complaints_incidents_and_alerts_and_one_open_alert_stays_per_provider():
    from django.apps import apps

    from complaints.models import Incident, WaveAlert, WaveAlertState
    from tests.factories import make_incident

    spaced, plain = filed(provider="Shop Nhanh"), filed(provider="Grab")
    Complaint.objects.filter(pk=spaced.pk).update(provider_key="shop nhanh")  # as 0030 wrote it
    incident = make_incident(make_user(username="lead", role=Role.TEAM_LEAD), provider_name="Shop Nhanh")
    Incident.objects.filter(pk=incident.pk).update(provider_key="shop nhanh")
    older, newer = (
        WaveAlert.objects.create(
            category=spaced.category,
            provider_name=name,
            provider_key=old_key,
            window_start=NOW - timedelta(hours=hours),
            count=30,
            baseline=3.0,
            created_at=NOW - timedelta(hours=hours),
            last_seen_at=NOW - timedelta(hours=hours),
        )
        for name, old_key, hours in (("ShopNhanh", "shopnhanh", 5), ("Shop Nhanh", "shop nhanh", 1))
    )
    migration = importlib.import_module("complaints.migrations.0033_provider_keys_without_spaces")
    with CaptureQueriesContext(connection) as captured:
        migration.rekey(apps, None)
    assert Complaint.objects.get(pk=spaced.pk).provider_key == "shopnhanh"
    assert Incident.objects.get(pk=incident.pk).provider_key == "shopnhanh"
    # Only the complaint whose key was spaced is written again; the one already right is left.
    (update,) = [q["sql"] for q in captured if q["sql"].startswith('UPDATE "complaints_complaint"')]
    assert f"IN ({spaced.pk})" in update and Complaint.objects.get(pk=plain.pk).provider_key == "grab"
    states = dict(WaveAlert.objects.values_list("pk", "state"))
    assert (states[older.pk], states[newer.pk]) == (WaveAlertState.SUPERSEDED, WaveAlertState.OPEN)
    assert set(WaveAlert.objects.values_list("provider_key", flat=True)) == {"shopnhanh"}
