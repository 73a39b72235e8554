"""The raw ceiling: what one bare aiohttp process can sign and POST to the receiver.

No hookline and no database: ``bench/ceiling.py`` in a subprocess, with the same body
hookline would render, so hookline / ceiling says what the platform costs on top.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from random import Random

from bench import harness, load
from bench.log import console
from bench.options import or_default
from bench.receiver import Receiver
from bench.results import Ceiling
from hookline.devtools.fake import fake_data
from hookline.domain.wire import render_body


def measure_ceiling(args: argparse.Namespace, receiver: Receiver, workdir: Path) -> Ceiling:
    data = fake_data(load.TOPIC, Random(args.seed))  # noqa: S311 - test data
    body = render_body(load.TOPIC, data, datetime.now(UTC), "Asia/Taipei")
    body_file = workdir / "ceiling-body.json"
    body_file.write_bytes(body)
    conc = or_default(args.worker_concurrency, "worker_concurrency")
    console.log(f"raw ceiling: aiohttp sign + POST, {conc} in flight, {args.ceiling_seconds:.0f} s")
    out = subprocess.run(  # noqa: S603 - our own command line
        [
            sys.executable,
            "-m",
            "bench.ceiling",
            "--url",
            receiver.base_url + "/hook/ceiling",
            "--body",
            str(body_file),
            "--seconds",
            str(args.ceiling_seconds),
            "--concurrency",
            str(conc),
        ],
        capture_output=True,
        text=True,
        cwd=harness.ROOT,
        check=False,
        timeout=args.ceiling_seconds + 60,
    )
    if out.returncode != 0:
        raise RuntimeError(f"the ceiling run failed:\n{out.stderr[-2000:]}")
    got = json.loads(out.stdout.strip().splitlines()[-1])
    ceiling = Ceiling(
        rate=got["rate"],
        requests=got["requests"],
        seconds=got["seconds"],
        concurrency=got["concurrency"],
        loop=got["loop"],
        peak_rss_kib=got["peak_rss_kib"],
        failures=got["failures"],
    )
    console.log(f"raw ceiling: [bold]{ceiling.rate:,.0f}[/bold] requests/s")
    return ceiling
