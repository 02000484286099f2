"""The dashboard's tallies (complaints.tallies): kept by PostgreSQL's triggers, they give the
same figures as counting the complaints, after any kind of change, folded or not."""

from __future__ import annotations

import io
import random
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role
from complaints import tallies
from complaints.models import Cause, Complaint, Status, Subcategory, Tally
from staff import dashboard
from tests.factories import NOW, make_complaint, make_user, sign_in

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)
URL = "/staff/dashboard/"
# Every week the changes below can touch, and a window of four that cuts through them.
WIDE, NARROW = 60, 4


def counted_directly(*, weeks: int, now: datetime = NOW) -> dict:
    """The figures counted from the complaints (the dashboard's queries without tallies)."""
    start = dashboard.start_of(dashboard.week_starts(now=now, weeks=weeks)[0])
    return normalised(
        dashboard.weekly_targets(start=start),
        dashboard.weekly_breaches(start=start),
        dashboard.open_per_level(),
        dashboard.weekly_causes(start=start),
    )


def counted_from_tallies(*, weeks: int, now: datetime = NOW) -> dict:
    mondays = dashboard.week_starts(now=now, weeks=weeks)
    assert tallies.read(since=mondays[0], time_zone=settings.TIME_ZONE) is not None, "kept by PostgreSQL"
    return normalised(*dashboard.counted(mondays=mondays))


def normalised(targets: list[dict], breaches: list[dict], open_counts: dict, causes: list[dict]) -> dict:
    """The four kinds of figures as plain dicts, keys whose counts are all zero left out."""
    return {
        "targets": {
            (row["category_id"], row["week"]): (
                row["submitted"],
                row["fr_decided"],
                row["fr_met"],
                row["res_decided"],
                row["res_met"],
            )
            for row in targets
            if row["submitted"] or row["fr_decided"] or row["res_decided"]
        },
        "breaches": {(row["kind"], row["week"]): row["n"] for row in breaches if row["n"]},
        "open": {level: n for level, n in open_counts.items() if n},
        "causes": {
            (row["category_id"], row["cause_id"], row["week"]): row["n"] for row in causes if row["n"]
        },
    }


def assert_same_figures() -> None:
    for weeks in (WIDE, NARROW):
        assert counted_from_tallies(weeks=weeks) == counted_directly(weeks=weeks)


def some_moment(rng: random.Random) -> datetime | None:
    """None, or a moment in the last 30 weeks (a few of them in the future)."""
    if rng.random() < 0.3:
        return None
    return NOW - timedelta(minutes=rng.randrange(-3 * 24 * 60, 30 * 7 * 24 * 60))


def file_some(rng: random.Random, count: int) -> list[Complaint]:
    subcategories = list(Subcategory.objects.all())
    return [
        make_complaint(
            now=NOW - timedelta(minutes=rng.randrange(0, 30 * 7 * 24 * 60)),
            subcategory=rng.choice(subcategories),
        )
        for _ in range(count)
    ]


# The times a tally depends on (every one of them moves a figure).
CLOCK_FIELDS = tuple(name for name in tallies.COLUMNS if name.endswith("_at"))


def test_the_tallies_give_the_counted_figures_after_every_kind_of_change():
    rng = random.Random(15)
    causes = list(Cause.objects.all())
    made = file_some(rng, 24)
    assert_same_figures()
    ids = [complaint.pk for complaint in made]
    for step in range(60):
        change = step % 5
        if change == 0:  # one complaint's clock, as a service saves it
            complaint = Complaint.objects.get(pk=rng.choice(ids))
            for name in rng.sample(CLOCK_FIELDS, 3):
                moment = some_moment(rng)
                setattr(complaint, name, moment or NOW if name == "submitted_at" else moment)
            complaint.save()
        elif change == 1:  # many complaints in one statement, as the sweep flags them
            Complaint.objects.filter(pk__in=rng.sample(ids, 8)).update(
                first_response_breached_at=some_moment(rng), escalation_level=rng.randrange(0, 3)
            )
        elif change == 2:  # status, in and out of the queue; the cause found at resolution
            Complaint.objects.filter(pk__in=rng.sample(ids, 4)).update(
                status=rng.choice(list(Status.values)), cause=rng.choice([None, *causes])
            )
        elif change == 3:  # a change the tallies do not count: nothing appended
            before = Tally.objects.count()
            Complaint.objects.filter(pk__in=rng.sample(ids, 5)).update(subject="Đã đổi tiêu đề")
            assert Tally.objects.count() == before
        else:  # filed, and deleted
            ids += [complaint.pk for complaint in file_some(rng, 2)]
            gone = rng.choice(ids)
            Complaint.objects.filter(pk=gone).delete()
            ids.remove(gone)
        assert_same_figures()


def test_folding_keeps_the_sums_in_one_row_per_key():
    rng = random.Random(16)
    ids = [complaint.pk for complaint in file_some(rng, 12)]
    for _ in range(10):
        Complaint.objects.filter(pk__in=rng.sample(ids, 4)).update(
            status=rng.choice([Status.OPEN, Status.RESOLVED]), resolved_at=some_moment(rng)
        )
    # Filed and deleted: its week's key sums to nothing, and is dropped.
    make_complaint(now=NOW - timedelta(weeks=50)).delete()
    rows = Tally.objects.count()
    before = counted_from_tallies(weeks=WIDE)
    assert tallies.compact() == rows
    assert counted_from_tallies(weeks=WIDE) == before == counted_directly(weeks=WIDE)
    keys = Tally.objects.values_list("kind", "week", "category_id", "level", "cause_id")
    assert len(keys) == len(set(keys)) < rows
    assert not Tally.objects.filter(
        complaints=0, first_response_decided=0, first_response_met=0, resolution_decided=0, resolution_met=0
    ).exists()


