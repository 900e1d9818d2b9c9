import pytest

from backend.core.ratelimit import LocalStore, Window, parse_limits


def test_limits_are_parsed():
    assert parse_limits("10/minute; 40/hour") == (Window(10, 60), Window(40, 3600))
    assert parse_limits("5/second") == (Window(5, 1),)
    for bad in ("ten/minute", "10/fortnight", "10 per minute", "/minute"):
        with pytest.raises(ValueError):
            parse_limits(bad)


def test_local_windows_count_and_roll_over():
    store, windows = LocalStore(), (Window(2, 60),)
    assert store.add("k", windows, 1, 120.0) == [1]
    assert store.add("k", windows, 1, 150.0) == [2]
    assert store.add("k", windows, 0, 170.0) == [2]  # a peek counts nothing
    assert store.add("other", windows, 1, 170.0) == [1]
    assert store.add("k", windows, 1, 181.0) == [1]  # a new minute
    store.add("k", windows, 1, 400.0)  # the sweep forgets finished windows
    assert all(slot[2] >= 6 for slot in store._counts)
