"""MJPEG over HTTP (multipart/x-mixed-replace): a browser, OBS or VLC can show the output.

Design, so a slow viewer never slows the pipeline: ``write()`` encodes the JPEG once per frame (and not at all while
nobody is watching), publishes it under a lock held only to swap a reference, and returns. Each client thread keeps
its own cursor on the newest frame: when it wakes it sends the newest one and skips whatever it missed (counted as
dropped), so a stalled client only falls behind, and after ``client_timeout`` seconds of not reading it is dropped.
Bound to 127.0.0.1 unless a host is given; an optional token is checked on every request.
"""

from __future__ import annotations

import errno
import hmac
import html
import logging
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlsplit

import cv2
import numpy as np

from livestyle.errors import SinkError
from livestyle.frames import Frame

log = logging.getLogger("livestyle.sinks")

BOUNDARY = "livestyleframe"

_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>livestyle</title>
<style>html,body{{margin:0;background:#111;height:100%}}img{{display:block;max-width:100%;max-height:100vh;margin:auto}}</style>
</head><body><img src="{src}" alt="livestyle stream"></body></html>
"""


class MjpegSink:
    """Serves the newest frame at ``/stream`` (MJPEG), ``/snapshot.jpg`` (one JPEG) and ``/`` (a page showing it)."""

    def __init__(
        self,
        port: int,
        host: str = "127.0.0.1",
        token: str | None = None,
        quality: int = 80,
        client_timeout: float = 10.0,
    ) -> None:
        self.token = token or None
        self._quality = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
        self._cond = threading.Condition()
        self._encode_lock = threading.Lock()
        self._seq = 0  # number of the newest frame
        self._rgb: np.ndarray | None = None  # newest frame
        self._jpeg: tuple[int, bytes] | None = None  # (seq, JPEG) of the newest encoded frame
        self._streaming = 0  # clients on /stream
        self._connections: set[socket.socket] = set()
        self._closed = False
        self.client_drops = 0  # frames clients skipped because they were slower than the pipeline
        self.clients_served = 0
        try:
            self._server = _Server((host, int(port)), _make_handler(self, client_timeout))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise SinkError(f"port {port} on {host} is in use: pick another with --sink http:PORT") from None
            if exc.errno == errno.EACCES:
                raise SinkError(f"no permission to listen on port {port}: use a port above 1023") from None
            raise SinkError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        self.host = host
        self.port = int(self._server.server_address[1])
        self.name = f"http:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name=f"livestyle-http-{self.port}", daemon=True)
        self._thread.start()
        log.info("MJPEG stream at %s", self.url)

    @property
    def url(self) -> str:
        """The page to open in a browser (with the token, if one is set)."""
        shown = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        shown = f"[{shown}]" if ":" in shown else shown
        query = f"?token={quote(self.token)}" if self.token else ""
        return f"http://{shown}:{self.port}/{query}"

    @property
    def stream_url(self) -> str:
        return self.url.replace(f":{self.port}/", f":{self.port}/stream", 1)

    @property
    def clients(self) -> int:
        return self._streaming

    # -- FrameSink --------------------------------------------------------------------------------------------
    def write(self, frame: Frame) -> None:
        if self._closed:
            raise SinkError(f"{self.name} is closed")
        with self._cond:
            self._seq += 1
            seq = self._seq
            self._rgb = frame.image
            watching = self._streaming > 0
        if watching:
            jpeg = self._encode(frame.image)  # once per frame, shared by every client
            with self._cond:
                if self._jpeg is None or self._jpeg[0] < seq:
                    self._jpeg = (seq, jpeg)
                self._cond.notify_all()

    def close(self) -> None:
        if self._closed:
            return
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            connections = list(self._connections)
        for conn in connections:  # unblock clients stuck in send()
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=2.0)

    def __enter__(self) -> "MjpegSink":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- used by the handler ----------------------------------------------------------------------------------
    def _encode(self, rgb: np.ndarray) -> bytes:
        ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), self._quality)
        if not ok:
            raise SinkError("JPEG encoding failed")
        return data.tobytes()

    def _newest_jpeg(self) -> tuple[int, bytes] | None:
        """The newest frame as JPEG, encoding it here if ``write`` skipped that (nobody was watching then)."""
        with self._cond:
            seq, rgb, cached = self._seq, self._rgb, self._jpeg
        if rgb is None:
            return None
        if cached is not None and cached[0] == seq:
            return cached
        with self._encode_lock:
            with self._cond:
                if self._jpeg is not None and self._jpeg[0] >= seq:
                    return self._jpeg
            jpeg = (seq, self._encode(rgb))
            with self._cond:
                if self._jpeg is None or self._jpeg[0] < seq:
                    self._jpeg = jpeg
            return jpeg

    def _wait_newer(self, last: int) -> bool:
        """Block until a frame newer than ``last`` exists; False when the sink closes."""
        with self._cond:
            while not self._closed and self._seq <= last:
                self._cond.wait(0.5)
            return not self._closed

    def _authorized(self, path: str, headers: object) -> bool:
        if self.token is None:
            return True
        given = parse_qs(urlsplit(path).query).get("token", [""])[0]
        auth = getattr(headers, "get")("Authorization", "") or ""
        if auth.lower().startswith("bearer "):
            given = auth[7:].strip()
        return hmac.compare_digest(given.encode(), self.token.encode())

    def _client(self, conn: socket.socket, streaming: bool, add: bool) -> None:
        with self._cond:
            if add:
                self._connections.add(conn)
                self._streaming += int(streaming)
                self.clients_served += int(streaming)
            else:
                self._connections.discard(conn)
                self._streaming -= int(streaming)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # SO_REUSEADDR lets a restarted run rebind while old connections sit in TIME_WAIT; on POSIX it never lets two
    # servers share a listening port. On Windows it would, so there the exclusive flag is used instead.
    allow_reuse_address = not sys.platform.startswith("win")

    def server_bind(self) -> None:
        if sys.platform.startswith("win") and hasattr(socket, "SO_EXCLUSIVEADDRUSE"):
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
        super().server_bind()

    def handle_error(self, request: object, client_address: object) -> None:
        log.debug("http client %s: error", client_address, exc_info=True)


def _make_handler(sink: MjpegSink, client_timeout: float) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "livestyle"
        timeout = client_timeout  # a client that stops reading is dropped after this long

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (base class name)
            log.debug("http %s " + format, self.client_address[0], *args)

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            path = urlsplit(self.path).path
            if not sink._authorized(self.path, self.headers):
                self._plain(401, "missing or wrong token: add ?token=... or an 'Authorization: Bearer' header\n",
                            {"WWW-Authenticate": "Bearer"})
                return
            if path in ("/", "/index.html"):
                src = "/stream" + (f"?token={quote(sink.token)}" if sink.token else "")
                self._send(200, "text/html; charset=utf-8", _PAGE.format(src=html.escape(src)).encode())
            elif path == "/stream":
                self._stream()
            elif path in ("/snapshot.jpg", "/snapshot"):
                newest = sink._newest_jpeg()
                if newest is None:
                    self._plain(503, "no frame yet\n", {"Retry-After": "1"})
                else:
                    self._send(200, "image/jpeg", newest[1])
            else:
                self._plain(404, "not found: try /, /stream or /snapshot.jpg\n")

        def _plain(self, code: int, text: str, headers: dict[str, str] | None = None) -> None:
            self._send(code, "text/plain; charset=utf-8", text.encode(), headers)

        def _send(self, code: int, ctype: str, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def _stream(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
            self.send_header("Cache-Control", "no-store, no-cache, must-revalidate")
            self.send_header("Pragma", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            conn = self.connection
            sink._client(conn, streaming=True, add=True)
            last = 0
            try:
                newest = sink._newest_jpeg()
                while True:
                    if newest is None or newest[0] <= last:
                        if not sink._wait_newer(last):
                            return
                        newest = sink._newest_jpeg()
                        if newest is None:
                            continue
                    seq, jpeg = newest
                    if last and seq > last + 1:
                        with sink._cond:
                            sink.client_drops += seq - last - 1
                    last = seq
                    head = (f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n").encode()
                    self.wfile.write(head + jpeg + b"\r\n")
                    newest = None
            except (OSError, ValueError):  # client gone or too slow (timeout); never the pipeline's problem
                return
            finally:
                sink._client(conn, streaming=True, add=False)
                self.close_connection = True

    return Handler
