"""The scan path's Lua scripts (backend/scan/lua/*.lua), read once and registered with
Redis when the app starts.

Each script names its keys and arguments at its top. admit.lua and scan.lua count the
request's rate limits, so limits.lua (their shared functions) is loaded in front of them.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

LUA = Path(__file__).resolve().parent / "lua"
WITH_LIMITS = frozenset({"admit", "scan"})


@cache
def source(name: str) -> str:
    """The text of the script *name* (with limits.lua in front where it counts limits)."""
    text = (LUA / f"{name}.lua").read_text(encoding="utf-8")
    if name in WITH_LIMITS:
        text = source("limits") + "\n" + text
    return text


def register(client, name: str):
    """The script *name* registered with *client* (redis-py's register_script: called by
    its hash, loaded again by Redis when it was flushed)."""
    return client.register_script(source(name))
