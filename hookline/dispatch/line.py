"""LINE's Messaging API push, and image fetches for open tracking, over aiohttp.

aiohttp rather than ``line-bot-sdk``: the push is one documented POST, the project
already depends on aiohttp with a tuned, SSRF-guarded connector, and the SDK would
bring a second HTTP stack (urllib3 or its own aiohttp session) for one call.

The LINE base URL is the operator's (``HOOKLINE_LINE_API_BASE``), so it is trusted
like the database's; image URLs are the marketers', so they go through the same
guard as webhook deliveries (``sender._GuardedResolver``): no private address, no
redirect, at most ``MAX_IMAGE_BYTES`` read.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import aiohttp
from yarl import URL

from hookline.dispatch.failures import BlockedAddressError
from hookline.dispatch.sender import guarded_session, guarded_url
from hookline.domain.messaging import FetchedImage, LinePushOutcome, PushResult
from hookline.domain.networks import IPNetwork
from hookline.domain.wire import USER_AGENT

log = logging.getLogger(__name__)

MAX_IMAGE_BYTES = 10 * 1024 * 1024  # LINE's own limit for an image message
PUSH_PATH = "/v2/bot/message/push"


def _line_error(status: int, body: bytes) -> LinePushOutcome:
    """LINE's ``{message, details: [{message, property}]}``, relayed as MAAC relays it."""
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or not isinstance(answer.get("message"), str):
        return LinePushOutcome(PushResult.REFUSED, f"LINE answered HTTP {status}.")
    details = [
        {"message": str(d.get("message", "")), "property": str(d.get("property", ""))}
        for d in answer.get("details") or []
        if isinstance(d, dict)
    ]
    return LinePushOutcome(PushResult.REFUSED, answer["message"], details)


async def _read_upto(stream: aiohttp.StreamReader, limit: int) -> bytes:
    data = bytearray()
    while len(data) < limit:
        chunk = await stream.read(limit - len(data))
        if not chunk:
            break
        data += chunk
    return bytes(data)


class LineGateway:
    """One session for LINE's API, one guarded session for marketers' images."""

    def __init__(
        self,
        api_base: str,
        *,
        allowed_networks: tuple[IPNetwork, ...] = (),
        timeout: float = 10.0,
    ) -> None:
        self.api_base = api_base.rstrip("/")
        self._allowed = allowed_networks
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._api: aiohttp.ClientSession | None = None
        self._images: aiohttp.ClientSession | None = None

    def _api_session(self) -> aiohttp.ClientSession:
        if self._api is None:
            self._api = aiohttp.ClientSession(timeout=self._timeout, trust_env=False)
        return self._api

    def _image_session(self) -> aiohttp.ClientSession:
        if self._images is None:
            self._images = guarded_session(self._allowed, self._timeout)
        return self._images

    async def push(
        self, channel_token: str, to: str, messages: list[Any], retry_key: str
    ) -> LinePushOutcome:
        headers = {
            "Authorization": f"Bearer {channel_token}",
            "X-Line-Retry-Key": retry_key,
            "User-Agent": USER_AGENT,
        }
        body = {"to": to, "messages": messages}
        try:
            async with self._api_session().post(
                self.api_base + PUSH_PATH, json=body, headers=headers, allow_redirects=False
            ) as response:
                answer = await _read_upto(response.content, 64 * 1024)
                status = response.status
        except TimeoutError:
            return LinePushOutcome(PushResult.TIMEOUT)
        except aiohttp.ClientError as exc:
            log.warning("LINE push failed: %s", type(exc).__name__)
            return LinePushOutcome(PushResult.ERROR)
        if status == 200 or status == 409:  # 409: this retry key was accepted before
            return LinePushOutcome(PushResult.SUCCESS)
        if 400 <= status < 500:
            return _line_error(status, answer)
        return LinePushOutcome(PushResult.ERROR)

    def _target(self, raw: str) -> URL:
        return guarded_url(raw, self._allowed, refusal="only http and https images are fetched")

    async def fetch_image(self, url: str) -> FetchedImage | None:
        """The image's bytes, or None when it is refused, missing, too big or not an image."""
        try:
            target = self._target(url)
            async with self._image_session().get(target, allow_redirects=False) as response:
                kind = response.headers.get("Content-Type", "")
                body = await _read_upto(response.content, MAX_IMAGE_BYTES + 1)
                ok = response.status == 200 and kind.startswith("image/")
        except (BlockedAddressError, ValueError, TimeoutError, aiohttp.ClientError, OSError) as exc:
            log.warning("tracked image not fetched: %s", type(exc).__name__)
            return None
        if not ok or len(body) > MAX_IMAGE_BYTES:
            return None
        return FetchedImage(kind.split(";")[0].strip(), body)

    async def close(self) -> None:
        for session in (self._api, self._images):
            if session is not None:
                await session.close()
        self._api = self._images = None
