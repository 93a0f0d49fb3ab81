"""A reverse proxy on loopback that serves a service under a path prefix, as nginx would.

It strips the prefix and says what it did in ``X-Forwarded-Prefix`` (with
``-For``, ``-Host`` and ``-Proto``), the headers ProxyFix reads.
"""

from __future__ import annotations

import contextlib
import http.client
import http.server
import threading
import urllib.parse
from collections.abc import Iterator

# Headers about one connection, not the message; the proxy's own server sets
# Date, Server and Content-Length.
NOT_FORWARDED = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "host",
    "date",
    "server",
    "content-length",
}


def _handler(upstream: urllib.parse.SplitResult, prefix: str) -> type[http.server.BaseHTTPRequestHandler]:
    class Forward(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def forward(self) -> None:
            if self.path != prefix and not self.path.startswith(prefix + "/"):
                self.send_error(404, f"only {prefix}/ is proxied")
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in NOT_FORWARDED}
            headers.update(
                {
                    "X-Forwarded-For": self.client_address[0],
                    "X-Forwarded-Host": self.headers.get("Host", ""),
                    "X-Forwarded-Proto": "http",
                    "X-Forwarded-Prefix": prefix,
                }
            )
            connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=30)
            try:
                connection.request(self.command, self.path[len(prefix) :] or "/", body=body, headers=headers)
                answer = connection.getresponse()
                data = answer.read()
            finally:
                connection.close()
            self.send_response(answer.status, answer.reason)
            for name, value in answer.getheaders():
                if name.lower() not in NOT_FORWARDED:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = forward

        def log_message(self, format, *args):  # quiet: pytest shows failures, not traffic
            pass

    return Forward


@contextlib.contextmanager
def prefix_proxy(upstream: str, prefix: str) -> Iterator[str]:
    """Serve ``upstream`` under ``prefix`` (``/enviro``) on a free loopback port; yields the proxy's URL."""
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), _handler(urllib.parse.urlsplit(upstream), prefix)
    )
    thread = threading.Thread(target=server.serve_forever, name="prefix-proxy", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
