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


def test_file_windows_are_shared_by_every_process(tmp_path):
    """Without Redis, each gunicorn worker opens the same SQLite file: a limit counts once
    for all of them (two stores here, two connections; a forked child too)."""
    import os

    from backend.core.ratelimit import FileStore

    path = str(tmp_path / "limits.sqlite3")
    first, second, windows = FileStore(path), FileStore(path), (Window(5, 60), Window(9, 3600))
    assert first.add("login:alice", windows, 1, 120.0) == [1, 1]
    assert second.add("login:alice", windows, 1, 130.0) == [2, 2]
    assert first.add("login:alice", windows, 0, 130.0) == [2, 2]  # a peek counts nothing
    assert second.add("login:bob", windows, 1, 130.0) == [1, 1]
    pid = os.fork()
    if pid == 0:  # a worker forked after the store was used opens its own connection
        code = 0 if first.add("login:alice", windows, 1, 140.0) == [3, 3] else 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert second.add("login:alice", windows, 1, 181.0) == [1, 4]  # a new minute, same hour
    first.SWEEP_EVERY = 0
    first.add("login:carol", windows, 1, 7300.0)  # the sweep forgets finished windows
    rows = first._connection().execute("SELECT slot FROM counters").fetchall()
    assert all("carol" in slot for (slot,) in rows)


def test_a_file_that_cannot_be_written_is_a_store_failure(tmp_path):
    from backend.core.ratelimit import FileStore, StoreUnavailable

    (tmp_path / "dir").mkdir()
    store = FileStore(str(tmp_path / "dir"))  # a directory, not a database file
    with pytest.raises(StoreUnavailable):
        store.add("k", (Window(1, 60),), 1, 0.0)
