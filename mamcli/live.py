"""Fetch the five Binance responses that `mamcli import` needs, straight from the REST API (SPEC §8).

The key and secret come from MAMCLI_API_KEY and MAMCLI_API_SECRET only; they are never printed, logged or
written.  Signed requests carry `timestamp` (ms) and `signature`, the hex HMAC-SHA256 of the query string
under the secret, with the key in the X-MBX-APIKEY header, as Binance documents.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from urllib.parse import urlencode

from mamcli.importer import Payloads
from mamcli.model import InputError

DEFAULT_BASE_URL = "https://fapi.binance.com"
TIMEOUT_SECONDS = 10
RECV_WINDOW = 5000

# (kind, path, signed)
ENDPOINTS = (
    ("account", "/fapi/v2/account", True),
    ("positions", "/fapi/v2/positionRisk", True),
    ("index", "/fapi/v1/assetIndex", False),
    ("brackets", "/fapi/v1/leverageBracket", True),
    ("mode", "/fapi/v1/multiAssetsMargin", True),
)


def credentials(environ=os.environ) -> tuple[str, str]:
    missing = [v for v in ("MAMCLI_API_KEY", "MAMCLI_API_SECRET") if not environ.get(v)]
    if missing:
        raise InputError(
            [f"import --live: {' and '.join(missing)} not set (the key and secret are read from the environment only)"]
        )
    return environ["MAMCLI_API_KEY"], environ["MAMCLI_API_SECRET"]


def sign(query: str, secret: str) -> str:
    return hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()


def _get(url: str, key: str, label: str, timeout: float):
    import json
    import urllib.error
    import urllib.request
    from decimal import Decimal

    request = urllib.request.Request(url, headers={"X-MBX-APIKEY": key, "User-Agent": "mamcli"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as e:
        text = e.read().decode("utf-8", "replace")
        try:
            err = json.loads(text)
            if isinstance(err, dict) and "code" in err:
                raise InputError([f"{label}: Binance error {err['code']}: {err.get('msg', '')}"]) from None
        except ValueError:
            pass
        raise InputError([f"{label}: HTTP {e.code} {e.reason}"]) from None
    except TimeoutError:
        raise InputError([f"{label}: no answer within {timeout:g} s"]) from None
    except urllib.error.URLError as e:
        raise InputError([f"{label}: cannot reach the server ({e.reason})"]) from None
    except OSError as e:
        raise InputError([f"{label}: network error ({e.strerror or e})"]) from None
    try:
        return json.loads(body.decode("utf-8"), parse_float=Decimal)
    except (UnicodeDecodeError, ValueError):
        raise InputError([f"{label}: the answer is not JSON"]) from None


def fetch(
    base_url: str = DEFAULT_BASE_URL, environ=os.environ, timeout: float = TIMEOUT_SECONDS, clock=time.time
) -> Payloads:
    key, secret = credentials(environ)
    base = base_url.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise InputError([f"--base-url: {base_url!r} is not an http(s) URL"])
    payloads = Payloads()
    for kind, path, signed in ENDPOINTS:
        label = f"GET {path}"
        query = ""
        if signed:
            query = urlencode({"recvWindow": RECV_WINDOW, "timestamp": int(clock() * 1000)})
            query += "&signature=" + sign(query, secret)
        url = base + path + ("?" + query if query else "")
        payloads.add(kind, label, _get(url, key, label, timeout))
    return payloads
