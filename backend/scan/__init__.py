"""Scan: what a consumer sees when scanning a code, recorded and counted, by every channel
(the H5 page, the mini-program, GS1 Digital Link).

This module is the feature's public face: the channels' views, the factory and the job
runner import from ``backend.scan`` alone (the layering contract in pyproject.toml holds
them to it), and no other feature imports it at all — cached views follow the rows they
show by themselves (:mod:`backend.scan.freshness`).
"""

from backend.scan.alerts import VoidedCode
from backend.scan.caching import page_key
from backend.scan.links import parse_link
from backend.scan.path import (
    ScanRequest,
    ScanResult,
    client_identity,
    not_a_scan,
    rate_limited,
    scan_limited,
    scan_limits,
    scan_path,
)
from backend.scan.recorder import FLUSH_TASK
from backend.scan.schemas import ScanArgsSchema, ScanLinkArgsSchema, ScanViewSchema
from backend.scan.setup import init_scan

__all__ = [
    "FLUSH_TASK",
    "ScanArgsSchema",
    "ScanLinkArgsSchema",
    "ScanRequest",
    "ScanResult",
    "ScanViewSchema",
    "VoidedCode",
    "client_identity",
    "init_scan",
    "not_a_scan",
    "page_key",
    "parse_link",
    "rate_limited",
    "scan_limited",
    "scan_limits",
    "scan_path",
]
