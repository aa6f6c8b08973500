"""Writes the malformed-payload corpus: saved Binance responses that `mamcli import --account FILE` must refuse
with one line naming the file (the JSON door, SPEC §9 "Network safety", §11), and cases.toml with the message
each must produce. Run from the repository root: python3 tests/corpus/payloads/make_payloads.py (the files
are committed). The over-cap cases (/dev/zero, a 64 MiB + 1 file) are made by the test itself."""

from pathlib import Path

import tomli_w

HERE = Path(__file__).parent
ROW = '{"assets": [{"asset": "USDT", "crossWalletBalance": %s}]}'

# name: (content, message that must appear on stderr after "FILE: ")
CASES: dict[str, tuple[bytes, str]] = {
    "nan": (
        (ROW % "NaN").encode(),
        "NaN is not a number mamcli accepts (JSON has no NaN or infinity; they are not amounts) (line 1, column 53)",
    ),
    "infinity": ((ROW % "Infinity").encode(), "Infinity is not a number mamcli accepts"),
    "negative-infinity": ((ROW % "-Infinity").encode(), "-Infinity is not a number mamcli accepts"),
    "exponent-huge": (
        (ROW % "1e99999999999999999999").encode(),
        "the number 1e99999999999999999999 is too large (must be below 1e15 in magnitude) (line 1, column 53)",
    ),
    "exponent-huge-negative": ((ROW % "-1E+99999999999999999999").encode(), "is too large"),
    "exponent-tiny": ((ROW % "1e-99999999999999999999").encode(), "has more than 18 decimal places"),
    "integer-5000-digits": (
        (ROW % ("9" * 5000)).encode(),
        "the number 99999999999999999999... (5000 characters) is too long to be a number (more than 64 characters)",
    ),
    "integer-too-large": ((ROW % "1000000000000000").encode(), "the number 1000000000000000 is too large"),
    "decimal-too-long": ((ROW % ("0." + "1" * 100)).encode(), "is too long to be a number"),
    "decimal-too-many-places": ((ROW % "0.0000000000000000001").encode(), "has more than 18 decimal places"),
    "nesting-arrays-10000": (b"[" * 10000 + b"]" * 10000, "nesting deeper than 100 levels is refused (line 1, column 101)"),
    "nesting-objects-101": (
        b'{"a":' * 101 + b"1" + b"}" * 101,
        "nesting deeper than 100 levels is refused (line 1, column 501)",
    ),
    "nesting-unclosed": (b"[{" * 100000, "nesting deeper than 100 levels is refused"),
    "brackets-in-strings-are-not-nesting": (
        b'{"assets": "' + b"[" * 1000 + b'"}',
        "does not look like GET /fapi/v2/account (expected an 'assets' list)",
    ),
    "depth-100-is-allowed": (
        b"[" * 100 + b"]" * 100,
        "does not look like GET /fapi/v2/account (expected an 'assets' list)",
    ),
    "not-utf8-latin1": ('{"assets": [], "note": "caf\xe9"}'.encode("latin-1"), "not UTF-8 text (byte 0xe9 at line 1, column 28)"),
    "not-utf8-utf16": ('{"assets": []}'.encode("utf-16"), "not UTF-8 text (byte 0xff at line 1, column 1)"),
    "binary-garbage": (bytes(range(256)) * 4, "not UTF-8 text (byte 0x80 at line 2, column 118)"),
    "empty": (b"", "is empty; expected a JSON response"),
    "only-whitespace": (b" \n\t\r\n", "is empty; expected a JSON response"),
    "html-error-page": (b"<html><body>502 Bad Gateway</body></html>\n", "not JSON: Expecting value (line 1, column 1)"),
    "truncated": (b'{"assets": [{"asset": "USDT", "crossWall', "not JSON: Unterminated string"),
    "trailing-garbage": (b'{"assets": []} {}', "not JSON: Extra data (line 1, column 16)"),
    "single-quotes": (b"{'assets': []}", "not JSON: Expecting property name enclosed in double quotes"),
    "trailing-comma": (b'{"assets": [],}', "not JSON"),
    "leading-zero": ((ROW % "0123").encode(), "not JSON"),
    "raw-newline-in-string": (b'{"assets": [{"asset": "US\nDT"}]}', "not JSON: Invalid control character at"),
    "nul-bytes": (b'{"assets": [\x00]}', "not JSON: Expecting value (line 1, column 13)"),
    "exponent-huge-as-string": (
        b'{"assets": [{"asset": "USDT", "crossWalletBalance": "1e99999999999999999999"}]}',
        "assets[0].crossWalletBalance",
    ),
}


def main() -> None:
    cases = {}
    for name, (content, message) in CASES.items():
        (HERE / f"{name}.json").write_bytes(content)
        cases[name] = {"message": message}
    (HERE / "cases.toml").write_text(tomli_w.dumps(cases), encoding="utf-8")


if __name__ == "__main__":
    main()
