"""Network safety on the live path (SPEC §9 "Network safety", issue 8 item 5): redirects, deadlines, body caps,
NaN bodies, escaped Binance messages, URL rules, the secret nowhere.  Every server here listens on 127.0.0.1
inside the test; nothing reaches the internet, and our own client is never mocked."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from mamcli.cli import main
from mamcli.model import InputError
from mamcli.netclient import Client, check_url

ROOT = Path(__file__).parent.parent
PAYLOADS = Path(__file__).parent / "payloads"
KEY, SECRET = "test-key-123", "test-secret-456"
ENV = {"MAMCLI_API_KEY": KEY, "MAMCLI_API_SECRET": SECRET}
ROUTES = {
    "/fapi/v2/account": "account_v2.json",
    "/fapi/v2/positionRisk": "positionRisk_v2.json",
    "/fapi/v1/assetIndex": "assetIndex.json",
    "/fapi/v1/leverageBracket": "leverageBracket.json",
    "/fapi/v1/multiAssetsMargin": "multiAssetsMargin.json",
    "/fapi/v1/exchangeInfo": "exchangeInfo.json",
}


def invoke(*args: str, env: dict[str, str | None] | None = None):  # type: ignore[no-untyped-def]
    r = CliRunner().invoke(main, list(args), env=ENV if env is None else env)
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert SECRET not in r.stdout + r.stderr
    return r


def one_error_line(r) -> str:  # type: ignore[no-untyped-def]
    """The run failed as input errors do: exit 2, nothing on stdout, exactly one line on stderr."""
    assert (r.exit_code, r.stdout) == (2, ""), (r.exit_code, r.stdout, r.stderr)
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mamcli: error: "), r.stderr
    assert "\x1b" not in r.stderr and "Traceback" not in r.stderr
    return str(lines[0])


# ------------------------------------------------------------------------------------------ servers


class Recorder(BaseHTTPRequestHandler):
    """Serves the recorded payloads; `answer` may replace the answer to a path; records every request."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        server = self.server
        server.seen.append((self.command, self.path, dict(self.headers.items())))  # type: ignore[attr-defined]
        path = self.path.split("?")[0]
        status, headers, body = server.answer(path)  # type: ignore[attr-defined]
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_PUT = do_GET


def recorded(path: str) -> tuple[int, dict[str, str], bytes]:
    if path in ROUTES:
        return 200, {"Content-Type": "application/json"}, (PAYLOADS / ROUTES[path]).read_bytes()
    return 404, {}, b'{"code": -5000, "msg": "Path not found"}'


@pytest.fixture
def http_server() -> Iterator[Callable[..., tuple[str, list[tuple[str, str, dict[str, str]]]]]]:
    """start(answer) → (base URL, list of (method, path with query, headers) the server saw)."""
    servers: list[ThreadingHTTPServer] = []

    def start(answer: Callable[[str], tuple[int, dict[str, str], bytes]] = recorded):  # type: ignore[no-untyped-def]
        server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
        server.seen = []  # type: ignore[attr-defined]
        server.answer = answer  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}", server.seen  # type: ignore[attr-defined]

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def raw_server() -> Iterator[Callable[[Callable[[socket.socket], None]], str]]:
    """start(handler) → base URL of a one-connection-at-a-time server running handler(conn) per connection."""
    listeners: list[socket.socket] = []
    stop = threading.Event()

    def start(handler: Callable[[socket.socket], None]) -> str:
        listener = socket.create_server(("127.0.0.1", 0))
        listener.settimeout(0.2)
        listeners.append(listener)

        def serve() -> None:
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except (TimeoutError, OSError):
                    continue
                with conn:
                    conn.settimeout(5)
                    try:
                        conn.recv(65536)  # the request (small: a GET with no body)
                        handler(conn)
                    except OSError:
                        pass  # the client hung up: what these servers are here to provoke

        threading.Thread(target=serve, daemon=True).start()
        return f"http://127.0.0.1:{listener.getsockname()[1]}"

    yield start
    stop.set()
    for listener in listeners:
        listener.close()


def drip(body: bytes, seconds: float, stop_after: float = 120) -> Callable[[socket.socket], None]:
    def handler(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body))
        started = time.monotonic()
        for byte in body:
            time.sleep(seconds)
            conn.sendall(bytes([byte]))
            if time.monotonic() - started > stop_after:
                return

    return handler


