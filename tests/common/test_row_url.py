"""common.urls.row_url gives what reverse() gives, a route reversed once for a page's rows."""

import uuid

import pytest
from django.urls import NoReverseMatch, reverse

from common.urls import row_url


@pytest.mark.parametrize("argument", ["KN-0001-ABCD", "a b", "é-ü", "x?y#z", "100%", "a:b@c~d"])
def test_a_row_url_is_the_url_reverse_gives(argument):
    assert row_url("staff:case")(argument) == reverse("staff:case", args=[argument])
    assert row_url("staff:assign")(argument) == reverse("staff:assign", args=[argument])


@pytest.mark.parametrize("argument", ["", "a/b"])
def test_an_argument_the_route_refuses_is_refused(argument):
    with pytest.raises(NoReverseMatch):
        reverse("staff:case", args=[argument])
    with pytest.raises(NoReverseMatch):
        row_url("staff:case")(argument)


def test_a_uuid_route_with_fixed_arguments_after_the_rows():
    public_id = uuid.uuid4()
    for variant in ("thumb", "view", "original"):
        url = row_url("evidence:download", variant)
        assert url(public_id) == reverse("evidence:download", args=[public_id, variant])
        assert url(str(public_id)) == reverse("evidence:download", args=[str(public_id), variant])
    for refused in ("ROWARGUMENT", "not-a-uuid", str(public_id).upper()):
        with pytest.raises(NoReverseMatch):
            reverse("evidence:download", args=[refused, "thumb"])
        with pytest.raises(NoReverseMatch):
            row_url("evidence:download", "thumb")(refused)
