"""Who scans, as far as the server may know: salted hashes of a visitor and their network,
the coarse region read from the client's address (backend/scan/regions.py), and whether
the client is a link-preview fetcher rather than a person holding the product.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path

from backend.codes.models import ScanChannel
from backend.core.privacy import visitor_hash
from backend.scan import regions

AGENTS_FILE = Path(__file__).resolve().parent / "data" / "link_preview_agents.txt"


@lru_cache(maxsize=1)
def link_preview_agents() -> tuple[str, ...]:
    """User-agent tokens of link-preview fetchers and crawlers, lower-cased."""
    tokens = []
    for line in AGENTS_FILE.read_text(encoding="utf-8").splitlines():
        token = line.split("#", 1)[0].strip()
        if token:
            tokens.append(token.lower())
    return tuple(tokens)


@lru_cache(maxsize=1024)
def is_link_preview(user_agent: str | None) -> bool:
    """Whether *user_agent* names a link-preview fetcher or crawler (not a scan)."""
    agent = (user_agent or "").lower()
    return any(token in agent for token in link_preview_agents())


def scan_event(channel: ScanChannel, visitor: str, address: str | None, now: datetime) -> dict:
    """What is recorded of a scan: when, the channel, the region the server reads from the
    client's address, and salted hashes of the visitor and of the client's network."""
    region = regions.region_of(address)
    network = regions.network_of(address)
    return {
        "scanned_at": now,
        "channel": str(channel),
        "region": region.text if region else None,
        "visitor_hash": visitor_hash(visitor),
        "network_hash": visitor_hash(f"network|{network}") if network else None,
    }
