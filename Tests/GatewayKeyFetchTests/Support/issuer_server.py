#!/usr/bin/env python3
"""Serve OpenID discovery metadata and a JWKS over HTTPS for the key fetch tests.

Listens on 127.0.0.1 on an ephemeral port and prints "ready port=N" when it accepts
connections. The test controls it through stdin, one command per line, and each command
gets one reply line starting with "ok" or "error":

    rotate                      replace the signing key with a new one, reply its kid
    mode PATH MODE [ARGUMENT]   how PATH responds; Handler.answer lists the modes
    cache-control VALUE|none    Cache-Control of the JWKS response
    count PATH                  number of requests for PATH
    connections                 number of TLS connections accepted
    header NAME                 that request header of the last request
    quit                        stop

The server also stops when stdin closes, so it cannot outlive the test process.
"""

import argparse
import base64
import http.server
import json
import signal
import socketserver
import ssl
import sys
import threading
import time

from cryptography.hazmat.primitives.asymmetric import ec


def base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class IssuerState:
    """Everything the handlers read and the command loop changes, behind one lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.issuer = ""
        self.port = 0
        self.key_number = 0
        self.keys = []
        self.modes = {}
        self.cache_control = "max-age=300"
        self.counts = {}
        self.connections = 0
        self.last_headers = {}
        self.stopping = threading.Event()
        self.rotate()

    def rotate(self) -> str:
        """Replace the key set with one new P-256 key and return its kid."""
        self.key_number += 1
        numbers = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
        kid = f"key-{self.key_number}"
        self.keys = [{
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
            "x": base64url(numbers.x.to_bytes(32, "big")),
            "y": base64url(numbers.y.to_bytes(32, "big")),
        }]
        return kid


STATE = IssuerState()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - signature fixed by the base class
        pass

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        with STATE.lock:
            STATE.counts[path] = STATE.counts.get(path, 0) + 1
            STATE.last_headers = {name.lower(): value for name, value in self.headers.items()}
            mode, argument = STATE.modes.get(path, ("ok", ""))
        if path.startswith("/redirect/"):
            remaining = int(path.rsplit("/", 1)[1])
            self.redirect("/jwks" if remaining == 0 else f"/redirect/{remaining - 1}")
        elif path == "/redirect-http":
            self.redirect(f"http://127.0.0.1:{STATE.port}/jwks")
        else:
            self.answer(path, mode, argument)

    def answer(self, path: str, mode: str, argument: str) -> None:
        """Modes: ok, status N, hang SECONDS, oversized BYTES (with Content-Length),
        stream BYTES (no Content-Length, then close), invalid-json, no-usable-keys,
        wrong-issuer, http-jwks-uri."""
        if mode == "status":
            self.send_body(int(argument), b'{"error":"test"}')
        elif mode == "hang":
            deadline = time.monotonic() + float(argument)
            while time.monotonic() < deadline and not STATE.stopping.is_set():
                time.sleep(0.05)
            self.send_body(200, self.document(path))
        elif mode == "oversized":
            self.send_body(200, b" " * int(argument))
        elif mode == "stream":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            remaining = int(argument)
            try:
                while remaining > 0:
                    chunk = min(remaining, 4096)
                    self.wfile.write(b" " * chunk)
                    remaining -= chunk
            except OSError:
                pass
        elif mode == "invalid-json":
            self.send_body(200, b'{"keys": [')
        elif mode == "no-usable-keys":
            self.send_body(200, json.dumps({"keys": [{"kty": "EC", "crv": "P-999", "kid": "odd"}]}).encode())
        elif mode in ("wrong-issuer", "http-jwks-uri"):
            self.send_body(200, self.document(path, variant=mode))
        else:
            self.send_body(200, self.document(path))

    def document(self, path: str, variant: str = "") -> bytes:
        with STATE.lock:
            issuer = STATE.issuer
            keys = list(STATE.keys)
        base = f"https://127.0.0.1:{STATE.port}"
        if path == "/.well-known/openid-configuration":
            metadata = {
                "issuer": issuer + "/" if variant == "wrong-issuer" else issuer,
                "jwks_uri": base.replace("https:", "http:") + "/jwks" if variant == "http-jwks-uri" else base + "/jwks",
                "response_types_supported": ["code"],
            }
            return json.dumps(metadata).encode()
        return json.dumps({"keys": keys}).encode()

    def send_body(self, status: int, body: bytes) -> None:
        path = self.path.split("?", 1)[0]
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        with STATE.lock:
            cache_control = STATE.cache_control
        if path == "/jwks" and cache_control:
            self.send_header("Cache-Control", cache_control)
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, target: str) -> None:
        """Send a 302 redirect to target. /redirect/N leads to /redirect/N-1, /redirect/0
        to /jwks, and /redirect-http to the JWKS over plain http."""
        self.send_response(302)
        self.send_header("Location", target)
        self.send_header("Content-Length", "0")
        self.end_headers()


class TLSServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

    def __init__(self, context: ssl.SSLContext) -> None:
        self.context = context
        super().__init__(("127.0.0.1", 0), Handler)

    def finish_request(self, request, client_address) -> None:
        # The handshake runs here, in the connection's thread, so a client that stalls or
        # rejects the certificate does not block the accept loop.
        with STATE.lock:
            STATE.connections += 1
        try:
            connection = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        self.RequestHandlerClass(connection, client_address, self)

    def handle_error(self, request, client_address) -> None:
        pass


def run_command(line: str) -> str:
    words = line.split()
    if not words:
        return "error empty command"
    name, arguments = words[0], words[1:]
    with STATE.lock:
        if name == "rotate":
            return "ok " + STATE.rotate()
        if name == "mode" and len(arguments) >= 2:
            STATE.modes[arguments[0]] = (arguments[1], arguments[2] if len(arguments) > 2 else "")
            return "ok"
        if name == "cache-control" and arguments:
            value = " ".join(arguments)
            STATE.cache_control = "" if value == "none" else value
            return "ok"
        if name == "count" and len(arguments) == 1:
            return f"ok {STATE.counts.get(arguments[0], 0)}"
        if name == "connections":
            return f"ok {STATE.connections}"
        if name == "header" and len(arguments) == 1:
            return "ok " + STATE.last_headers.get(arguments[0].lower(), "")
    return f"error unknown command {line!r}"


def main() -> None:
    # The test process may start this one from a thread that blocks most signals, and a
    # child inherits that mask. Unblock them so that the test's SIGTERM ends the server.
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    signal.signal(signal.SIGTERM, signal.SIG_DFL)

    parser = argparse.ArgumentParser()
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    options = parser.parse_args()

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(options.cert, options.key)
    server = TLSServer(context)
    STATE.port = server.server_address[1]
    STATE.issuer = f"https://127.0.0.1:{STATE.port}"
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    print(f"ready port={STATE.port}", flush=True)

    for line in sys.stdin:
        if line.strip() == "quit":
            break
        print(run_command(line.strip()), flush=True)
    STATE.stopping.set()
    server.shutdown()


if __name__ == "__main__":
    main()
