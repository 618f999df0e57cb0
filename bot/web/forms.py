"""Reading a dashboard form once, whatever its encoding.

The body guard (bot.channels.http_guard) reads every body within a deadline before a page
runs, which leaves aiohttp's `request.post()` nothing to parse for multipart/form-data (it
streams those from the socket). So a multipart form — the decision form with its PDF — is
parsed here from the body already read, with the standard library's MIME parser; an
urlencoded one goes through `request.post()` as before. Both are capped by the server's body
limit (1 MiB): a bigger one raises HTTPRequestEntityTooLarge, answered by `body_too_large`.
"""

from __future__ import annotations

import io
from email import policy
from email.parser import BytesParser

from aiohttp import web
from aiohttp.web_request import FileField
from multidict import CIMultiDict, CIMultiDictProxy, MultiDict, MultiDictProxy

Form = MultiDictProxy[str | bytes | bytearray | FileField]


async def read_form(request: web.Request) -> Form:
    """The form of a POST (the page wrapper reads it once and hands it to the page as
    `Viewer.form`)."""
    if request.content_type != "multipart/form-data":
        return await request.post()
    return _multipart(request.headers.get("Content-Type", ""), await request.read())


def _multipart(content_type: str, body: bytes) -> Form:
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", "replace")
    message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise web.HTTPBadRequest(text="Biểu mẫu gửi lên không đọc được.")
    fields: MultiDict[str | bytes | bytearray | FileField] = MultiDict()
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        data = part.get_payload(decode=True)
        payload = data if isinstance(data, bytes) else b""
        filename = part.get_filename()
        if filename is None:
            fields.add(name, payload.decode(part.get_content_charset() or "utf-8", "replace"))
            continue
        # Browsers send the file's name as raw UTF-8, which the parser keeps as surrogates.
        fields.add(name, FileField(
            name=name, filename=filename.encode("utf-8", "surrogateescape").decode(
                "utf-8", "replace"),
            file=io.BufferedReader(io.BytesIO(payload)),
            content_type=part.get_content_type(), headers=CIMultiDictProxy(CIMultiDict())))
    return MultiDictProxy(fields)