def test_emptying_the_complaints_table_empties_the_tallies():
    file_some(random.Random(17), 3)
    assert Tally.objects.exists()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the test's transaction holds deferred checks
        cursor.execute("TRUNCATE complaints_complaint CASCADE")
    assert not Tally.objects.exists()
    assert counted_from_tallies(weeks=WIDE) == counted_directly(weeks=WIDE)


def test_in_another_time_zone_the_dashboard_counts_from_the_complaints_until_rebuilt():
    # Sunday 23:30 in Ho Chi Minh City, Sunday 16:30 in UTC: the same week in both zones,
    # and Monday 00:30 in Ho Chi Minh City, still Sunday in UTC.
    file_some(random.Random(18), 6)
    make_complaint(now=datetime(2026, 3, 1, 16, 30, tzinfo=UTC))
    make_complaint(now=datetime(2026, 3, 1, 17, 30, tzinfo=UTC))
    in_saigon = counted_directly(weeks=WIDE)
    with override_settings(TIME_ZONE="UTC"):
        in_utc = counted_directly(weeks=WIDE)
        assert in_utc != in_saigon
        mondays = dashboard.week_starts(now=NOW, weeks=WIDE)
        assert tallies.read(since=mondays[0], time_zone="UTC") is None
        assert normalised(*dashboard.counted(mondays=mondays)) == in_utc
        dashboard.build_dashboard(now=NOW, weeks=WIDE)  # this process reads its copies once
        with CaptureQueriesContext(connection) as queries:
            dashboard.build_dashboard(now=NOW, weeks=WIDE)
        assert len(queries) == 5  # the tallies' zone, then the four counting queries

        call_command("rebuild_tallies", stdout=io.StringIO())
        assert counted_from_tallies(weeks=WIDE) == in_utc
    assert tallies.read(since=mondays[0], time_zone="Asia/Ho_Chi_Minh") is None


def open_in_all(page: str) -> int:
    return int(re.search(r'<tfoot><tr><th scope="row">[^<]*</th><td class="text-end">(\d+)<', page).group(1))


def test_the_dashboard_shows_a_change_on_its_next_view(client):
    sign_in(client, make_user(role=Role.MANAGER))
    made = [make_complaint(now=timezone.now() - HOUR) for _ in range(3)]
    assert open_in_all(client.get(URL).content.decode()) == 3
    Complaint.objects.filter(pk=made[0].pk).update(status=Status.WITHDRAWN)
    assert open_in_all(client.get(URL).content.decode()) == 2
    made[1].status = Status.RESOLVED
    made[1].save(update_fields=["status"])
    assert open_in_all(client.get(URL).content.decode()) == 1


def test_beat_folds_the_tallies_every_ten_minutes():
    from complaints.tasks import compact_tallies

    entry = settings.CELERY_BEAT_SCHEDULE["compact-tallies"]
    assert (entry["task"], entry["schedule"]) == (compact_tallies.name, 600.0)
    rng = random.Random(19)
    ids = [complaint.pk for complaint in file_some(rng, 4)]
    Complaint.objects.filter(pk__in=ids[:2]).update(status=Status.OPEN)
    before, rows = counted_from_tallies(weeks=WIDE), Tally.objects.count()
    assert compact_tallies() == rows
    assert Tally.objects.count() < rows
    assert counted_from_tallies(weeks=WIDE) == before


@pytest.mark.parametrize("column", tallies.COLUMNS)
def test_an_update_of_any_one_counted_column_alone_is_counted(column):
    """An UPDATE that changes none of the counted columns returns before counting (the triggers'
    `unchanged`); one that changes any of them, alone, is counted: here each to a value that
    moves a figure."""
    made = [make_complaint(now=NOW - 48 * HOUR) for _ in range(4)]
    cases = Complaint.objects.filter(pk__in=[c.pk for c in made])
    cases.update(status=Status.OPEN, first_responded_at=NOW - 47 * HOUR)  # answered in time
    cases.filter(pk__in=[c.pk for c in made[:2]]).update(  # two resolved in time
        status=Status.RESOLVED, resolved_at=NOW - HOUR, cause=Cause.objects.first()
    )
    assert_same_figures()
    moved = {
        "submitted_at": NOW - 20 * 7 * 24 * HOUR,  # another week
        "category_id": Subcategory.objects.exclude(category_id=made[0].category_id).first().category_id,
        "status": Status.CLOSED,  # out of the queue
        "escalation_level": 2,
        "first_response_due_at": NOW - 72 * HOUR,  # before the answer: missed
        "first_responded_at": NOW + 72 * HOUR,  # after its deadline: missed
        "first_response_breached_at": NOW - HOUR,
        "resolution_due_at": NOW - 72 * HOUR,
        "resolved_at": NOW + 30 * 24 * HOUR,
        "resolution_breached_at": NOW - HOUR,
        "cause_id": Cause.objects.last().pk,
    }
    before = Tally.objects.count()
    cases.update(**{column: moved[column]})
    assert Tally.objects.count() > before
    assert_same_figures()
