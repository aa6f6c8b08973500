"""Fetch the five Binance responses that `mamcli import` needs, straight from the REST API (SPEC §8).

The key and secret come from MAMCLI_API_KEY and MAMCLI_API_SECRET only; they are never printed, logged or
written.  Signed requests carry `timestamp` (ms) and `signature`, the hex HMAC-SHA256 of the query string
under the secret, with the key in the X-MBX-APIKEY header, as Binance documents.  Every request goes through
mamcli.netclient (no redirects, one deadline, capped bodies, the JSON door).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from mamcli.importer import Payloads
from mamcli.model import InputError

if TYPE_CHECKING:
    from mamcli.netclient import Client, Reply

DEFAULT_BASE_URL = "https://fapi.binance.com"
TIMEOUT_SECONDS = 10
RECV_WINDOW = 5000

# What a live account is made of: (payload kind, path, signed).  exchangeInfo is public: thresholds
# (autoAssetExchange) and liquidation fees.
ENDPOINTS = (
    ("account", "/fapi/v2/account", True),
    ("positions", "/fapi/v2/positionRisk", True),
    ("index", "/fapi/v1/assetIndex", False),
    ("brackets", "/fapi/v1/leverageBracket", True),
    ("mode", "/fapi/v1/multiAssetsMargin", True),
    ("exchange_info", "/fapi/v1/exchangeInfo", False),
)


def credentials(environ: Mapping[str, str] = os.environ, where: str = "--live") -> tuple[str, str]:
    """The key and secret, from the environment only; `where` names the option in the message."""
    missing = [v for v in ("MAMCLI_API_KEY", "MAMCLI_API_SECRET") if not environ.get(v)]
    if missing:
        raise InputError(
            [f"{where}: {' and '.join(missing)} not set (the key and secret are read from the environment only)"]
        )
    return environ["MAMCLI_API_KEY"], environ["MAMCLI_API_SECRET"]


def sign(query: str, secret: str) -> str:
    from mamcli.netclient import sign as hmac_sign

    return hmac_sign(query, secret)


def client(
    base_url: str = DEFAULT_BASE_URL,
    environ: Mapping[str, str] = os.environ,
    timeout: float | str = TIMEOUT_SECONDS,
    clock: Callable[[], float] = time.time,
    where: str = "--live",
) -> Client:
    """A network client for the account behind MAMCLI_API_KEY/MAMCLI_API_SECRET (SPEC §9's rules built in)."""
    from mamcli.netclient import Client

    key, secret = credentials(environ, where)
    return Client(base_url, timeout, key, secret, clock=clock, recv_window=RECV_WINDOW)


def fetch_replies(api: Client) -> dict[str, tuple[str, Reply]]:
    """kind → (label, Reply) for every endpoint; the replies keep their headers (Date, for `as_of`)."""
    return {kind: (f"GET {path}", api.get(path, signed=signed)) for kind, path, signed in ENDPOINTS}


def fetch(
    base_url: str = DEFAULT_BASE_URL,
    environ: Mapping[str, str] = os.environ,
    timeout: float | str = TIMEOUT_SECONDS,
    clock: Callable[[], float] = time.time,
) -> Payloads:
    """The five responses `import` needs and the public exchangeInfo (thresholds, liquidation fees), as if
    read from saved files."""
    payloads = Payloads()
    for kind, (label, reply) in fetch_replies(client(base_url, environ, timeout, clock)).items():
        payloads.add(kind, label, reply.body)
    return payloads