def endless(head: bytes) -> Callable[[socket.socket], None]:
    def handler(conn: socket.socket) -> None:
        conn.sendall(head)
        block = b" " * 65536  # JSON whitespace, forever
        for _ in range(1 << 20):  # 64 GiB: far beyond the cap; the client hangs up long before
            conn.sendall(block)

    return handler


# ------------------------------------------------------------------------------------------ redirects


def test_a_redirect_is_not_followed_and_the_second_host_sees_nothing(http_server):  # type: ignore[no-untyped-def]
    second, second_seen = http_server()
    location = f"{second}/fapi/v2/account?steal=1&x=\x1b[31m"

    def redirect(path: str) -> tuple[int, dict[str, str], bytes]:
        return 302, {"Location": location}, b""

    first, first_seen = http_server(redirect)
    r = invoke("import", "--live", "--base-url", first)
    line = one_error_line(r)
    assert line == (
        "mamcli: error: GET /fapi/v2/account: the server answered 302 Found, a redirect to "
        f"{second}/fapi/v2/account?steal=1&x=\\x1b[31m; mamcli never follows redirects"
    )
    assert second_seen == []  # no request at all: so no X-MBX-APIKEY and no signature there
    assert len(first_seen) == 1 and first_seen[0][2]["X-MBX-APIKEY"] == KEY  # the base host, and only it


def test_every_3xx_is_refused(http_server):  # type: ignore[no-untyped-def]
    for status in (301, 303, 307, 308):
        base, _ = http_server(lambda path, s=status: (s, {"Location": "https://elsewhere.example/"}, b""))
        line = one_error_line(invoke("import", "--live", "--base-url", base))
        assert f" {status} " in line and "https://elsewhere.example/" in line


def test_the_key_goes_only_with_signed_requests(http_server):  # type: ignore[no-untyped-def]
    base, seen = http_server()
    r = invoke("import", "--live", "--base-url", base)
    assert r.exit_code == 0, r.stderr
    keyed = {path.split("?")[0]: "X-MBX-APIKEY" in headers for _, path, headers in seen}
    assert keyed == {
        "/fapi/v2/account": True,
        "/fapi/v2/positionRisk": True,
        "/fapi/v1/assetIndex": False,  # public: no key, no signature
        "/fapi/v1/leverageBracket": True,
        "/fapi/v1/multiAssetsMargin": True,
        "/fapi/v1/exchangeInfo": False,  # public too
    }
    assert all(SECRET not in path for _, path, _ in seen)


# ------------------------------------------------------------------------------------------ one deadline


def test_a_body_dripped_a_byte_a_second_is_cut_at_the_timeout(raw_server):  # type: ignore[no-untyped-def]
    base = raw_server(drip(b'{"assets": []}' + b" " * 100, 1.0))  # 114 bytes: the server needs 114 s
    started = time.monotonic()
    r = invoke("import", "--live", "--base-url", base, "--timeout", "2")
    elapsed = time.monotonic() - started
    assert one_error_line(r) == "mamcli: error: GET /fapi/v2/account: no complete answer within 2 s (--timeout)"
    assert elapsed < 60  # a generous bound, far below the 114 s the server would take; not a timing test


def test_headers_dripped_a_byte_a_second_are_cut_at_the_timeout(raw_server):  # type: ignore[no-untyped-def]
    head = b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 200 + b"\r\n\r\n"

    def handler(conn: socket.socket) -> None:
        for byte in head:
            conn.sendall(bytes([byte]))
            time.sleep(1.0)

    base = raw_server(handler)
    started = time.monotonic()
    r = invoke("import", "--live", "--base-url", base, "--timeout", "2")
    assert "no complete answer within 2 s" in one_error_line(r)
    assert time.monotonic() - started < 60


def test_a_server_that_never_answers(raw_server):  # type: ignore[no-untyped-def]
    base = raw_server(lambda conn: time.sleep(30))
    line = one_error_line(invoke("import", "--live", "--base-url", base, "--timeout", "1"))
    assert line.endswith("no complete answer within 1 s (--timeout)")


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "ten", "1e999"])
def test_a_bad_timeout_is_an_input_error(value):  # type: ignore[no-untyped-def]
    line = one_error_line(invoke("import", "--live", "--timeout", value))
    assert line.startswith("mamcli: error: --timeout: ")


