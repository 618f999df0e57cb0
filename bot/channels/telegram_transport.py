"""An aiohttp transport for python-telegram-bot (throughput).

PTB's default transport is httpx; on a 2-core machine a bare echo bot spent most of its time
there. aiohttp is already in our stack and measured ~2.5x faster (see the platform notes), so
`build_application` uses this for every Bot API call. It follows HTTPXRequest's contract
(multipart when files are attached, TimedOut on timeouts and NetworkError on connection
trouble, without the URL, which carries the token) except that other requests go as one JSON
body, which the Bot API accepts and which costs less than encoding every field as a form.
JSON is written and read with orjson.
`JsonData` lets the reply path call a method with a plain dict (keyboards included) through
`BaseRequest.post`, so PTB still maps errors, and nobody builds a `Message` from the answer.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import orjson
from telegram.error import NetworkError, TelegramError, TimedOut
from telegram.request import BaseRequest, RequestData

Timeout = Any  # float | None | PTB's DefaultValue marker
JSON_HEADERS = {"Content-Type": "application/json"}


# PTB marks RequestData final (for typing only); a subclass lets `BaseRequest.post` keep
# PTB's mapping of Bot API errors for a body PTB's own objects did not build.
class JsonData(RequestData):  # type: ignore[misc]
    """The parameters of one Bot API call as a plain JSON-ready dict (no files)."""

    def __init__(self, parameters: dict[str, Any]) -> None:
        super().__init__()
        self._plain = {key: value for key, value in parameters.items() if value is not None}

    @property
    def parameters(self) -> dict[str, Any]:
        """The parameters, as given."""
        return self._plain


class AiohttpRequest(BaseRequest):
    """One aiohttp session per Bot API client (requests, or long-polling getUpdates)."""

    def __init__(self, *, pool_size: int = 16, read_timeout: float | None = 5.0,
                 write_timeout: float | None = 5.0, connect_timeout: float | None = 5.0,
                 media_write_timeout: float | None = 20.0) -> None:
        self._pool_size = pool_size
        self._read = read_timeout
        self._write = write_timeout
        self._connect = connect_timeout
        self._media_write = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout (PTB adds it to getUpdates' long-poll timeout)."""
        return self._read

    async def initialize(self) -> None:
        """Open the session (idempotent)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size))

    async def shutdown(self) -> None:
        """Close the session (idempotent)."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Timeout = BaseRequest.DEFAULT_NONE,
                         write_timeout: Timeout = BaseRequest.DEFAULT_NONE,
                         connect_timeout: Timeout = BaseRequest.DEFAULT_NONE,
                         pool_timeout: Timeout = BaseRequest.DEFAULT_NONE) -> tuple[int, bytes]:
        """One HTTP request; returns (status, body)."""
        if self._session is None:
            raise RuntimeError("AiohttpRequest is not initialized")
        files = request_data is not None and request_data.contains_files
        read = self._pick(read_timeout, self._read)
        write = self._pick(write_timeout, self._media_write if files else self._write)
        connect = self._pick(connect_timeout, self._connect)
        # aiohttp has no separate write timeout: the whole request may take read + write.
        total = None if read is None or write is None else read + write + (connect or 0)
        timeout = aiohttp.ClientTimeout(total=total, sock_connect=connect, sock_read=read)
        try:
            async with self._session.request(method, url, data=_body(request_data),
                                             headers=_headers(request_data),
                                             timeout=timeout) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut("Timed out talking to the Bot API") from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp: {type(exc).__name__}") from exc
        except asyncio.CancelledError:
            raise

    @staticmethod
    def parse_json_payload(payload: bytes) -> dict[str, Any]:
        """The Bot API's answer, parsed by orjson (several times faster than json.loads)."""
        try:
            parsed: dict[str, Any] = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            raise TelegramError("Invalid server response") from exc
        return parsed

    @staticmethod
    def _pick(value: Timeout, default: float | None) -> float | None:
        if value is BaseRequest.DEFAULT_NONE:
            return default
        return float(value) if value is not None else None


def _headers(request_data: RequestData | None) -> dict[str, str] | None:
    if request_data is None or request_data.contains_files:
        return None  # a download (GET), or multipart: aiohttp writes the content type
    return JSON_HEADERS


def _body(request_data: RequestData | None) -> Any:
    if request_data is None:
        return None
    if not request_data.contains_files:
        return orjson.dumps(request_data.parameters)
    params = request_data.json_parameters
    form = aiohttp.FormData()
    for name, value in params.items():
        form.add_field(name, value)
    for name, part in request_data.multipart_data.items():
        filename, content = part[0], part[1]
        mime = part[2] if len(part) > 2 else "application/octet-stream"
        form.add_field(name, content, filename=filename, content_type=mime)
    return form
