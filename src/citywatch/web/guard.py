"""`RequestGuard`: pure ASGI middleware that screens every request before FastAPI sees it.

In order, before a byte of the body is read:

1. Public routes (the dashboard page and its static files, ``/api/health``, the docs
   when enabled) pass without a token but may not carry a body.
2. Every other route except sign-in needs a bearer token with a valid signature and
   expiry (checked here with no database access; `deps.authorize` then checks the
   user, its token version and role). Without one the answer is 401 — before the body is
   read, so an anonymous caller can neither make the server parse 200 MB nor learn
   the API's validation rules from 422s.
3. A body must have the content type its route takes (JSON; multipart for the upload)
   else 415, and a declared ``Content-Length`` over the route's cap is refused with 413.
4. While the body streams in, it is counted; past the cap the request is cut off with
   413 (chunked bodies cannot slip past the declared-length check).

Every response gets the security headers (CSP, frame and sniffing protection, referrer
policy) and API responses ``Cache-Control: no-store``. Refusals are audited.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio
from starlette.exceptions import HTTPException

from citywatch.web.security import AuthError, read_token

__all__ = ["SECURITY_HEADERS", "RequestGuard"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOGIN = "/api/auth/token"
UPLOAD = "/api/scenarios/upload"
_LOGIN_BYTES = 4096
_MULTIPART_OVERHEAD = 64 * 1024
#: Headers on every response.
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy",
     b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
     b"img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; "
     b"frame-ancestors 'none'; form-action 'self'"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"geolocation=(), camera=(), microphone=()"),
)
_NO_STORE = (b"cache-control", b"no-store")


class _TooLarge(HTTPException):
    """Raised from `receive` past the cap; an HTTPException so FastAPI's body parsing
    passes it on (as a 413) instead of calling it a malformed body."""

    def __init__(self, cap: int) -> None:
        super().__init__(413, f"request body larger than {cap} bytes")


class RequestGuard:
    """Authentication presence, size and content-type limits before the body is read.

    Parameters
    ----------
    app
        The ASGI app to guard (FastAPI's, with ``state`` holding settings and keys).
    """

    def __init__(self, app: ASGIApp, state: Any) -> None:
        self.app = app
        self.state = state

    def _public(self, method: str, path: str) -> bool:
        if method not in ("GET", "HEAD"):
            return False
        if path in ("/", "/api/health") or path.startswith("/static/"):
            return True
        return bool(self.state.settings.docs) and (
            path in ("/openapi.json", "/docs", "/redoc") or path.startswith("/docs/"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        method: str = scope["method"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        secure_send = self._with_headers(send, api=path.startswith("/api/"))
        refusal = self._screen(method, path, headers)
        if refusal is not None:
            status, message, actor = refusal
            await self._audit(scope, status, message, actor)
            await self._reply(secure_send, status, message)
            return
        cap = self._cap(path)
        seen = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > cap:
                    await self._audit(scope, 413, f"body larger than {cap} bytes", "")
                    raise _TooLarge(cap)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await secure_send(message)

        try:
            await self.app(scope, counted_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._reply(secure_send, 413, f"request body larger than {cap} bytes")

    def _cap(self, path: str) -> int:
        settings = self.state.settings
        if path == LOGIN:
            return _LOGIN_BYTES
        if path == UPLOAD:
            return int(settings.max_upload_bytes) + _MULTIPART_OVERHEAD
        return int(settings.max_body_bytes)

    def _screen(self, method: str, path: str,
                headers: dict[str, str]) -> tuple[int, str, str] | None:
        """(status, message, actor) of a refusal, or None to let the request in."""
        length_text = headers.get("content-length")
        has_body = headers.get("transfer-encoding", "") != "" or (
            length_text is not None and length_text.strip() not in ("", "0"))
        if self._public(method, path):
            return (413, "this route takes no request body", "") if has_body else None
        actor = ""
        if path != LOGIN:
            auth = headers.get("authorization", "")
            scheme, _, token = auth.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return 401, "sign in first", ""
            try:
                actor = read_token(token.strip(), self.state.token_key).name
            except AuthError as err:
                return 401, str(err), ""
        if not has_body:
            return None
        try:
            length = int(length_text) if length_text is not None else None
        except ValueError:
            return 400, "Content-Length is not a number", actor
        cap = self._cap(path)
        if length is not None and length > cap:
            return 413, f"request body larger than {cap} bytes", actor
        ctype = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        want = "multipart/form-data" if path == UPLOAD else "application/json"
        if ctype != want:
            return 415, f"Content-Type must be {want}, got {ctype or 'none'}", actor
        return None

    async def _audit(self, scope: Scope, status: int, message: str, actor: str) -> None:
        from citywatch.web.deps import audit_denial

        client = scope.get("client")
        app = scope.get("app")
        if app is None:
            return
        try:
            await anyio.to_thread.run_sync(lambda: audit_denial(
                app, actor=actor, status=status, method=scope["method"], path=scope["path"],
                source=client[0] if client else "", reason=message))
        except Exception:  # noqa: BLE001  (an audit failure must not turn a 401 into a 500)
            import logging

            logging.getLogger("citywatch.web").exception("could not audit a refusal")

    @staticmethod
    def _with_headers(send: Send, *, api: bool) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers += [h for h in SECURITY_HEADERS if h[0] not in names]
                if api and b"cache-control" not in names:
                    headers.append(_NO_STORE)
                message["headers"] = headers
            await send(message)

        return wrapped

    @staticmethod
    async def _reply(send: Send, status: int, message: str) -> None:
        import json

        body = json.dumps({"detail": message}).encode()
        headers = [(b"content-type", b"application/json"),
                   (b"content-length", str(len(body)).encode())]
        if status == 401:
            headers.append((b"www-authenticate", b"Bearer"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