def test_timeout_goes_with_live():  # type: ignore[no-untyped-def]
    r = invoke("import", "--account", str(PAYLOADS / "account_v2.json"), "--timeout", "3")
    assert one_error_line(r) == "mamcli: error: import: --timeout goes with --live"


# ------------------------------------------------------------------------------------------ body cap

RSS_PROBE = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=open(sys.argv[0] + '.err', 'w'))
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def run_measured(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, float]:
    """Run `python -m mamcli ARGS` as the only child of a fresh probe: (peak RSS in MB, stderr, seconds)."""
    probe = tmp_path / "probe.py"
    probe.write_text(RSS_PROBE)
    started = time.monotonic()
    r = subprocess.run(
        [sys.executable, str(probe), sys.executable, "-m", "mamcli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        timeout=120,
    )
    elapsed = time.monotonic() - started
    kib = int(r.stdout.strip().splitlines()[-1])  # Linux: ru_maxrss in KiB
    return kib // 1024, (tmp_path / "probe.py.err").read_text(), elapsed


def test_an_endless_body_stops_at_the_cap_without_memory_growth(raw_server, tmp_path):  # type: ignore[no-untyped-def]
    base = raw_server(endless(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"))
    peak_mb, stderr, _ = run_measured(tmp_path, "import", "--live", "--base-url", base, "--timeout", "60", env=ENV)
    assert stderr == (
        "mamcli: error: GET /fapi/v2/account: larger than 64 MiB, the most mamcli reads; not a Binance response\n"
    )
    assert peak_mb < 200, peak_mb  # the cap (64 MiB) plus the interpreter; the issue saw 19.5 GB


def test_an_endless_chunked_body_stops_at_the_cap(raw_server, tmp_path):  # type: ignore[no-untyped-def]
    def handler(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"10000\r\n" + b" " * 0x10000 + b"\r\n"
        for _ in range(1 << 20):
            conn.sendall(chunk)

    base = raw_server(handler)
    peak_mb, stderr, _ = run_measured(tmp_path, "import", "--live", "--base-url", base, "--timeout", "60", env=ENV)
    assert "larger than 64 MiB" in stderr and len(stderr.splitlines()) == 1
    assert peak_mb < 200, peak_mb


def test_a_huge_content_length_is_refused_before_reading(raw_server):  # type: ignore[no-untyped-def]
    base = raw_server(endless(b"HTTP/1.1 200 OK\r\nContent-Length: 100000000000\r\n\r\n"))
    line = one_error_line(invoke("import", "--live", "--base-url", base))
    assert line.endswith("larger than 64 MiB, the most mamcli reads; not a Binance response")


# ------------------------------------------------------------------------------------------ bodies


@pytest.mark.parametrize(
    "body, message",
    [
        (b'{"assets": [{"asset": "USDT", "crossWalletBalance": NaN}]}', "NaN is not a number mamcli accepts"),
        (b'{"totalMarginBalance": Infinity}', "Infinity is not a number mamcli accepts"),
        (b'{"totalMarginBalance": -Infinity}', "-Infinity is not a number mamcli accepts"),
        (b'{"totalMarginBalance": 1e99999999999999999999}', "the number 1e99999999999999999999 is too large"),
        (b'{"updateTime": ' + b"7" * 5000 + b"}", "is too long to be a number"),
        (b"[" * 5000 + b"]" * 5000, "nesting deeper than 100 levels is refused (line 1, column 101)"),
        (b"<html>Bad gateway</html>", "not JSON: Expecting value (line 1, column 1)"),
        (b"\xff\xfe{}", "not UTF-8 text"),
    ],
)
def test_bad_bodies_are_one_line_input_errors(http_server, body, message):  # type: ignore[no-untyped-def]
    base, _ = http_server(lambda path: (200, {}, body) if path == "/fapi/v2/account" else recorded(path))
    line = one_error_line(invoke("import", "--live", "--base-url", base))
    assert line.startswith("mamcli: error: GET /fapi/v2/account: ") and message in line, line


def test_a_binance_msg_with_a_newline_and_escape_is_one_escaped_line(http_server):  # type: ignore[no-untyped-def]
    body = json.dumps({"code": -2015, "msg": "Invalid API-key,\nIP \x1b[2Jor permissions\u2028for action."}).encode()
    base, _ = http_server(lambda path: (401, {}, body))
    assert one_error_line(invoke("import", "--live", "--base-url", base)) == (
        "mamcli: error: GET /fapi/v2/account: Binance error -2015: "
        "Invalid API-key,\\nIP \\x1b[2Jor permissions\\u2028for action."
    )


def test_an_error_that_is_not_binance_json_names_the_status(http_server):  # type: ignore[no-untyped-def]
    base, _ = http_server(lambda path: (503, {}, b"<html>down</html>"))
    line = one_error_line(invoke("import", "--live", "--base-url", base))
    assert line == "mamcli: error: GET /fapi/v2/account: HTTP 503 Service Unavailable"


def test_a_server_that_hangs_up(raw_server):  # type: ignore[no-untyped-def]
    base = raw_server(lambda conn: None)
    line = one_error_line(invoke("import", "--live", "--base-url", base))
    assert line == "mamcli: error: GET /fapi/v2/account: the server closed the connection without an answer"


def test_garbage_instead_of_http(raw_server):  # type: ignore[no-untyped-def]
    base = raw_server(lambda conn: conn.sendall(b"\x00\x01 hello\r\n\r\n"))
    line = one_error_line(invoke("import", "--live", "--base-url", base))
    assert line.startswith("mamcli: error: GET /fapi/v2/account: the server's answer is not valid HTTP")


# ------------------------------------------------------------------------------------------ URLs


@pytest.mark.parametrize(
    "url, message",
    [
        ("http://fapi.binance.com", "http:// is allowed only to a loopback host (127.0.0.1, ::1, localhost)"),
        ("http://10.0.0.1:8080", "http:// is allowed only to a loopback host"),
        ("http://127.0.0.1.evil.example", "http:// is allowed only to a loopback host"),
        ("ftp://fapi.binance.com", "only https:// URLs (or http:// to a loopback host) are accepted"),
        ("file:///etc/passwd", "only https:// URLs"),
        ("fapi.binance.com", "only https:// URLs"),
        ("https://", "is not a usable URL"),
        ("https://fapi.binance.com:99999", "is not a usable URL"),
        ("https://[::1", "is not a usable URL"),
        ("https://fapi.binance.com/?x=1", "is not a usable URL"),
        ("https://fapi.binance.com/\n", "is not a usable URL"),
        ("https://user:hunter2@fapi.binance.com", "a URL with credentials in it is refused"),
        ("https://hunter2@fapi.binance.com", "a URL with credentials in it is refused"),
    ],
)
def test_urls_that_are_refused(url, message):  # type: ignore[no-untyped-def]
    line = one_error_line(invoke("import", "--live", "--base-url", url))
    assert line.startswith("mamcli: error: --base-url: ") and message in line, line
    assert "hunter2" not in line


@pytest.mark.parametrize(
    "url, host, port",
    [
        ("https://fapi.binance.com", "fapi.binance.com", 443),
        ("https://testnet.binancefuture.com/", "testnet.binancefuture.com", 443),
        ("http://127.0.0.1:8080", "127.0.0.1", 8080),
        ("http://127.1.2.3", "127.1.2.3", 80),
        ("http://localhost:9000/proxy/", "localhost", 9000),
        ("http://[::1]:9000", "::1", 9000),
    ],
)
def test_urls_that_are_accepted(url, host, port):  # type: ignore[no-untyped-def]
    endpoint = check_url(url)
    assert (endpoint.host, endpoint.port) == (host, port)


def test_websocket_urls_follow_the_same_rules():  # type: ignore[no-untyped-def]
    assert check_url("wss://fstream.binance.com", "--ws-url", "wss", "ws").url("/market") == (
        "wss://fstream.binance.com/market"
    )
    assert check_url("ws://127.0.0.1:8765", "--ws-url", "wss", "ws").port == 8765
    with pytest.raises(InputError, match="ws:// is allowed only to a loopback host"):
        check_url("ws://fstream.binance.com", "--ws-url", "wss", "ws")


# ------------------------------------------------------------------------------------------ the client API


def test_the_client_hands_back_the_date_header_and_decimal_numbers(http_server):  # type: ignore[no-untyped-def]
    date = "Wed, 21 Oct 2026 07:28:00 GMT"
    base, seen = http_server(lambda path: (200, {"Date": date}, b'{"serverTime": 1792567680000, "p": 0.1}'))
    reply = Client(base + "/", timeout=5).get("/fapi/v1/time", {"symbol": "BTCUSDT"})
    body, headers = reply  # the reply unpacks as (body, headers)
    assert body == {"serverTime": Decimal(1792567680000), "p": Decimal("0.1")}
    assert headers["date"] == date and reply.date == datetime(2026, 10, 21, 7, 28, tzinfo=UTC)
    assert seen[0][1] == "/fapi/v1/time?symbol=BTCUSDT" and "X-MBX-APIKEY" not in seen[0][2]


def test_keyed_requests_carry_the_key_but_no_signature(http_server):  # type: ignore[no-untyped-def]
    base, seen = http_server(lambda path: (200, {}, b'{"listenKey": "abc"}'))
    client = Client(base, timeout=5, key=KEY, secret=SECRET)
    assert client.post("/fapi/v1/listenKey", keyed=True).body == {"listenKey": "abc"}
    client.put("/fapi/v1/listenKey", keyed=True)
    assert [(m, p, h["X-MBX-APIKEY"]) for m, p, h in seen] == [
        ("POST", "/fapi/v1/listenKey", KEY),
        ("PUT", "/fapi/v1/listenKey", KEY),
    ]
    assert SECRET not in repr(client) and KEY not in repr(client)


def test_signed_requests_carry_timestamp_and_signature(http_server):  # type: ignore[no-untyped-def]
    import hashlib
    import hmac

    base, seen = http_server(lambda path: (200, {}, b"{}"))
    Client(base, timeout=5, key=KEY, secret=SECRET, clock=lambda: 1700000000.5).get(
        "/fapi/v2/account", {"a": "1"}, signed=True
    )
    query = "a=1&recvWindow=5000&timestamp=1700000000500"
    expected = hmac.new(SECRET.encode(), query.encode(), hashlib.sha256).hexdigest()
    assert seen[0][1] == f"/fapi/v2/account?{query}&signature={expected}"


def test_the_network_modules_stay_off_the_file_path():  # type: ignore[no-untyped-def]
    code = (
        "import sys, io\nfrom mamcli.cli import main\nsys.stdout = io.StringIO()\n"
        "try:\n    main(['risk', 'samples/hedged.toml', '--json'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m in "
        "('mamcli.netclient', 'mamcli.jsonin', 'http.client', 'ssl', 'socket', 'hmac')), file=sys.stderr)"
    )
    r = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert r.stderr.strip().splitlines()[-1] == "[]"


# ------------------------------------------------------------------------------------------ TLS


def test_a_tls_handshake_that_never_completes_is_cut_at_the_timeout(raw_server):  # type: ignore[no-untyped-def]
    base = raw_server(lambda conn: time.sleep(30)).replace("http://", "https://")  # reads the ClientHello, then idles
    started = time.monotonic()
    line = one_error_line(invoke("import", "--live", "--base-url", base, "--timeout", "1"))
    assert line == "mamcli: error: GET /fapi/v2/account: no complete answer within 1 s (--timeout)"
    assert time.monotonic() - started < 30


def tls_server(tmp_path: Path) -> tuple[ThreadingHTTPServer, Path]:
    """A local https server with a fresh self-signed certificate for 127.0.0.1 (trusted by nobody by default)."""
    import ssl

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.seen = []  # type: ignore[attr-defined]
    server.answer = recorded  # type: ignore[attr-defined]
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, cert


needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


@needs_openssl
def test_an_untrusted_certificate_is_refused_and_no_key_is_sent(tmp_path):  # type: ignore[no-untyped-def]
    server, _ = tls_server(tmp_path)
    try:
        base = f"https://127.0.0.1:{server.server_address[1]}"
        line = one_error_line(invoke("import", "--live", "--base-url", base))
        assert line == (
            "mamcli: error: GET /fapi/v2/account: the server's TLS certificate is not trusted (self-signed certificate)"
        )
        assert server.seen == []  # type: ignore[attr-defined]  # the handshake failed: no request, no key
    finally:
        server.shutdown()
        server.server_close()


@needs_openssl
def test_import_live_over_https(tmp_path):  # type: ignore[no-untyped-def]
    server, cert = tls_server(tmp_path)
    try:
        base = f"https://127.0.0.1:{server.server_address[1]}"
        r = invoke("import", "--live", "--base-url", base, env={**ENV, "SSL_CERT_FILE": str(cert)})
        assert r.exit_code == 0, r.stderr
        assert len(server.seen) == 6  # type: ignore[attr-defined]  # five responses and exchangeInfo
        assert server.seen[0][2]["Host"] == f"127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
