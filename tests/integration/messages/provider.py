"""A real HTTP server on 127.0.0.1 playing an SMS or WhatsApp provider (Twilio, Unifonic, a JSON gateway):
it keeps every request as it came and answers as told, request by request (the last answer repeats),
or hangs first to play a provider that does not answer in time.

    with providing(twilio_created("SM123")) as provider:
        config = {"provider": "twilio", ..., "base_url": provider.url}
        ...
        assert provider.requests[0].form["To"] == "+966501234567"
"""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass(frozen=True)
class Answer:
    """What the provider answers: a status, a body (JSON for anything but bytes), after `hang` seconds."""

    status: int = 200
    body: Any = None
    hang: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


def twilio_created(sid: str = "SM" + "0" * 32, status: str = "queued") -> Answer:
    """Twilio's 201 for a message it accepted (a shortened Message resource)."""
    return Answer(201, {"sid": sid, "status": status, "error_code": None, "error_message": None, "api_version": "2010-04-01"})


def twilio_error(status: int, code: int, message: str) -> Answer:
    """Twilio's error body: its code, message and a link to the code's page."""
    return Answer(status, {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status})


def unifonic_sent(message_id: int = 42000348806924, *, success: Any = True, status: str = "Sent") -> Answer:
    return Answer(200, {"success": success, "message": "", "errorCode": "ER-00", "data": {
        "MessageID": message_id, "CorrelationID": "", "Status": status, "NumberOfUnits": 1, "Recipient": "966501234567",
    }})


def unifonic_error(code: str, message: str, *, status: int = 200) -> Answer:
    return Answer(status, {"success": False, "message": message, "errorCode": code, "data": {}})


@dataclass
class Request:
    method: str
    path: str  # with the query string
    headers: dict[str, str]  # names in lower case
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True, strict_parsing=True))

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def basic_auth(self) -> tuple[str, str] | None:
        scheme, _, value = self.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        user, _, password = base64.b64decode(value).decode().partition(":")
        return user, password


@dataclass
class Provider:
    url: str = ""  # http://127.0.0.1:<port>, no trailing slash
    answers: list[Answer] = field(default_factory=lambda: [Answer()])
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)

    def answer(self) -> Answer:
        with self.lock:
            return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


@contextmanager
def providing(*answers: Answer) -> Iterator[Provider]:
    provider = Provider(answers=list(answers) or [Answer()])

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            with provider.lock:  # kept on arrival, so a request the client gave up on is still there to check
                provider.requests.append(Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            answer = provider.answer()
            if answer.hang and provider.stopping.wait(answer.hang):
                return
            content = answer.body if isinstance(answer.body, bytes) else json.dumps(answer.body).encode() if answer.body is not None else b""
            try:
                self.send_response(answer.status)
                self.send_header("content-type", "application/json" if not isinstance(answer.body, bytes) else "text/plain")
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped waiting

        do_POST = do_GET = _serve

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    provider.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        provider.stopping.set()
        server.shutdown()
        server.server_close()


def refused_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
