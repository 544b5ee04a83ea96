"""A loopback server speaking the parts of the Google Sheets v4 API gspread uses, plus OAuth.

gspread's real request path (google-auth service-account JWT → token endpoint → AuthorizedSession
→ REST calls) runs unchanged; only its endpoint constants are pointed here (`point_gspread_at`).
Responses can be made to fail (429/5xx with Retry-After) to test rate-limit handling.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from aiohttp import web

TOKEN = "fake-access-token"
_GOOGLE_SHEETS = "https://sheets.googleapis.com"
_CELL = re.compile(r"^([A-Z]*)(\d*)$")


def point_gspread_at(base_url: str) -> None:
    """Rewrite gspread's Sheets endpoint constants (in `gspread.urls` and every module that copied
    them by `from .urls import ...`) to `base_url`; gspread's logic is left as it is."""
    import gspread.client
    import gspread.http_client
    import gspread.spreadsheet
    import gspread.urls
    import gspread.worksheet

    originals = getattr(gspread.urls, "_neuroseller_originals", None)
    if originals is None:
        originals = {k: v for k, v in vars(gspread.urls).items() if k.isupper() and isinstance(v, str)}
        gspread.urls._neuroseller_originals = originals  # type: ignore[attr-defined]
    for name, value in originals.items():
        new = value.replace(_GOOGLE_SHEETS, base_url.rstrip("/"))
        for module in (
            gspread.urls,
            gspread.http_client,
            gspread.client,
            gspread.spreadsheet,
            gspread.worksheet,
        ):
            if hasattr(module, name):
                setattr(module, name, new)


