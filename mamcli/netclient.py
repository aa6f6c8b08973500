"""The one HTTP client of every live path (SPEC §9 "Network safety"): imported only when the network is used.

- `https` only, except to loopback hosts (127.0.0.0/8, ::1, localhost) where `http` is allowed; credentials in
  the URL, other schemes and malformed URLs are input errors (`check_url`).
- Redirects are never followed (http.client does not follow them; urllib would): a 3xx is an error naming
  the status and the Location.  Requests go to the base URL's own host and nowhere else, so the API key and a
  signed query reach that host only; the key header is sent only on signed or keyed requests.
- One deadline per request covers connect, TLS, request, headers and body: every socket read and write is
  given the time that remains (`_DeadlineSocket`), so a server dripping a byte a second is cut off.
- Bodies are capped at 64 MiB (a larger Content-Length is refused before reading; an endless body is cut at
  the cap) and decoded through the JSON door (`mamcli.jsonin`).
- Every message is one line, server text (Binance `msg`, Location, reasons) escaped; the secret is used only
  inside the HMAC and appears in no message, URL, repr or exception.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlencode, urlsplit

from mamcli.jsonin import MAX_BYTES, parse_json, too_large
from mamcli.model import InputError
from mamcli.text import escape

if TYPE_CHECKING:
    import http.client
    import socket

DEFAULT_TIMEOUT = 10.0
RECV_WINDOW = 5000
USER_AGENT = "mamcli"
CHUNK = 1024 * 1024
ERROR_BODY_BYTES = 64 * 1024  # an error body is read for its code and msg only

Params = Mapping[str, object] | None


class Endpoint(NamedTuple):
    """A checked base URL: scheme, host (no brackets), port, path prefix (no trailing slash)."""

    scheme: str
    host: str
    port: int
    prefix: str

    @property
    def secure(self) -> bool:
        return self.scheme in ("https", "wss")

    def url(self, path: str = "") -> str:
        """The URL of `path` under this endpoint (for messages and WebSocket clients; never holds a secret)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.secure else 80
        port = "" if self.port == default else f":{self.port}"
        return f"{self.scheme}://{host}{port}{self.prefix}{path}"


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and localhost: the hosts where plain http/ws is allowed."""
    import ipaddress

    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, option: str = "--base-url", secure: str = "https", plain: str = "http") -> Endpoint:
    """`url` as an Endpoint, or an InputError naming `option`.  For WebSocket URLs pass secure="wss", plain="ws"."""
    shown = escape(url)
    if not url or not url.isprintable() or any(c.isspace() for c in url):
        raise InputError([f"{option}: {shown!s} is not a usable URL (empty, spaces or control characters)"])
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as err:
        raise InputError([f"{option}: {shown} is not a usable URL ({escape(err)})"]) from None
    scheme = parts.scheme.lower()
    if scheme not in (secure, plain):
        raise InputError([f"{option}: {shown}: only {secure}:// URLs (or {plain}:// to a loopback host) are accepted"])
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        raise InputError(
            [f"{option}: a URL with credentials in it is refused; the key and secret come from the environment only"]
        )
    host = parts.hostname or ""
    if not host or parts.query or parts.fragment or "\\" in url:
        raise InputError([f"{option}: {shown} is not a usable URL (expected {secure}://HOST[:PORT][/PATH])"])
    if scheme == plain and not is_loopback(host):
        raise InputError(
            [
                f"{option}: {shown}: {plain}:// is allowed only to a loopback host (127.0.0.1, ::1, localhost); use {secure}://"
            ]
        )
    default = 443 if scheme == secure else 80
    return Endpoint(scheme, host, port or default, parts.path.rstrip("/"))


def check_timeout(value: object, option: str = "--timeout") -> float:
    """A finite, positive number of seconds (at most a day)."""
    try:
        seconds = float(str(value))
    except ValueError:
        raise InputError([f"{option}: expected a number of seconds, got {escape(value)!r}"]) from None
    if not 0 < seconds <= 86400:  # NaN fails this too
        raise InputError([f"{option}: {escape(value)}: expected a number of seconds above 0 (at most 86400)"])
    return seconds


def sign(query: str, secret: str) -> str:
    """Binance's signature: hex HMAC-SHA256 of the query string under the secret."""
    return hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()


