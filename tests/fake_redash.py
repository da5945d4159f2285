"""An in-memory Redash for tests: the REST endpoints `redash sync` uses, answering with Redash's JSON
shapes (redash/serializers: serialize_query, serialize_visualization, serialize_widget,
serialize_dashboard; redash/handlers/base.py: paginate), on 127.0.0.1 in a thread.

Behaviour copied from Redash's handlers, not its code:
* auth: `Authorization: Key <key>` (or ?api_key=); anything else is refused with 401 (the issue's
  contract) or, with auth_status=404, the way Redash really answers: 404 "Couldn't find resource.
  Please login and try again."
* lists (GET /api/queries, /api/dashboards) are pages {count, page, page_size, results}, newest
  first; archived objects are not listed, nor other users' draft dashboards; ?tags= keeps objects
  with every given tag; a page past the end is a 400. Unlike Redash (which answers 400 above 250)
  the fake serves at most `page_size_max` items per page, so a client's paging is really exercised.
* POST /api/queries creates a draft and the "Table" visualization Redash adds to every new query;
  POST /api/dashboards takes only the name (a draft, no tags: Redash ignores other fields);
  POST /api/dashboards/<id> takes only name, layout, version, tags, is_draft, is_archived,
  dashboard_filters_enabled and options (others silently dropped, as Redash does);
  POST /api/widgets/<id> replaces text and options only.
* GET /api/dashboards/<x>: by id (Redash v10+), or by slug with dashboard_lookup="slug" (before v10).
* Where Redash would crash with a 500 on a malformed body (a missing or unexpected key), the fake
  answers 400 "fake: ..." so a client bug shows as itself instead of as a retried server error.
Fault injection: fail(method, path regex, status, times, after) answers `status` `times` times
(None = always), before or after (after=True) applying the request. Every request is logged
(method, path, query, body); headers are not, so the log never holds the API key.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

LOGIN_MESSAGE = "Couldn't find resource. Please login and try again."
NOW = "2026-01-05T10:00:00.000000+00:00"


class Reply(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class Logged:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    status: int = 0


@dataclass
class Fault:
    method: str
    pattern: re.Pattern
    status: int
    times: int | None
    after: bool
    hits: int = field(default=0)


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _strict(body: dict, allowed: set[str], where: str) -> None:
    unexpected = sorted(set(body) - allowed)
    if unexpected:
        raise Reply(400, f"fake: {where} does not take {', '.join(unexpected)}")


class FakeRedash:
    def __init__(self, api_key: str, *, page_size_max: int = 3, version: str = "10.1.0",
                 dashboard_lookup: str = "id", auth_status: int = 401) -> None:
        self.api_key = api_key
        self.page_size_max = page_size_max
        self.version = version
        self.dashboard_lookup = dashboard_lookup
        self.auth_status = auth_status
        self.user = {"id": 1, "name": "Sync Bot", "email": "sync@example.com"}
        self.other_user = {"id": 2, "name": "Ada Analyst", "email": "ada@example.com"}
        self.data_sources = [
            {"id": 1, "name": "Warehouse", "type": "pg", "syntax": "sql", "paused": 0, "pause_reason": None,
             "supports_auto_limit": True},
            {"id": 2, "name": "Sandbox", "type": "bigquery", "syntax": "sql", "paused": 0, "pause_reason": None,
             "supports_auto_limit": True},
        ]
        self.queries: dict[int, dict] = {}
        self.visualizations: dict[int, dict] = {}
        self.dashboards: dict[int, dict] = {}
        self.widgets: dict[int, dict] = {}
        self.refreshed: list[int] = []
        self.log: list[Logged] = []
        self.faults: list[Fault] = []
        self._ids = {kind: itertools.count(1) for kind in ("query", "viz", "dashboard", "widget")}
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None

    # -- running ---------------------------------------------------------------------------

    def __enter__(self) -> Self:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, payload = fake.handle(self.command, self.path, self.headers.get("Authorization"), raw)
                data = json.dumps(payload).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server, "use `with FakeRedash(...) as redash:`"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def fail(self, method: str, path: str, *, status: int = 500, times: int | None = 1, after: bool = False) -> Fault:
        """Answer `status` to the next `times` requests whose path matches the regex `path` fully."""
        fault = Fault(method, re.compile(path), status, times, after)
        self.faults.append(fault)
        return fault

    def writes(self) -> list[Logged]:
        return [entry for entry in self.log if entry.method != "GET"]

    # -- seeding ---------------------------------------------------------------------------

    def add_query(self, name: str, *, sql: str = "select 1", tags: tuple[str, ...] = (), user: dict | None = None,
                  archived: bool = False, is_draft: bool = False, data_source_id: int = 1,
                  options: dict | None = None, description: str = "") -> dict:
        with self._lock:
            query = self._new_query({"name": name, "query": sql, "tags": list(tags), "description": description,
                                     "data_source_id": data_source_id, "options": options or {}},
                                    user or self.user)
            query.update(is_archived=archived, is_draft=is_draft)
            return query

    def add_dashboard(self, name: str, *, tags: tuple[str, ...] = (), user: dict | None = None,
                      is_draft: bool = False) -> dict:
        with self._lock:
            board = self._new_dashboard(name, user or self.user)
            board.update(tags=list(tags), is_draft=is_draft)
            return board

    def add_widget(self, dashboard_id: int, *, visualization_id: int | None = None, text: str = "",
                   options: dict | None = None) -> dict:
        with self._lock:
            wid = next(self._ids["widget"])
            self.widgets[wid] = {"id": wid, "dashboard_id": dashboard_id, "visualization_id": visualization_id,
                                 "text": text, "width": 1, "options": options or {}, "created_at": NOW,
                                 "updated_at": NOW}
            return self.widgets[wid]

    # -- dispatch --------------------------------------------------------------------------

    ROUTES = (
        ("GET", r"/api/session", "session"),
        ("GET", r"/api/data_sources", "data_sources"),
        ("GET", r"/api/queries", "list_queries"),
        ("POST", r"/api/queries", "create_query"),
        ("GET", r"/api/queries/(\d+)", "get_query"),
        ("POST", r"/api/queries/(\d+)", "update_query"),
        ("POST", r"/api/queries/(\d+)/refresh", "refresh_query"),
        ("POST", r"/api/visualizations", "create_visualization"),
        ("POST", r"/api/visualizations/(\d+)", "update_visualization"),
        ("GET", r"/api/dashboards", "list_dashboards"),
        ("POST", r"/api/dashboards", "create_dashboard"),
        ("GET", r"/api/dashboards/([^/]+)", "get_dashboard"),
        ("POST", r"/api/dashboards/(\d+)", "update_dashboard"),
        ("POST", r"/api/widgets", "create_widget"),
        ("POST", r"/api/widgets/(\d+)", "update_widget"),
    )

    def handle(self, method: str, target: str, authorization: str | None, raw: bytes) -> tuple[int, Any]:
        parts = urlsplit(target)
        query = parse_qs(parts.query)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        entry = Logged(method, parts.path, {k: v for k, v in query.items() if k != "api_key"}, body)
        with self._lock:
            self.log.append(entry)
            entry.status, payload = self._handle(method, parts.path, query, authorization, body)
            return entry.status, payload

    def _handle(self, method: str, path: str, query: dict, authorization: str | None, body: Any) -> tuple[int, Any]:
        if authorization != f"Key {self.api_key}" and query.get("api_key") != [self.api_key]:
            if self.auth_status == 404:
                return 404, {"message": LOGIN_MESSAGE}
            return self.auth_status, {"message": "Invalid API key"}
        fault = next((f for f in self.faults if f.method == method and f.pattern.fullmatch(path)
                      and (f.times is None or f.hits < f.times)), None)
        if fault and not fault.after:
            fault.hits += 1
            return fault.status, {"message": "Internal Server Error"}
        for route_method, pattern, name in self.ROUTES:
            match = re.fullmatch(pattern, path)
            if route_method == method and match:
                break
        else:
            return 404, {"message": "fake: no such endpoint"}
        if method == "POST" and not isinstance(body, dict):
            return 400, {"message": "fake: the body must be a JSON object"}
        try:
            result = getattr(self, f"_{name}")(*match.groups(), query=query, body=body)
        except Reply as reply:
            return reply.status, {"message": reply.message}
        if fault:
            fault.hits += 1
            return fault.status, {"message": "Internal Server Error"}
        return 200, result

    # -- serializers (redash/serializers/__init__.py) -----------------------------------------

    def _query_json(self, query: dict, *, with_visualizations: bool = False) -> dict:
        data = {k: v for k, v in query.items() if k not in ("user_id",)}
        data["user"] = self.user if query["user_id"] == self.user["id"] else self.other_user
        data["last_modified_by_id"] = query["user_id"]
        data["retrieved_at"] = data["runtime"] = None
        if with_visualizations:
            data["visualizations"] = [self._viz_json(v) for v in sorted(self.visualizations.values(),
                                                                         key=lambda v: v["id"])
                                      if v["query_id"] == query["id"]]
        return data

    @staticmethod
    def _viz_json(viz: dict) -> dict:
        return {k: viz[k] for k in ("id", "type", "name", "description", "options", "updated_at", "created_at")}

    def _widget_json(self, widget: dict) -> dict:
        data = {k: widget[k] for k in ("id", "width", "options", "dashboard_id", "text", "updated_at", "created_at")}
        viz = self.visualizations.get(widget["visualization_id"])
        if viz:
            data["visualization"] = {**self._viz_json(viz), "query": self._query_json(self.queries[viz["query_id"]])}
        return data

    def _dashboard_json(self, board: dict, *, with_widgets: bool = False) -> dict:
        user = self.user if board["user_id"] == self.user["id"] else self.other_user
        data = {k: board[k] for k in ("id", "slug", "name", "user_id", "layout", "dashboard_filters_enabled",
                                      "options", "is_archived", "is_draft", "tags", "updated_at", "created_at",
                                      "version")}
        data["user"] = user
        data["widgets"] = ([self._widget_json(w) for w in sorted(self.widgets.values(), key=lambda w: w["id"])
                            if w["dashboard_id"] == board["id"]] if with_widgets else None)
        return data

    def _page(self, items: list[dict], query: dict) -> dict:
        """redash.handlers.base.paginate, with the page size capped at page_size_max."""
        page = int(query.get("page", ["1"])[0])
        size = min(int(query.get("page_size", ["25"])[0]), self.page_size_max)
        if page < 1:
            raise Reply(400, "Page must be positive integer.")
        if (page - 1) * size + 1 > len(items) > 0:
            raise Reply(400, "Page is out of range.")
        return {"count": len(items), "page": page, "page_size": size, "results": items[(page - 1) * size:page * size]}

    # -- handlers --------------------------------------------------------------------------

    def _session(self, *, query: dict, body: Any) -> dict:
        return {"user": {"id": self.user["id"], "name": self.user["name"], "email": self.user["email"]},
                "messages": [], "org_slug": "default", "client_config": {"version": self.version, "pageSize": 20}}

    def _data_sources(self, *, query: dict, body: Any) -> list:
        return [dict(s) for s in self.data_sources]

    def _new_query(self, body: dict, user: dict) -> dict:
        qid = next(self._ids["query"])
        self.queries[qid] = {
            "id": qid, "latest_query_data_id": None, "name": body.get("name"), "description": body.get("description"),
            "query": body.get("query", ""), "query_hash": f"hash{qid}", "schedule": body.get("schedule"),
            "api_key": f"query-api-key-{qid}", "is_archived": False, "is_draft": True, "updated_at": NOW,
            "created_at": NOW, "data_source_id": body["data_source_id"], "options": body.get("options") or {},
            "version": 1, "tags": list(body.get("tags") or []), "is_safe": True, "user_id": user["id"],
        }
        vid = next(self._ids["viz"])  # redash.models.Query.create: every new query gets a "Table"
        self.visualizations[vid] = {"id": vid, "query_id": qid, "type": "TABLE", "name": "Table", "description": "",
                                    "options": {}, "created_at": NOW, "updated_at": NOW}
        return self.queries[qid]

    def _list_queries(self, *, query: dict, body: Any) -> dict:
        tags = query.get("tags", [])
        items = [q for q in self.queries.values() if not q["is_archived"] and all(t in q["tags"] for t in tags)]
        items.sort(key=lambda q: q["id"], reverse=True)
        return self._page([self._query_json(q) for q in items], query)

    def _create_query(self, *, query: dict, body: dict) -> dict:
        for key in ("id", "created_at", "api_key", "visualizations", "latest_query_data", "last_modified_by"):
            body.pop(key, None)
        _strict(body, {"name", "description", "query", "data_source_id", "options", "schedule", "tags", "is_draft"},
                "POST /api/queries")
        if "data_source_id" not in body or "query" not in body:
            raise Reply(400, "fake: POST /api/queries needs data_source_id and query")
        if not any(s["id"] == body["data_source_id"] for s in self.data_sources):
            raise Reply(404, "fake: no such data source")
        created = self._new_query(body, self.user)
        return self._query_json(created, with_visualizations=True)

    def _query(self, qid: str) -> dict:
        if int(qid) not in self.queries:
            raise Reply(404, "fake: no such query")
        return self.queries[int(qid)]

    def _get_query(self, qid: str, *, query: dict, body: Any) -> dict:
        return {**self._query_json(self._query(qid), with_visualizations=True), "can_edit": True}

    def _update_query(self, qid: str, *, query: dict, body: dict) -> dict:
        current = self._query(qid)
        for key in ("id", "created_at", "api_key", "visualizations", "latest_query_data", "user", "last_modified_by",
                    "org"):
            body.pop(key, None)
        _strict(body, {"name", "description", "query", "data_source_id", "options", "schedule", "tags", "is_draft",
                       "is_archived", "version"}, f"POST /api/queries/{qid}")
        if "version" in body and body.pop("version") != current["version"]:
            raise Reply(409, "fake: version conflict")
        if "data_source_id" in body and not any(s["id"] == body["data_source_id"] for s in self.data_sources):
            raise Reply(404, "fake: no such data source")
        if "tags" in body:
            body["tags"] = [t for t in body["tags"] if t]
        current.update(body)
        current["version"] += 1
        return self._query_json(current, with_visualizations=True)

    def _refresh_query(self, qid: str, *, query: dict, body: Any) -> dict:
        current = self._query(qid)
        self.refreshed.append(current["id"])
        current["latest_query_data_id"] = 1000 + current["id"]
        return {"job": {"id": f"job-{qid}", "status": 1, "error": "", "result": None, "query_result_id": None,
                        "updated_at": 0}}

    def _create_visualization(self, *, query: dict, body: dict) -> dict:
        _strict(body, {"query_id", "type", "name", "description", "options"}, "POST /api/visualizations")
        if "query_id" not in body:
            raise Reply(400, "fake: POST /api/visualizations needs query_id")
        self._query(str(body["query_id"]))
        vid = next(self._ids["viz"])
        self.visualizations[vid] = {"id": vid, "query_id": body["query_id"], "type": body.get("type"),
                                    "name": body.get("name"), "description": body.get("description"),
                                    "options": body.get("options"), "created_at": NOW, "updated_at": NOW}
        return self._viz_json(self.visualizations[vid])

    def _update_visualization(self, vid: str, *, query: dict, body: dict) -> dict:
        if int(vid) not in self.visualizations:
            raise Reply(404, "fake: no such visualization")
        body.pop("id", None)
        body.pop("query_id", None)
        _strict(body, {"type", "name", "description", "options"}, f"POST /api/visualizations/{vid}")
        self.visualizations[int(vid)].update(body)
        return self._viz_json(self.visualizations[int(vid)])

    def _new_dashboard(self, name: str, user: dict) -> dict:
        did = next(self._ids["dashboard"])
        slug = slugify(name)
        if any(d["slug"] == slug for d in self.dashboards.values()):
            slug = f"{slug}_{did}"
        self.dashboards[did] = {
            "id": did, "slug": slug, "name": name, "user_id": user["id"], "layout": [],
            "dashboard_filters_enabled": False, "options": {}, "is_archived": False, "is_draft": True, "tags": [],
            "updated_at": NOW, "created_at": NOW, "version": 1,
        }
        return self.dashboards[did]

    def _list_dashboards(self, *, query: dict, body: Any) -> dict:
        tags, term = query.get("tags", []), query.get("q", [""])[0].lower()
        items = [d for d in self.dashboards.values() if not d["is_archived"]
                 and (d["user_id"] == self.user["id"] or not d["is_draft"])
                 and all(t in d["tags"] for t in tags) and term in d["name"].lower()]
        items.sort(key=lambda d: d["id"], reverse=True)
        return self._page([self._dashboard_json(d) for d in items], query)

    def _create_dashboard(self, *, query: dict, body: dict) -> dict:
        if "name" not in body:
            raise Reply(400, "fake: POST /api/dashboards needs name")
        return self._dashboard_json(self._new_dashboard(body["name"], self.user))

    def _dashboard(self, key: str, by: str = "id") -> dict:
        for board in self.dashboards.values():
            if (by == "id" and str(board["id"]) == key) or (by == "slug" and board["slug"] == key):
                return board
        raise Reply(404, "fake: no such dashboard")

    def _get_dashboard(self, key: str, *, query: dict, body: Any) -> dict:
        by = "slug" if self.dashboard_lookup == "slug" or "legacy" in query else "id"
        return {**self._dashboard_json(self._dashboard(key, by), with_widgets=True), "can_edit": True}

    def _update_dashboard(self, did: str, *, query: dict, body: dict) -> dict:
        board = self._dashboard(did)
        updates = {k: v for k, v in body.items() if k in ("name", "layout", "version", "tags", "is_draft",
                                                             "is_archived", "dashboard_filters_enabled", "options")}
        if "version" in updates and updates.pop("version") != board["version"]:
            raise Reply(409, "fake: version conflict")
        board.update(updates)
        board["version"] += 1
        return self._dashboard_json(board, with_widgets=True)

    def _create_widget(self, *, query: dict, body: dict) -> dict:
        body.pop("id", None)
        if "visualization_id" not in body:
            raise Reply(400, "fake: POST /api/widgets needs visualization_id (null for a text box)")
        _strict(body, {"dashboard_id", "visualization_id", "text", "width", "options"}, "POST /api/widgets")
        self._dashboard(str(body.get("dashboard_id")))
        if body["visualization_id"] is not None and body["visualization_id"] not in self.visualizations:
            raise Reply(404, "fake: no such visualization")
        widget = self.add_widget(body["dashboard_id"], visualization_id=body["visualization_id"],
                                 text=body.get("text") or "", options=body.get("options") or {})
        widget["width"] = body.get("width", 1)
        return self._widget_json(widget)

    def _update_widget(self, wid: str, *, query: dict, body: dict) -> dict:
        if int(wid) not in self.widgets:
            raise Reply(404, "fake: no such widget")
        if "text" not in body or "options" not in body:
            raise Reply(400, "fake: POST /api/widgets/<id> needs text and options")
        self.widgets[int(wid)].update(text=body["text"], options=body["options"])
        return self._widget_json(self.widgets[int(wid)])
