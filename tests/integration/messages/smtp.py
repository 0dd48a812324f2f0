"""A real SMTP server on 127.0.0.1 (aiosmtpd) for the e-mail channel's tests: it keeps what it receives,
as sent and parsed with the email package; it can refuse chosen recipients with a given reply, ask for
a username and password, and speak TLS (STARTTLS or implicit) with a certificate made for the test.

    with smtp_server(refuse={"gone@example.com": "550 5.1.1 no such user"}) as server:
        config = {"provider": "smtp", "host": server.host, "port": server.port, "starttls": False, ...}
        ...
        [received] = server.received
        assert received.message["Subject"] == "..."
"""

from __future__ import annotations

import re
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

HOST = "127.0.0.1"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes  # as it came over the wire
    message: EmailMessage

    def header(self, name: str) -> str:
        """A header exactly as sent, its folded lines joined (to see that nothing was RFC 2047-encoded)."""
        head = self.raw.split(b"\r\n\r\n", 1)[0].decode()
        for line in re.sub(r"\r\n(?=[ \t])", "", head).split("\r\n"):
            key, _, value = line.partition(":")
            if key.lower() == name.lower():
                return value.strip()
        raise KeyError(name)


@dataclass
class SmtpServer:
    host: str
    port: int
    received: list[Received] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)  # (username, password) of each AUTH that succeeded
    lock: threading.Lock = field(default_factory=threading.Lock)

    def messages(self) -> list[EmailMessage]:
        with self.lock:
            return [r.message for r in self.received]


class _Handler:
    def __init__(self, server: SmtpServer, refuse: Mapping[str, str]) -> None:
        self.server, self.refuse = server, {address.lower(): reply for address, reply in refuse.items()}

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:  # aiosmtpd's name
        reply = self.refuse.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd's name
        raw = envelope.original_content or envelope.content
        message = message_from_bytes(raw.replace(b"\r\n", b"\n"), policy=policy.default)  # the email package reads \n lines
        with self.server.lock:
            self.server.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), raw, message))  # type: ignore[arg-type]
        return "250 2.0.0 Ok: queued as TEST-QUEUE-ID"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def make_certificate(folder: Path) -> Path | None:
    """A self-signed certificate for 127.0.0.1 (key and certificate in one PEM file), made with the openssl
    command; None where there is none. A client trusts it with SSL_CERT_FILE pointing at the file."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    pem = folder / "smtp-test.pem"
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    pem.write_bytes(cert.read_bytes() + key.read_bytes())
    return pem


@contextmanager
def smtp_server(
    *, refuse: Mapping[str, str] | None = None, users: Mapping[str, str] | None = None, certificate: Path | None = None,
    implicit_tls: bool = False,
) -> Iterator[SmtpServer]:
    """Serve SMTP on 127.0.0.1 until the block ends. `refuse` maps addresses to the RCPT reply they get
    ("550 5.1.1 no such user", "451 4.3.0 try later"); `users` (name → password) makes AUTH required, in
    clear unless a `certificate` is given; with one, STARTTLS is offered, or TLS from the first byte
    (`implicit_tls`, SMTPS)."""
    server = SmtpServer(HOST, free_port())
    kwargs: dict[str, Any] = {}
    if users is not None:
        def authenticate(smtp: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
            if isinstance(data, LoginPassword):
                login, password = data.login.decode(), data.password.decode()
                if users.get(login) == password:
                    with server.lock:
                        server.logins.append((login, password))
                    return AuthResult(success=True)
            return AuthResult(success=False, handled=False)

        kwargs.update(authenticator=authenticate, auth_required=True, auth_require_tls=certificate is not None and not implicit_tls)
    if certificate is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certificate)
        if implicit_tls:
            kwargs.update(ssl_context=context)
        else:
            kwargs.update(tls_context=context, require_starttls=True)
    controller = Controller(_Handler(server, refuse or {}), hostname=HOST, port=server.port, **kwargs)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


@contextmanager
def silent_server() -> Iterator[int]:
    """A port that takes connections and never says a word (an SMTP server that hangs): its port."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        sock.listen(8)
        yield int(sock.getsockname()[1])