class Reply(NamedTuple):
    """A 2xx answer: `body` (decoded JSON, numbers as Decimal) and `headers` (names in lower case)."""

    body: object
    headers: dict[str, str]

    @property
    def date(self) -> datetime | None:
        """The HTTP Date header as an aware UTC datetime, or None when absent or unreadable."""
        from email.utils import parsedate_to_datetime

        text = self.headers.get("date")
        if not text:
            return None
        try:
            stamp = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=UTC)
        return stamp.astimezone(UTC)


class _Expired(TimeoutError):
    """The request's deadline has passed."""


def _arm(sock: socket.socket, deadline: float) -> None:
    """Give the socket's next operation only the time that remains before the deadline."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _Expired()
    sock.settimeout(remaining)


class _DeadlineRaw(io.RawIOBase):
    """The raw stream under http.client's buffered reader: every read re-armed from the deadline."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__()
        self.sock = sock
        self.deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        _arm(self.sock, self.deadline)
        return self.sock.recv_into(buffer)


class _DeadlineSocket:
    """Stands in for the connection's socket: every send and read bounded by the request's one deadline."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock = sock
        self.deadline = deadline

    def sendall(self, data: bytes) -> None:
        _arm(self.sock, self.deadline)
        self.sock.sendall(data)  # since Python 3.5 the timeout bounds the whole sendall

    def makefile(self, mode: str = "rb", *args: object, **kwargs: object) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineRaw(self.sock, self.deadline), 64 * 1024)

    def close(self) -> None:
        """http.client closes the connection before the body is read (HTTP/1.0, Connection: close), trusting a
        real socket to stay open while its file is in use; the request closes the real socket when done."""


class Client:
    """One base URL, one timeout, optionally a key and secret; one connection and one deadline per request.

    `get`/`post`/`put`/`delete` return a Reply for a 2xx answer and raise InputError (one line, labelled
    `METHOD PATH`) for everything else: no answer in time, a redirect, an HTTP or Binance error, a body over the
    cap or not JSON under the JSON door's rules.
    """

    def __init__(
        self,
        base_url: str,
        timeout: float | str = DEFAULT_TIMEOUT,
        key: str | None = None,
        secret: str | None = None,
        *,
        option: str = "--base-url",
        clock: Callable[[], float] = time.time,
        recv_window: int = RECV_WINDOW,
    ) -> None:
        self.endpoint = check_url(base_url, option)
        self.timeout = check_timeout(timeout)
        self._key = key
        self._secret = secret
        self._clock = clock
        self.recv_window = recv_window

    def __repr__(self) -> str:  # never the key or secret
        return f"Client({self.endpoint.url()!r}, timeout={self.timeout:g})"

    @property
    def base_url(self) -> str:
        return self.endpoint.url()

    def get(self, path: str, params: Params = None, signed: bool = False, keyed: bool = False) -> Reply:
        return self.request("GET", path, params, signed=signed, keyed=keyed)

    def post(self, path: str, params: Params = None, signed: bool = False, keyed: bool = False) -> Reply:
        return self.request("POST", path, params, signed=signed, keyed=keyed)

    def put(self, path: str, params: Params = None, signed: bool = False, keyed: bool = False) -> Reply:
        return self.request("PUT", path, params, signed=signed, keyed=keyed)

    def delete(self, path: str, params: Params = None, signed: bool = False, keyed: bool = False) -> Reply:
        return self.request("DELETE", path, params, signed=signed, keyed=keyed)

    def request(
        self, method: str, path: str, params: Params = None, *, signed: bool = False, keyed: bool = False
    ) -> Reply:
        """`signed`: timestamp, recvWindow and signature added, key header sent; `keyed`: key header only
        (listenKey).  Parameters travel in the query string, as Binance accepts for every method."""
        if not path.startswith("/") or path.startswith("//"):
            raise ValueError("path must be absolute on the base URL's host")  # a programming error, never input
        label = f"{method} {path}"
        query = urlencode({k: _param(v) for k, v in (params or {}).items()})
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if signed or keyed:
            if not self._key or (signed and not self._secret):
                raise InputError([f"{label}: needs MAMCLI_API_KEY and MAMCLI_API_SECRET in the environment"])
            headers["X-MBX-APIKEY"] = self._key
        if signed:
            stamp = urlencode({"recvWindow": self.recv_window, "timestamp": int(self._clock() * 1000)})
            query = f"{query}&{stamp}" if query else stamp
            query += "&signature=" + sign(query, self._secret or "")
        target = self.endpoint.prefix + path + ("?" + query if query else "")
        status, reason, reply_headers, body = self._exchange(method, target, headers, label)
        if 200 <= status < 300:
            return Reply(parse_json(body, label), reply_headers)
        raise InputError([_failure(label, status, reason, reply_headers, body)])

    def _exchange(
        self, method: str, target: str, headers: dict[str, str], label: str
    ) -> tuple[int, str, dict[str, str], bytes | bytearray]:
        import http.client
        import socket
        import ssl

        deadline = time.monotonic() + self.timeout
        host, port = self.endpoint.host, self.endpoint.port
        conn = http.client.HTTPConnection(host, port)  # given our own socket below: its connect() is never used
        conn.default_port = 443 if self.endpoint.secure else 80  # Host header: no :443
        sock: socket.socket | None = None
        try:
            sock = socket.create_connection((host, port), timeout=self.timeout)
            if self.endpoint.secure:
                _arm(sock, deadline)  # the handshake, however many reads it takes, within what remains
                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
            conn.sock = _DeadlineSocket(sock, deadline)
            conn.request(method, target, headers=headers)
            response = conn.getresponse()
            reply_headers = {k.lower(): v for k, v in response.getheaders()}
            if 300 <= response.status < 400:
                body: bytes | bytearray = b""  # a redirect's body is never read
            else:
                body = _read_body(response, label, MAX_BYTES if response.status < 300 else ERROR_BODY_BYTES)
            return response.status, response.reason, reply_headers, body
        except TimeoutError:
            raise InputError([f"{label}: no complete answer within {self.timeout:g} s (--timeout)"]) from None
        except ssl.SSLCertVerificationError as err:
            why = escape(err.verify_message or err)
            raise InputError([f"{label}: the server's TLS certificate is not trusted ({why})"]) from None
        except ssl.SSLError as err:
            raise InputError([f"{label}: TLS failed ({escape(err.reason or err)})"]) from None
        except http.client.RemoteDisconnected:
            raise InputError([f"{label}: the server closed the connection without an answer"]) from None
        except http.client.HTTPException as err:
            what = type(err).__name__
            raise InputError([f"{label}: the server's answer is not valid HTTP ({what})"]) from None
        except OSError as err:  # refused, reset, unreachable, name not found
            raise InputError([f"{label}: cannot reach the server ({escape(err.strerror or err)})"]) from None
        finally:
            conn.close()
            if sock is not None:
                sock.close()


def _param(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _read_body(response: http.client.HTTPResponse, label: str, cap: int) -> bytearray:
    """The body, at most `cap` bytes.  A success body over the cap is an error (a larger Content-Length is refused
    unread, an endless body cut at cap + 1); an error body is only ever wanted for its first bytes."""
    length = (response.getheader("Content-Length") or "").strip()
    if cap == MAX_BYTES and length.isdigit() and (len(length) > 12 or int(length) > MAX_BYTES):
        raise too_large(label)
    body = bytearray()
    while len(body) <= cap:
        chunk = response.read(min(CHUNK, cap + 1 - len(body)))
        if not chunk:
            return body
        body += chunk
    if cap < MAX_BYTES:
        return body[:cap]
    raise too_large(label)


def _failure(label: str, status: int, reason: str, headers: Mapping[str, str], body: bytes | bytearray) -> str:
    """One line for a non-2xx answer: a redirect with its Location, a Binance error with code and msg, or the status."""
    if 300 <= status < 400:
        location = headers.get("location")
        where = f" to {escape(location[:300])}" if location else " (no Location)"
        return (
            f"{label}: the server answered {status} {escape(reason)}, a redirect{where}; mamcli never follows redirects"
        )
    try:
        err = parse_json(body, label) if body else None
    except InputError:
        err = None
    if isinstance(err, dict) and "code" in err and not isinstance(err["code"], (dict, list)):
        msg = err.get("msg", "")
        text = f": {escape(msg)}" if isinstance(msg, str) and msg else ""
        return f"{label}: Binance error {escape(err['code'])}{text}"
    return f"{label}: HTTP {status} {escape(reason)}".rstrip()
