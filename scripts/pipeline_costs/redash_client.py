"""A small client for Redash's REST API (standard library only): JSON over HTTP with a user API key,
retries with backoff for server errors and dropped connections, and Redash's page-by-page lists.

Errors are RedashError subclasses whose message is one line naming the object and the request;
the API key is sent in the Authorization header only and never appears in a message or a repr.
Redirects are not followed: urllib would resend the Authorization header to wherever the
redirect points (and turn a POST into a GET), so a redirect is reported as an error instead.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

RETRY_STATUSES = frozenset({500, 502, 503, 504})
# Redash answers a request whose API key it does not know with HTTP 404 and this message
# (its login manager's unauthorized handler for /api/ paths, every version since at least v8).
LOGIN_MESSAGE = "Please login and try again"
USER_AGENT = "dbt_pipeline_costs-redash-sync"


class RedashError(Exception):
    """A request to Redash failed; the message is one line meant for the user."""

    exit_code = 1


class AuthError(RedashError):
    """Redash did not accept the API key."""

    exit_code = 2


class NotFoundError(RedashError):
    """Redash has no such object (HTTP 404)."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # urllib then raises HTTPError with the 3xx status


def _message(payload: bytes) -> str:
    """Redash's error message from a JSON body ({"message": ...}), on one line, or ''."""
    try:
        data = json.loads(payload.decode("utf-8", "replace"))
    except ValueError:
        return ""
    text = data.get("message") if isinstance(data, dict) else None
    return " ".join(str(text).split())[:300] if text else ""


class RedashClient:
    """GET/POST JSON to one Redash (url: its address, with the org slug for a multi-org install)."""

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        retries: int = 3,
        timeout: float = 30.0,
        retry_delay: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = url.rstrip("/")
        self._api_key = api_key
        self.retries = retries
        self.timeout = timeout
        self.retry_delay = retry_delay
        self._sleep = sleep
        self._opener = urllib.request.build_opener(_NoRedirect)
        self.writes = 0  # successful POSTs

    def __repr__(self) -> str:
        return f"RedashClient({self.url!r})"

    def get(self, path: str, params: dict[str, Any] | None = None, *, what: str) -> Any:
        return self._request("GET", path, params=params, what=what)

    def post(self, path: str, body: dict[str, Any], *, what: str, find: Callable[[], Any] | None = None) -> Any:
        """POST body. `find` (for creates): called before a retry; if the failed attempt created the
        object after all, it returns it and the create is not sent again."""
        return self._request("POST", path, body=body, what=what, find=find)

    def paginate(self, path: str, params: dict[str, Any] | None = None, *, what: str, page_size: int = 100) -> list:
        """Every item of a paginated list ({count, page, page_size, results})."""
        items: list = []
        page = 1
        while True:
            data = self.get(path, {**(params or {}), "page": page, "page_size": page_size}, what=what)
            if not isinstance(data, dict) or not isinstance(data.get("results"), list):
                raise RedashError(f"GET {path} for {what} at {self.url} did not answer with a page of results")
            items.extend(data["results"])
            # Redash answers 400 for a page past the end, so stop at `count`.
            if not data["results"] or len(items) >= int(data.get("count") or 0):
                return items
            page += 1

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        what: str,
        find: Callable[[], Any] | None = None,
    ) -> Any:
        query = f"?{urllib.parse.urlencode(params, doseq=True)}" if params else ""
        url = f"{self.url}{path}{query}"
        data = json.dumps(body).encode("utf-8") if body is not None else None
        where = f"{method} {path}"
        attempt = 0
        while True:
            request = urllib.request.Request(url, data=data, method=method, headers={
                "Authorization": f"Key {self._api_key}",
                "Accept": "application/json",
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
            })
            try:
                with self._opener.open(request, timeout=self.timeout) as response:
                    raw = response.read()
            except urllib.error.HTTPError as exc:
                status, payload = exc.code, exc.read()
                exc.close()
                if status not in RETRY_STATUSES:
                    raise self._http_error(status, payload, what, where, exc.headers.get("Location")) from None
                failure = f"HTTP {status}"
            except urllib.error.URLError as exc:
                failure = f"cannot connect: {exc.reason}"
            except (TimeoutError, ConnectionError, http.client.HTTPException, OSError) as exc:
                failure = f"connection failed: {type(exc).__name__}"
            else:
                if method == "POST":
                    self.writes += 1
                return self._json(raw, what, where)
            attempt += 1
            if attempt > self.retries:
                tries = "once" if attempt == 1 else f"{attempt} times"
                raise RedashError(f"{where} for {what} failed {tries} at {self.url} ({failure}); giving up")
            self._sleep(self.retry_delay * 2 ** (attempt - 1))
            if find is not None:
                found = find()
                if found is not None:
                    return found

    def _json(self, raw: bytes, what: str, where: str) -> Any:
        if not raw.strip():
            return None
        try:
            return json.loads(raw.decode("utf-8"))
        except ValueError:
            raise RedashError(
                f"{where} for {what} at {self.url} answered with something that is not JSON (is that Redash's address?)"
            ) from None

    def _http_error(self, status: int, payload: bytes, what: str, where: str, location: str | None) -> RedashError:
        message = _message(payload)
        if status == 401 or (status == 404 and LOGIN_MESSAGE in message):
            return AuthError(f"Redash rejected the API key (HTTP {status}) at {self.url}")
        if 300 <= status < 400:
            target = f" to {location.split('?')[0]}" if location else ""
            return RedashError(f"{where} for {what} was redirected (HTTP {status}){target}; "
                               "use the address Redash answers on as --url / REDASH_URL")
        detail = f": {message}" if message else ""
        if status == 404:
            return NotFoundError(f"Redash has no {what} (HTTP 404 at {where} on {self.url}){detail}")
        if status == 403:
            return RedashError(f"Redash refused {where} for {what} (HTTP 403 at {self.url}): "
                               f"the API key's user lacks the permission{detail}")
        return RedashError(f"Redash refused {where} for {what} (HTTP {status} at {self.url}){detail}")
