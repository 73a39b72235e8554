"""The webhook receiver the benchmark delivers to: as cheap per request as we can make it.

Debian's nginx when it is installed (``/usr/sbin/nginx``): a generated config in a temp
dir, one worker process, no access log, keep-alive, ``return 200 "OK"`` for every
request and ``stub_status`` on ``/__stats`` for the request count.

Otherwise the built-in one below, run as its own process (``python -m bench.receiver
--port P``): an asyncio Protocol on uvloop that reads the request line, the headers and
a Content-Length body, answers ``200 OK`` on the same keep-alive connection and counts.
``GET /__stats`` answers the count. It parses only what a webhook POST needs (no
chunked bodies); it exists to be fast, not general.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

NGINX = "/usr/sbin/nginx"
STATS_PATH = "/__stats"

_OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nOK"
_HEAD_END = b"\r\n\r\n"


class _Counter:
    requests = 0


class _Http(asyncio.Protocol):
    """One keep-alive connection: parse requests as they complete, answer each with 200."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        out: list[bytes] = []
        close = False
        while True:
            end = buf.find(_HEAD_END)
            if end < 0:
                break
            head = bytes(buf[:end])
            length = 0
            lower = head.lower()
            at = lower.find(b"\r\ncontent-length:")
            if at >= 0:
                stop = lower.find(b"\r\n", at + 2)
                length = int(lower[at + 17 : stop if stop >= 0 else None].strip())
            total = end + 4 + length
            if len(buf) < total:
                break
            del buf[:total]
            if head.startswith(b"GET " + STATS_PATH.encode()):
                text = f"requests {_Counter.requests}\n".encode()
                out.append(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
                    + str(len(text)).encode()
                    + b"\r\n\r\n"
                    + text
                )
            else:
                _Counter.requests += 1
                out.append(_OK)
            if b"\r\nconnection: close" in lower:
                close = True
                break
        if out and self.transport is not None:
            self.transport.write(b"".join(out))
            if close:
                self.transport.close()


async def _serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Http, host, port, backlog=4096, reuse_address=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"receiver listening on {host}:{port}", flush=True)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Minimal HTTP/1.1 200-OK receiver.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    try:
        import uvloop

        uvloop.run(_serve(args.host, args.port))
    except ImportError:
        asyncio.run(_serve(args.host, args.port))


# -- managing it from the benchmark ---------------------------------------------------

_NGINX_CONF = """\
worker_processes 1;
daemon off;
master_process on;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 4096; multi_accept on; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    client_body_buffer_size 256k;
    client_max_body_size 1m;
    keepalive_timeout 120s;
    keepalive_requests 10000000;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location = {stats} {{ stub_status; }}
        location / {{ default_type text/plain; return 200 "OK"; }}
    }}
}}
"""


class Receiver:
    """A running receiver process: its URL, request count and peak RSS."""

    def __init__(self, port: int, workdir: Path, *, prefer_nginx: bool = True) -> None:
        self.port = port
        self.workdir = workdir
        self.kind = "nginx" if prefer_nginx and Path(NGINX).exists() else "built-in"
        self.proc: subprocess.Popen[bytes] | None = None
        self.version = ""
        self._polls = 0  # nginx counts our stats requests among its requests

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = (self.workdir / "receiver.log").open("wb")
        if self.kind == "nginx":
            tmp = self.workdir / "nginx"
            tmp.mkdir(parents=True, exist_ok=True)
            conf = tmp / "nginx.conf"
            conf.write_text(_NGINX_CONF.format(tmp=tmp, port=self.port, stats=STATS_PATH))
            out = subprocess.run([NGINX, "-v"], capture_output=True, text=True, check=False)  # noqa: S603
            self.version = (out.stderr or out.stdout).strip().split(":", 1)[-1].strip()
            cmd = [NGINX, "-p", str(tmp), "-c", str(conf), "-e", str(tmp / "error.log")]
        else:
            self.version = "bench/receiver.py (asyncio Protocol"
            try:
                import uvloop

                self.version += f", uvloop {uvloop.__version__})"
            except ImportError:
                self.version += ")"
            cmd = [sys.executable, "-m", "bench.receiver", "--port", str(self.port)]
        self.proc = subprocess.Popen(  # noqa: S603 - our own command line
            cmd, stdout=log, stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parent.parent
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the {self.kind} receiver exited; see {log.name}")
            with contextlib.suppress(OSError):
                self.requests()
                return
            time.sleep(0.05)
        raise RuntimeError(f"the {self.kind} receiver did not answer within 10 s")

    def requests(self) -> int:
        """Requests served so far, not counting these stats requests themselves."""
        with urllib.request.urlopen(self.base_url + STATS_PATH, timeout=5) as response:  # noqa: S310
            text = response.read().decode()
        if self.kind == "nginx":
            self._polls += 1
            # "server accepts handled requests\n A H R\n": R counts this one and earlier ones
            match = re.search(r"requests\s*\n\s*(\d+)\s+(\d+)\s+(\d+)", text)
            if not match:
                raise OSError(f"unreadable stub_status: {text!r}")
            return int(match.group(3)) - self._polls
        match = re.search(r"requests (\d+)", text)
        if not match:
            raise OSError(f"unreadable stats: {text!r}")
        return int(match.group(1))

    def pids(self) -> list[int]:
        """The receiver's processes: nginx's master and worker, or the built-in one."""
        if self.proc is None:
            return []
        found = [self.proc.pid]
        with contextlib.suppress(OSError):
            for child in Path(f"/proc/{self.proc.pid}/task").iterdir():
                children = child / "children"
                if children.exists():
                    found += [int(p) for p in children.read_text().split()]
        return found

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM if self.kind == "built-in" else signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self.kind == "nginx":
            shutil.rmtree(self.workdir / "nginx", ignore_errors=True)


def nginx_available() -> bool:
    return Path(NGINX).exists() and os.access(NGINX, os.X_OK)


if __name__ == "__main__":
    main()
