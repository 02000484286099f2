"""common.cache: Django's Redis cache with its clients kept and attempts counted in one trip."""

from __future__ import annotations

from unittest import mock

import pytest
import redis
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache

from common import ratelimit
from common.cache import RedisCache


@pytest.fixture
def backend():
    backend = caches["default"]
    assert isinstance(backend, RedisCache), "the tests' cache is Redis (CACHE_URL)"
    backend.clear()
    yield backend
    backend.clear()


@pytest.fixture
def trips():
    """How many times the Redis clients send commands to the server (a pipeline sends once)."""
    sent = []
    original = redis.connection.AbstractConnection.send_packed_command

    def send(self, command, check_health=True):
        sent.append(command)
        return original(self, command, check_health)

    with mock.patch.object(redis.connection.AbstractConnection, "send_packed_command", send):
        yield sent


def test_one_redis_client_serves_every_call(backend):
    backend.get("warm")
    with mock.patch.object(redis.Redis, "__init__", side_effect=AssertionError("a new client")):
        backend.set("key", "value")
        assert backend.get("key") == "value"
        backend.add("other", 1)
        assert backend.incr("other") == 2


def test_counting_several_keys_is_one_round_trip(backend, trips):
    assert backend.count([("a", 60), ("b", 60), ("a", 60)]) == [1, 1, 2]
    assert len(trips) == 1
    assert backend.count([("a", 60), ("b", 60)]) == [3, 2]
    assert len(trips) == 2


def test_a_counter_lasts_its_timeout_from_its_first_attempt(backend):
    backend.count([("window", 30)])
    client = backend._cache.get_client()
    key = backend.make_key("window")
    assert 0 < client.ttl(key) <= 30
    client.expire(key, 5)
    backend.count([("window", 30)])  # a later attempt does not stretch the window
    assert client.ttl(key) <= 5
    assert backend.get("window") == 2


def test_a_rate_limit_with_two_limits_costs_one_round_trip(backend, trips):
    limits = [ratelimit.Limit("probe-ip", "192.0.2.1", 2, 60), ratelimit.Limit("probe-email", "a@b.c", 5, 60)]
    assert ratelimit.check(limits, fail_open=False).allowed
    assert len(trips) == 1
    assert ratelimit.check(limits, fail_open=False).allowed
    refused = ratelimit.check(limits, fail_open=False)
    assert not refused.allowed and 0 < refused.retry_after <= 60
    assert len(trips) == 3


def test_a_cache_without_count_is_counted_key_by_key(settings):
    memory = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    settings.CACHES = {**settings.CACHES, "default": memory}
    assert isinstance(caches["default"], LocMemCache)
    limits = [ratelimit.Limit("probe", "192.0.2.1", 1, 60)]
    assert ratelimit.check(limits, fail_open=False).allowed
    assert not ratelimit.check(limits, fail_open=False).allowed
    assert ratelimit.hit("probe", "192.0.2.2", limit=1, window=60, fail_open=False).allowed
