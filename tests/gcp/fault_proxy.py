#!/usr/bin/env python3
"""A fault-injecting HTTP proxy for the GCS tests: forwards to --upstream (fake-gcs-server) and,
for requests matching a rule, first misbehaves as the rule says.

  --rule 'METHOD PATH_SUBSTRING=ACTIONS'   e.g. 'PUT upload_id=drop,503,503,503'
     ACTIONS are used one per matching request, in order, then requests pass through:
       drop     read the headers and part of the body, then close the connection (no reply)
       503/429/500...  answer that status with a Google-style JSON error (not forwarded)
       forever503      answer 503 to every matching request
  --log FILE   one line per request: "METHOD PATH ACTION" (ACTION "pass" when forwarded)

Location headers of the upstream (resumable upload sessions) are rewritten to point here.
The port is chosen by the OS and written to --port-file; exits after --lifetime seconds.
"""
import argparse
import http.client
import os
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--upstream", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--rule", action="append", default=[])
    p.add_argument("--log", required=True)
    p.add_argument("--lifetime", type=float, default=300)
    a = p.parse_args()
    rules = []
    for r in a.rule:
        match, actions = r.rsplit("=", 1)
        method, sub = match.split(" ", 1)
        rules.append({"method": method, "sub": sub, "actions": actions.split(",")})
    lock = threading.Lock()
    up = urllib.parse.urlparse(a.upstream)
    logf = open(a.log, "a", buffering=1)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            pass

        def pick(self):
            with lock:
                for r in rules:
                    if r["method"] == self.command and r["sub"] in self.path and r["actions"]:
                        act = r["actions"][0]
                        if act != "forever503":
                            r["actions"].pop(0)
                        return act
            return "pass"

        def body(self):
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else b""

        def handle_any(self):
            act = self.pick()
            logf.write("%s %s %s\n" % (self.command, self.path.split("?")[0], act))
            if act == "drop":
                n = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(min(n, 1000))
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if act != "pass":
                code = 503 if act == "forever503" else int(act)
                self.body()
                payload = ('{"error":{"code":%d,"message":"injected fault %d"}}' % (code, code)).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return
            data = self.body()
            conn = http.client.HTTPConnection(up.hostname, up.port, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP and k.lower() != "host"}
            headers["Host"] = "%s:%d" % (up.hostname, up.port)
            conn.request(self.command, self.path, body=data if data or self.command in ("POST", "PUT") else None, headers=headers)
            resp = conn.getresponse()
            payload = resp.read()
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() in HOP or k.lower() == "content-length":
                    continue
                if k.lower() == "location":
                    v = v.replace(a.upstream, "http://127.0.0.1:%d" % self.server.server_address[1])
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
            conn.close()

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = handle_any

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Timer(a.lifetime, server.shutdown).start()
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(a.port_file + ".tmp", a.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
