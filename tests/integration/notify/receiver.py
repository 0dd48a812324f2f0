"""A real HTTP server on 127.0.0.1 playing a webhook receiver: it verifies each request's Standard
Webhooks signature with the `standardwebhooks` verifier, keeps what it got, and answers as told (a
status per request, or a pause first to play a receiver that hangs)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool

    @property
    def message(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str = ""
    secrets: list[str] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    # What to answer, request by request (the last repeats): a status, or ("hang", seconds, status).
    answers: list[Any] = field(default_factory=lambda: [200])
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: int = 0  # requests that came in, answered or not yet


    def answer(self) -> Any:
        with self.lock:
            return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    def messages(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r.message for r in self.received]


@contextmanager
def receiving(*answers: Any) -> Iterator[Receiver]:
    receiver = Receiver(answers=list(answers) or [200])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            with receiver.lock:
                receiver.arrived += 1
            headers = {k.lower(): v for k, v in self.headers.items()}
            verified = False
            for secret in receiver.secrets:
                try:
                    Webhook(secret).verify(body, headers)
                    verified = True
                except WebhookVerificationError:
                    pass
            answer = receiver.answer()
            if isinstance(answer, tuple) and answer[0] == "hang":
                time.sleep(answer[1])
                answer = answer[2]
            with receiver.lock:
                receiver.received.append(Received(headers, body, verified))
            self.send_response(answer)
            self.send_header("content-type", "text/plain")
            self.end_headers()
            self.wfile.write(f"answered {answer}".encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
