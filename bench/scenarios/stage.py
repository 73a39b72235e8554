"""What every phase of one backend's run works with: hookline, its tenant, the result."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

import aiohttp

from bench import harness, load
from bench.receiver import Receiver
from bench.results import BackendResult

# A throwaway local server's credentials: never a real secret.
OPERATOR_TOKEN = "hlo_bench_operator_token"  # noqa: S105
INGEST_TOKEN = "hli_bench_ingest_token"  # noqa: S105
SECRET_KEY = "bench secret key"  # noqa: S105


@dataclass
class Stage:
    """One backend's run in progress; the phases add their figures to ``result``."""

    args: argparse.Namespace
    receiver: Receiver
    data: list[dict[str, Any]]
    """Every event of the run, from one seed: the burst first, then the paced phases."""
    session: aiohttp.ClientSession
    backend: harness.Backend
    hookline: harness.Hookline
    tenant: load.Tenant
    result: BackendResult
