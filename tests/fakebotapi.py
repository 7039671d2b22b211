"""A fake Telegram Bot API server on 127.0.0.1 for end-to-end tests.

It speaks real HTTP (the bot under test is pointed at it with ``base_url``/``base_file_url``), serves
queued updates through long-polled ``getUpdates``, serves uploaded files, checks what Telegram checks
(token, message length, HTML markup) and records every request, with the files uploaded by sendPhoto and
sendDocument (multipart). ``fail_next`` makes the next call of a method answer ``429 Too Many Requests``
with ``retry_after``.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote

JSON_FIELDS = {
    "reply_markup", "entities", "reply_parameters", "results", "commands", "allowed_updates", "button",
    "link_preview_options", "scope",
}
HTML_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "tg-spoiler", "span",
    "blockquote", "tg-emoji",
}
MAX_TEXT = 4096
POLL_CAP_S = 0.5  # longest a getUpdates call is held open (keeps shutdown quick)


@dataclass
class Call:
    """One request the bot made."""

    method: str
    params: dict[str, Any]
    status: int = 200
    result: Any = None
    at: float = field(default_factory=time.monotonic)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # field → (file name, content)

    @property
    def text(self) -> str:
        return str(self.params.get("text", ""))

    @property
    def chat_id(self) -> int | None:
        chat = self.params.get("chat_id")
        return int(chat) if chat is not None else None


class _Markup(HTMLParser):
    """Telegram's HTML rules: known tags, properly nested, no stray '<'; collects the visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.visible: list[str] = []
        self.error = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in HTML_TAGS:
            self.error = self.error or f"unsupported start tag \"{tag}\""
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.error = self.error or f"unexpected end tag \"{tag}\""

    def handle_data(self, data: str) -> None:
        if "<" in data:
            self.error = self.error or "unescaped '<'"
        self.visible.append(data)


def visible_text(text: str, parse_mode: str | None) -> tuple[str, str]:
    """(what the user sees, error) — the error is Telegram's 'can't parse entities' reason, or ''."""
    if (parse_mode or "").upper() != "HTML":
        return text, ""
    parser = _Markup()
    if re.search(r"&(?!(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)", text):
        return text, "unsupported entity"
    parser.feed(text)
    parser.close()
    if parser.stack and not parser.error:
        parser.error = f"unclosed tag \"{parser.stack[-1]}\""
    return "".join(parser.visible), parser.error