def write_service_account(path: Path, token_uri: str) -> Path:
    """A service-account JSON with a freshly generated RSA key, its token_uri pointing at the fake."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "neuroseller-test",
                "private_key_id": "k1",
                "private_key": pem,
                "client_email": "bot@neuroseller-test.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": token_uri,
            }
        )
    )
    return path


def _col_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def parse_range(rng: str) -> tuple[str, int, int, int | None, int | None]:
    """`'Leads'!A2:C5` → (sheet, first row, first col, last row, last col); 1-based, None = open end."""
    sheet, _, cells = rng.rpartition("!") if "!" in rng else (rng, "", "")
    if sheet.startswith("'") and sheet.endswith("'"):
        sheet = sheet[1:-1].replace("''", "'")
    if not cells:
        return sheet, 1, 1, None, None
    start, _, end = cells.partition(":")
    m1, m2 = _CELL.match(start.upper()), _CELL.match((end or start).upper())
    assert m1 and m2, rng
    r1, c1 = int(m1.group(2) or 1), _col_number(m1.group(1) or "A")
    r2 = int(m2.group(2)) if m2.group(2) else None
    c2 = _col_number(m2.group(1)) if m2.group(1) else None
    return sheet, r1, c1, r2, c2


@dataclass
class FakeSheets:
    """One spreadsheet (`spreadsheet_id`) with named worksheets as grids of strings."""

    spreadsheet_id: str = "sheet-1"
    sheets: dict[str, list[list[str]]] = field(default_factory=lambda: {"Sheet1": []})
    failures: list[tuple[int, str | None]] = field(default_factory=list)
    requests: list[tuple[float, str, str, int]] = field(default_factory=list)  # (time, method, path, status)
    token_requests: int = 0
    # valueInputOption of every write: RAW keeps customer text inert (USER_ENTERED would run formulas)
    input_options: list[str] = field(default_factory=list)
    base_url: str = ""
    _runner: web.AppRunner | None = None

    def fail_next(self, count: int, status: int = 429, retry_after: str | None = "1") -> None:
        """The next `count` API calls answer `status` (with Retry-After when given)."""
        self.failures += [(status, retry_after)] * count

    # ---- HTTP ---------------------------------------------------------------------------------

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.token_requests += 1
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" or not form.get(
            "assertion"
        ):
            return web.json_response({"error": "invalid_grant"}, status=400)
        return web.json_response({"access_token": TOKEN, "expires_in": 3600, "token_type": "Bearer"})

    async def _api(self, request: web.Request) -> web.Response:
        path = request.rel_url.raw_path
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._error(request, 401, "UNAUTHENTICATED")
        if self.failures:
            status, retry_after = self.failures.pop(0)
            return self._error(
                request,
                status,
                "RESOURCE_EXHAUSTED" if status == 429 else "UNAVAILABLE",
                {"Retry-After": retry_after} if retry_after else {},
            )
        tail = path.split("/v4/spreadsheets/", 1)[1]
        sid, sep, rest = tail.partition("/values")
        sid = sid.partition(":")[0]
        if unquote(sid) != self.spreadsheet_id:
            return self._error(request, 404, "NOT_FOUND")
        body = await request.json() if request.can_read_body else {}
        if not sep:
            result = self._metadata() if request.method == "GET" else self._batch_update(body)
        elif rest.startswith(":batchUpdate"):
            result = {"responses": [self._write(d["range"], d["values"]) for d in body.get("data", [])]}
        else:
            rng = unquote(rest.lstrip("/"))
            if rng.endswith(":append") or request.method == "PUT":
                self.input_options.append(request.query.get("valueInputOption", ""))
            if rng.endswith(":append"):
                result = self._append(rng[: -len(":append")], body["values"])
            elif request.method == "PUT":
                result = self._write(rng, body["values"])
            else:
                result = self._read(rng, request.query.get("majorDimension", "ROWS"))
        self.requests.append((time.monotonic(), request.method, path, 200))
        return web.json_response(result)

    def _error(
        self, request: web.Request, status: int, reason: str, headers: dict[str, str] | None = None
    ) -> web.Response:
        self.requests.append((time.monotonic(), request.method, request.rel_url.raw_path, status))
        return web.json_response(
            {"error": {"code": status, "message": reason.lower(), "status": reason}},
            status=status,
            headers=headers,
        )

    # ---- the spreadsheet model ---------------------------------------------------------------

    def _metadata(self) -> dict[str, Any]:
        return {
            "spreadsheetId": self.spreadsheet_id,
            "properties": {"title": "Neuroseller test", "locale": "en_US", "timeZone": "Etc/UTC"},
            "sheets": [
                {
                    "properties": {
                        "sheetId": i,
                        "title": title,
                        "index": i,
                        "sheetType": "GRID",
                        "gridProperties": {"rowCount": 1000, "columnCount": 26},
                    }
                }
                for i, title in enumerate(self.sheets)
            ],
        }

    def _batch_update(self, body: dict[str, Any]) -> dict[str, Any]:
        replies: list[dict[str, Any]] = []
        for req in body.get("requests", []):
            if "addSheet" in req:
                props = req["addSheet"]["properties"]
                self.sheets[props["title"]] = []
                replies.append(
                    {
                        "addSheet": {
                            "properties": {
                                "sheetId": len(self.sheets) - 1,
                                "title": props["title"],
                                "index": len(self.sheets) - 1,
                                "sheetType": "GRID",
                                "gridProperties": props.get("gridProperties", {}),
                            }
                        }
                    }
                )
            else:
                replies.append({})
        return {"spreadsheetId": self.spreadsheet_id, "replies": replies}

    def _read(self, rng: str, major: str) -> dict[str, Any]:
        sheet, r1, c1, r2, c2 = parse_range(rng)
        grid = self.sheets[sheet]
        rows = [row[c1 - 1 : c2] for row in grid[r1 - 1 : r2]]
        rows = [self._trim(r) for r in rows]
        while rows and not rows[-1]:
            rows.pop()
        if major == "COLUMNS":
            width = max((len(r) for r in rows), default=0)
            rows = self._trim_rows([[r[i] if i < len(r) else "" for r in rows] for i in range(width)])
        out: dict[str, Any] = {"range": rng, "majorDimension": major}
        if rows:
            out["values"] = rows
        return out

    @staticmethod
    def _trim(row: list[str]) -> list[str]:
        row = list(row)
        while row and row[-1] == "":
            row.pop()
        return row

    def _trim_rows(self, rows: list[list[str]]) -> list[list[str]]:
        return [self._trim(r) for r in rows]

    def _write(self, rng: str, values: list[list[Any]], row_at: int | None = None) -> dict[str, Any]:
        sheet, r1, c1, _, _ = parse_range(rng)
        grid = self.sheets[sheet]
        r1 = row_at or r1
        for dr, row in enumerate(values):
            while len(grid) < r1 + dr:
                grid.append([])
            target = grid[r1 + dr - 1]
            while len(target) < c1 - 1 + len(row):
                target.append("")
            for dc, value in enumerate(row):
                target[c1 - 1 + dc] = "" if value is None else str(value)
        return {"spreadsheetId": self.spreadsheet_id, "updatedRange": rng, "updatedRows": len(values)}

    def _append(self, rng: str, values: list[list[Any]]) -> dict[str, Any]:
        sheet = parse_range(rng)[0]
        grid = self.sheets[sheet]
        last = max((i + 1 for i, row in enumerate(grid) if any(row)), default=0)
        return {
            "spreadsheetId": self.spreadsheet_id,
            "tableRange": rng,
            "updates": self._write(f"'{sheet}'!A{last + 1}", values),
        }

    # ---- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> FakeSheets:
        app = web.Application()
        app.router.add_post("/token", self._token)
        app.router.add_route("*", "/v4/spreadsheets/{tail:.*}", self._api)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
