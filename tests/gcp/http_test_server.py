#!/usr/bin/env python3
"""A loopback server with scripted misbehaviour for the HTTP layer's tests (test_http.c).

  /flaky/KEY/N/CODE   the first N requests answer CODE (Google-style JSON error), then 200
  /retry-after/KEY    the first request answers 429 with "Retry-After: 1", then 200
  /drop/KEY/N         the first N requests get the connection closed without an answer
  /bad                400 {"error":{"code":400,"message":"Invalid bucket name: 'x y'"}}
  /echo/KEY/N         (PUT/POST) the first N answer 503 after reading the body; then 200
                      {"len":..., "sha256":...} of the body
  /stream/N           N bytes of a pattern (byte i = i*7 mod 251)
  /stall              headers and 10 bytes, then silence for 30 s
  /count/KEY          {"n": requests seen for KEY}
  /ports              {"ports": [client port of every request so far]} (connection reuse)
The port is written to --port-file; the server exits after --lifetime seconds.
"""
import argparse
import collections
import hashlib
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

counts = collections.Counter()
ports = []
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        pass

    def send(self, code, body, headers=()):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def seen(self, key):
        with lock:
            counts[key] += 1
            return counts[key]

    def handle_any(self):
        parts = self.path.strip("/").split("/")
        with lock:
            ports.append(self.client_address[1])
        kind = parts[0]
        if kind == "flaky":
            key, n, code = parts[1], int(parts[2]), int(parts[3])
            self.body()
            if self.seen(key) <= n:
                return self.send(code, {"error": {"code": code, "message": "flaky %s" % key}})
            return self.send(200, {"ok": True})
        if kind == "retry-after":
            if self.seen(parts[1]) == 1:
                return self.send(429, {"error": {"code": 429, "message": "slow down"}}, [("Retry-After", "1")])
            return self.send(200, {"ok": True})
        if kind == "drop":
            if self.seen(parts[1]) <= int(parts[2]):
                self.close_connection = True
                self.connection.shutdown(2)
                return
            return self.send(200, {"ok": True})
        if kind == "bad":
            return self.send(400, {"error": {"code": 400, "message": "Invalid bucket name: 'x y'"}})
        if kind == "echo":
            data = self.body()
            if self.seen(parts[1]) <= int(parts[2]):
                return self.send(503, {"error": {"code": 503, "message": "try again"}})
            return self.send(200, {"len": len(data), "sha256": hashlib.sha256(data).hexdigest()})
        if kind == "stream":
            n = int(parts[1])
            return self.send(200, bytes((i * 7) % 251 for i in range(n)))
        if kind == "stall":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"x" * 10)
            self.wfile.flush()
            time.sleep(30)
            return
        if kind == "count":
            return self.send(200, {"n": counts[parts[1]]})
        if kind == "ports":
            return self.send(200, {"ports": ports})
        self.send(404, {"error": {"code": 404, "message": "no route"}})

    do_GET = do_POST = do_PUT = do_DELETE = handle_any


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--lifetime", type=float, default=120)
    a = p.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Timer(a.lifetime, server.shutdown).start()
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(a.port_file + ".tmp", a.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