class FakeBotApi:
    """The server, its update queue, its files and the record of calls."""

    def __init__(self, token: str, *, username: str = "fazhi_test_bot", bot_id: int = 7000001) -> None:
        self.token = token
        self.me = {"id": bot_id, "is_bot": True, "first_name": "法治问答", "username": username,
                   "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": True}
        self.calls: list[Call] = []
        self.files: dict[str, tuple[str, bytes]] = {}
        self.chats: dict[int, dict[str, Any]] = {}
        self._updates: list[dict[str, Any]] = []
        self._failures: dict[str, list[int]] = {}
        self._ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._cond = threading.Condition()
        self._stopping = False
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-bot-api", daemon=True)

    # ---- life cycle ----
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    def start(self) -> FakeBotApi:
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeBotApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- what users do ----
    def push(self, update: dict[str, Any]) -> int:
        """Queue an update (its ``update_id`` is assigned here) for the bot's next getUpdates."""
        with self._cond:
            update = {"update_id": next(self._ids), **update}
            self._updates.append(update)
            self._cond.notify_all()
            return update["update_id"]

    def message(self, text: str | None = None, *, user: int, chat: int | None = None, chat_type: str = "private",
                reply_to: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
        """Push a message from ``user`` (``text`` gets the command/mention entities a client adds)."""
        chat_id = user if chat is None else chat
        chat_info = {"id": chat_id, "type": chat_type}
        if chat_type != "private":
            chat_info["title"] = "法治培训会"
        self.chats[chat_id] = chat_info
        message: dict[str, Any] = {
            "message_id": next(self._message_ids), "date": int(time.time()), "chat": chat_info,
            "from": {"id": user, "is_bot": False, "first_name": f"用户{user}", "language_code": "zh-hans"},
            **fields,
        }
        if text is not None:
            message["text"] = text
            entities = _entities(text)
            if entities:
                message["entities"] = entities
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        self.push({"message": message})
        return message

    def callback(self, data: str, *, user: int, message: dict[str, Any]) -> None:
        self.push({"callback_query": {"id": str(next(self._ids)), "chat_instance": "ci", "data": data,
                                      "from": {"id": user, "is_bot": False, "first_name": f"用户{user}"},
                                      "message": message}})

    def inline(self, query: str, *, user: int) -> None:
        self.push({"inline_query": {"id": str(next(self._ids)), "query": query, "offset": "",
                                    "from": {"id": user, "is_bot": False, "first_name": f"用户{user}"}}})

    def add_file(self, name: str, content: bytes) -> dict[str, Any]:
        """Store a file as Telegram would; returns the ``document`` object of a message carrying it."""
        file_id = f"file{next(self._ids)}"
        self.files[file_id] = (f"documents/{file_id}_{name}", content)
        return {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_name": name, "file_size": len(content)}

    def fail_next(self, method: str, *, retry_after: int = 1, times: int = 1) -> None:
        with self._cond:
            self._failures.setdefault(method, []).extend([retry_after] * times)

    # ---- what the bot did ----
    def requests(self, method: str | None = None, *, chat: int | None = None) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if (method is None or c.method == method)
                    and (chat is None or c.chat_id == chat)]

    def sent(self, chat: int | None = None) -> list[Call]:
        """Messages delivered (sendMessage/editMessageText answered 200), oldest first."""
        return [c for c in self.requests(chat=chat)
                if c.method in ("sendMessage", "editMessageText") and c.status == 200]

    def wait_for(self, predicate: Callable[[list[Call]], Any], timeout: float = 60.0) -> Any:
        """Block until ``predicate(calls)`` is truthy and return its value; fail after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = predicate(list(self.calls))
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out; last calls: {[(c.method, c.text[:60]) for c in self.calls[-8:]]}")
                self._cond.wait(min(left, 0.5))

    def wait_sent(self, chat: int, count: int = 1, timeout: float = 60.0) -> list[Call]:
        """Wait until ``chat`` got at least ``count`` messages in total; return them all."""
        if count <= 0:
            return self.sent(chat)
        return self.wait_for(lambda _: (lambda s: s if len(s) >= count else None)(self.sent(chat)), timeout)

    # ---- the server side ----
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
                pass

            def do_GET(self) -> None:  # noqa: N802
                self._route()

            def do_POST(self) -> None:  # noqa: N802
                self._route()

            def _route(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, payload, kind = api._dispatch(self.path, self.headers.get("Content-Type", ""), body)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the bot hung up (it is shutting down)

        return Handler

    def _dispatch(self, path: str, content_type: str, body: bytes) -> tuple[int, bytes, str]:
        file_prefix, api_prefix = f"/file/bot{self.token}/", f"/bot{self.token}/"
        path = unquote(path)
        if path.startswith(file_prefix):
            wanted = path[len(file_prefix):]
            for stored_path, content in self.files.values():
                if stored_path == wanted:
                    return 200, content, "application/octet-stream"
            return 404, b"Not Found", "text/plain"
        if not path.startswith(api_prefix):
            return _error(401, "Unauthorized")
        method = path[len(api_prefix):].split("?")[0]
        params, files = _multipart(content_type, body) if content_type.startswith("multipart/") else (
            _params(content_type, body), {})
        call = Call(method, params, files=files)
        status, result = self._answer(call)
        call.status, call.result = status, result
        with self._cond:
            if method != "getUpdates":
                self.calls.append(call)
            self._cond.notify_all()
        if status != 200:
            return _error(status, str(result), retry_after=params.get("_retry_after"))
        return 200, json.dumps({"ok": True, "result": result}, ensure_ascii=False).encode(), "application/json"

    def _answer(self, call: Call) -> tuple[int, Any]:
        with self._cond:
            pending = self._failures.get(call.method)
            if pending:
                call.params["_retry_after"] = pending.pop(0)
                return 429, f"Too Many Requests: retry after {call.params['_retry_after']}"
        method, params = call.method, call.params
        if method == "getMe":
            return 200, self.me
        if method == "getUpdates":
            return 200, self._poll(params)
        if method in ("sendMessage", "editMessageText"):
            return self._message(params)
        if method in ("sendPhoto", "sendDocument"):
            return self._media(call)
        if method == "getFile":
            stored = self.files.get(str(params.get("file_id")))
            if stored is None:
                return 400, "Bad Request: invalid file_id"
            return 200, {"file_id": params["file_id"], "file_unique_id": "u" + str(params["file_id"]),
                         "file_size": len(stored[1]), "file_path": stored[0]}
        if method in ("deleteWebhook", "setMyCommands", "sendChatAction", "answerCallbackQuery",
                      "answerInlineQuery", "close", "logOut", "setWebhook"):
            return 200, True
        return 404, "Not Found: method not found"

    def _message(self, params: dict[str, Any]) -> tuple[int, Any]:
        text = str(params.get("text", ""))
        visible, error = visible_text(text, params.get("parse_mode"))
        if error:
            return 400, f"Bad Request: can't parse entities: {error}"
        if not visible.strip():
            return 400, "Bad Request: message text is empty"
        if len(visible.encode("utf-16-le")) // 2 > MAX_TEXT:
            return 400, "Bad Request: message is too long"
        chat_id = int(params["chat_id"])
        message: dict[str, Any] = {
            "message_id": int(params.get("message_id") or next(self._message_ids)), "date": int(time.time()),
            "chat": self.chats.get(chat_id, {"id": chat_id, "type": "private"}), "from": self.me, "text": visible,
        }
        if "inline_keyboard" in (params.get("reply_markup") or {}):  # a message keeps inline keyboards only
            message["reply_markup"] = params["reply_markup"]
        return 200, message

    def _media(self, call: Call) -> tuple[int, Any]:
        kind = "photo" if call.method == "sendPhoto" else "document"
        if kind not in call.files:
            return 400, f"Bad Request: there is no {kind} in the request"
        if len(str(call.params.get("caption", ""))) > 1024:
            return 400, "Bad Request: message caption is too long"
        name, content = call.files[kind]
        chat_id = int(call.params["chat_id"])
        file = {"file_id": f"sent{next(self._ids)}", "file_unique_id": f"us{len(content)}", "file_size": len(content)}
        media: Any = [{**file, "width": 800, "height": 600}] if kind == "photo" else {**file, "file_name": name}
        return 200, {"message_id": next(self._message_ids), "date": int(time.time()), "from": self.me,
                     "chat": self.chats.get(chat_id, {"id": chat_id, "type": "private"}), kind: media,
                     "caption": call.params.get("caption", "")}

    def _poll(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), POLL_CAP_S)
        with self._cond:
            while True:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
                left = deadline - time.monotonic()
                if self._updates or self._stopping or left <= 0:
                    return self._updates[:limit]
                self._cond.wait(left)


def _params(content_type: str, body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    if content_type.startswith("application/json"):
        return json.loads(body)
    fields = parse_qs(body.decode(), keep_blank_values=True)
    params: dict[str, Any] = {key: values[-1] for key, values in fields.items()}
    for key in JSON_FIELDS & params.keys():
        params[key] = json.loads(params[key])
    return params


def _multipart(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, tuple[str, bytes]]]:
    """A multipart/form-data body: its plain fields (JSON fields decoded) and its files."""
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    params: dict[str, Any] = {}
    files: dict[str, tuple[str, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        content = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            files[str(name)] = (filename, content)
        else:
            params[str(name)] = content.decode()
    for key in JSON_FIELDS & params.keys():
        params[key] = json.loads(params[key])
    return params, files


def _error(status: int, description: str, retry_after: Any = None) -> tuple[int, bytes, str]:
    payload: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        payload["parameters"] = {"retry_after": int(retry_after)}
    return status, json.dumps(payload).encode(), "application/json"


def _entities(text: str) -> list[dict[str, Any]]:
    """The entities a Telegram client attaches: a leading /command and @mentions (UTF-16 offsets)."""
    found = []
    command = re.match(r"/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?", text)
    if command:
        found.append(("bot_command", 0, command.end()))
    found += [("mention", m.start(), m.end()) for m in re.finditer(r"@[A-Za-z0-9_]{5,}", text)
              if not (command and m.start() < command.end())]
    return [{"type": kind, "offset": _u16(text[:start]), "length": _u16(text[start:end])} for kind, start, end in found]


def _u16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
