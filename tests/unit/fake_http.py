"""The loopback HTTP server under every cloud API fake (fake_gandi, fake_ovhapi,
fake_openstack, fake_outscale, fake_scaleway).

A fake subclasses ``LoopbackApi`` and writes one method, ``reply(request)``: what its API
answers to that request, or ``DROP`` (the request is carried out, then the connection is
closed unanswered: a lost answer). The server is HTTP/1.1 with keep-alive on 127.0.0.1 and
a free port, its thread a daemon; ``busy`` adds up the seconds spent in ``reply`` so the
benches can tell the fake's time from the code under test.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    target: str          # the request target as sent: path and query, still quoted
    headers: Message
    raw: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    def query(self, keep_blank_values: bool = False) -> dict[str, str | list[str]]:
        """The query string: one value as a string, a repeated key as a list."""
        pairs = parse_qs(urlsplit(self.target).query, keep_blank_values=keep_blank_values)
        return {k: v if len(v) > 1 else v[0] for k, v in pairs.items()}

    def text(self) -> str:
        return self.raw.decode()


@dataclass
class Reply:
    status: int
    body: Any = None     # sent as JSON; None (or a 204) sends no body, JSON_NULL sends null
    headers: dict[str, str] = field(default_factory=dict)


DROP = object()
JSON_NULL = object()


class LoopbackApi:
    """Base of the API fakes; call ``_listen()`` from the constructor."""

    def _listen(self) -> None:
        self.busy = 0.0
        self._busy_lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,),
                                        daemon=True)

    def reply(self, request: Request) -> Reply | object:
        raise NotImplementedError

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self):
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _handler_for(fake: LoopbackApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def setup(self) -> None:
            super().setup()
            # headers and body go out in two writes: without this, delayed ACK adds
            # 40 ms to every keep-alive request
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            started = time.perf_counter()
            try:
                answer = fake.reply(Request(self.command, self.path, self.headers, raw))
            finally:
                with fake._busy_lock:
                    fake.busy += time.perf_counter() - started
            if answer is DROP:
                self.close_connection = True
                self.request.shutdown(socket.SHUT_RDWR)
                return
            assert isinstance(answer, Reply)
            if answer.body is None or answer.status == 204:
                data = b""
            else:
                data = json.dumps(None if answer.body is JSON_NULL else answer.body).encode()
            self.send_response(answer.status)
            for key, value in answer.headers.items():
                self.send_header(key, value)
            if data:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _any

    return Handler
