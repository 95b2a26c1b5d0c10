#!/usr/bin/env python3
"""A loopback OAuth2 token endpoint and metadata server for the credential tests.

It checks what a real Google token endpoint checks, independently of the C code under test:
  POST /token  grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer: the assertion is an
               RS256 JWT whose signature verifies with the public key given on the command
               line (RSASSA-PKCS1-v1_5 + SHA-256, done here with pow()), whose claims carry
               iss, scope, aud = this endpoint's URL, iat near now and exp = iat + 3600;
               grant_type=refresh_token: client_id, client_secret, refresh_token as expected.
  GET  /computeMetadata/v1/instance/service-accounts/default/token with Metadata-Flavor: Google.
  GET  /count  how many tokens were issued.
Tokens are "tok-1", "tok-2", ...; expires_in comes from --expires-in.
The port (chosen by the OS) is written to --port-file; the server exits after --lifetime s.
"""
import argparse
import base64
import hashlib
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def verify_rs256(signing_input, sig, n, e):
    k = (n.bit_length() + 7) // 8
    if len(sig) != k:
        return False
    em = pow(int.from_bytes(sig, "big"), e, n).to_bytes(k, "big")
    t = SHA256_DIGEST_INFO + hashlib.sha256(signing_input).digest()
    expected = b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t
    return em == expected


class State:
    issued = 0
    lock = threading.Lock()


def make_handler(args):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *a):
            pass

        def reply(self, code, obj):
            body = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def issue(self):
            with State.lock:
                State.issued += 1
                n = State.issued
            self.reply(200, {"access_token": "tok-%d" % n, "expires_in": args.expires_in,
                             "token_type": "Bearer"})

        def bad(self, why):
            self.reply(400, {"error": "invalid_grant", "error_description": why})

        def check_jwt(self, assertion):
            parts = assertion.split(".")
            if len(parts) != 3:
                return "assertion is not a JWT"
            header = json.loads(b64url_decode(parts[0]))
            claims = json.loads(b64url_decode(parts[1]))
            if header.get("alg") != "RS256" or header.get("typ") != "JWT":
                return "bad JWT header %r" % header
            if args.kid and header.get("kid") != args.kid:
                return "kid %r" % header.get("kid")
            n, e = int(args.rsa_n, 16), int(args.rsa_e, 16)
            if not verify_rs256((parts[0] + "." + parts[1]).encode(), b64url_decode(parts[2]), n, e):
                return "invalid JWT signature"
            own = "http://127.0.0.1:%d/token" % self.server.server_address[1]
            if claims.get("aud") != own:
                return "aud %r is not %r" % (claims.get("aud"), own)
            if claims.get("iss") != args.client_email:
                return "iss %r" % claims.get("iss")
            if claims.get("scope") != args.scope:
                return "scope %r" % claims.get("scope")
            iat, exp = claims.get("iat"), claims.get("exp")
            if not isinstance(iat, int) or abs(iat - time.time()) > 60 or exp != iat + 3600:
                return "iat/exp %r/%r" % (iat, exp)
            return None

        def do_POST(self):
            if self.path != "/token":
                return self.reply(404, {"error": {"code": 404, "message": "no such path"}})
            length = int(self.headers.get("Content-Length", "0"))
            form = urllib.parse.parse_qs(self.rfile.read(length).decode())
            if self.headers.get("Content-Type") != "application/x-www-form-urlencoded":
                return self.bad("content type")
            grant = form.get("grant_type", [""])[0]
            if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
                why = self.check_jwt(form.get("assertion", [""])[0])
                return self.bad(why) if why else self.issue()
            if grant == "refresh_token":
                got = tuple(form.get(k, [""])[0] for k in ("client_id", "client_secret", "refresh_token"))
                if got != (args.client_id, args.client_secret, args.refresh_token):
                    return self.bad("unknown client or refresh token")
                return self.issue()
            return self.bad("unsupported grant_type %r" % grant)

        def do_GET(self):
            if self.path == "/count":
                return self.reply(200, {"issued": State.issued})
            if self.path == "/computeMetadata/v1/instance/service-accounts/default/token":
                if self.headers.get("Metadata-Flavor") != "Google":
                    return self.reply(403, {"error": {"code": 403, "message": "Metadata-Flavor missing"}})
                return self.issue()
            self.reply(404, {"error": {"code": 404, "message": "no such path"}})

    return Handler


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--rsa-n", default="0")
    p.add_argument("--rsa-e", default="10001")
    p.add_argument("--kid", default="")
    p.add_argument("--client-email", default="sa@example.iam.gserviceaccount.com")
    p.add_argument("--scope", default="https://www.googleapis.com/auth/cloud-platform")
    p.add_argument("--client-id", default="cid")
    p.add_argument("--client-secret", default="csecret")
    p.add_argument("--refresh-token", default="rtok")
    p.add_argument("--expires-in", type=int, default=3600)
    p.add_argument("--lifetime", type=float, default=120)
    args = p.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(args))
    threading.Timer(args.lifetime, server.shutdown).start()
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    import os
    os.replace(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
