"""An app served by uvicorn on loopback in a thread: real HTTP for clients that fetch
URLs the app made (LINE clients opening tracked images), with its lifespan running."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from tests.support.process import wait_until


@contextmanager
def serving(app: FastAPI, port: int) -> Iterator[str]:
    """``app`` on 127.0.0.1:``port`` until the block ends; yields its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="live-app", daemon=True)
    thread.start()
    try:
        wait_until("the app to serve", lambda: server.started or not thread.is_alive(), 60)
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(20)
