#!/usr/bin/python3
"""Test helper for tests/e2e/registry_client_test.sh (stdlib only, loopback only).

Three small servers in one process, on one port:
  * a token server (/token) as Docker Hub's: GET with Basic credentials (or anonymous), or
    POST grant_type=refresh_token; answers RS256 JWTs that registry 2.8 verifies against the
    certificate given to it as rootcertbundle (x5c header). Wrong credentials: 401
    {"details":"incorrect username or password"}.
  * a v1 index: /v1/_ping and /v1/search?q=&n= with canned results.
  * a v2 registry that serves only schema1 manifests (/v2/old/... by media type,
    /v2/old-json/... as application/json with fsLayers) to exercise the schema1 refusal.
Every request is logged, one line each, to --log.
"""
import argparse
import base64
import json
import secrets
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
HELLO = b"hello, registry\n"
HELLO_DIGEST = "sha256:" + __import__("hashlib").sha256(HELLO).hexdigest()
REFRESH = {}  # refresh token -> user
LOCK = threading.Lock()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def cert_der_b64(path):
    pem = open(path).read()
    body = pem.split("-----BEGIN CERTIFICATE-----")[1].split("-----END CERTIFICATE-----")[0]
    return "".join(body.split())


def sign(payload):
    out = subprocess.run(["openssl", "dgst", "-sha256", "-sign", ARGS.key], input=payload,
                         capture_output=True, check=True)
    return out.stdout


def make_jwt(user, access):
    header = {"typ": "JWT", "alg": "RS256", "x5c": [cert_der_b64(ARGS.cert)]}
    now = int(time.time())
    claims = {"iss": ARGS.issuer, "sub": user, "aud": ARGS.service, "exp": now + 300,
              "nbf": now - 10, "iat": now, "jti": secrets.token_hex(8), "access": access}
    signing_input = (b64url(json.dumps(header).encode()) + "." +
                     b64url(json.dumps(claims).encode())).encode()
    return signing_input.decode() + "." + b64url(sign(signing_input))


def grant(user, scopes):
    access = []
    for scope in scopes:
        for one in scope.split(" "):
            parts = one.split(":")
            if len(parts) < 3 or parts[0] != "repository":
                continue
            actions = parts[-1].split(",")
            name = ":".join(parts[1:-1])
            access.append({"type": "repository", "name": name,
                           "actions": actions if user else []})
    return access


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def log_line(self, what):
        with LOCK, open(ARGS.log, "a") as f:
            f.write(what + "\n")

    def reply(self, status, body, ctype="application/json", extra=None):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def check_basic(self):
        """(user or None, bad) from the Authorization header."""
        h = self.headers.get("Authorization", "")
        if not h.startswith("Basic "):
            return None, False
        user, _, password = base64.b64decode(h[6:]).decode().partition(":")
        if ARGS.users.get(user) == password:
            return user, False
        return None, True

    def token_answer(self, user, scopes, offline):
        tok = make_jwt(user or "", grant(user, scopes))
        answer = {"token": tok, "access_token": tok, "expires_in": 300,
                  "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        if user and offline:
            refresh = "refresh-" + secrets.token_hex(8)
            REFRESH[refresh] = user
            answer["refresh_token"] = refresh
        return answer

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query)
        if u.path == "/token":
            user, bad = self.check_basic()
            self.log_line("token GET user=%s scope=%s offline=%s client_id=%s account=%s" % (
                user or "-", ",".join(q.get("scope", [])) or "-",
                q.get("offline_token", ["-"])[0], q.get("client_id", ["-"])[0],
                q.get("account", ["-"])[0]))
            if bad:
                return self.reply(401, {"details": "incorrect username or password"})
            if q.get("service", [""])[0] != ARGS.service:
                return self.reply(400, {"details": "wrong service"})
            return self.reply(200, self.token_answer(user, q.get("scope", []),
                                                     q.get("offline_token") == ["true"]))
        if u.path == "/v1/_ping":
            self.log_line("v1 ping")
            return self.reply(200, {"standalone": True})
        if u.path == "/v1/search":
            self.log_line("v1 search q=%s n=%s token=%s" % (
                q.get("q", [""])[0], q.get("n", [""])[0], self.headers.get("X-Docker-Token")))
            term = q.get("q", [""])[0]
            results = [{"name": term, "description": "the %s image" % term, "star_count": 7,
                        "is_official": True, "is_automated": False},
                       {"name": "someone/" + term, "description": "", "star_count": 1,
                        "is_official": False, "is_automated": False}]
            n = int(q.get("n", ["25"])[0])
            return self.reply(200, {"num_results": 2, "query": term, "results": results[:n]})
        if u.path == "/v2/":
            return self.reply(200, {})
        if u.path == "/v2/old/manifests/latest":
            body = {"schemaVersion": 1, "name": "old", "tag": "latest", "architecture": "amd64",
                    "fsLayers": [{"blobSum": "sha256:" + "0" * 64}], "history": []}
            return self.reply(200, json.dumps(body).encode(),
                              "application/vnd.docker.distribution.manifest.v1+prettyjws")
        if u.path == "/v2/old-json/manifests/latest":
            body = {"schemaVersion": 1, "fsLayers": [{"blobSum": "sha256:" + "0" * 64}]}
            return self.reply(200, json.dumps(body).encode(), "application/json")
        if u.path == "/v2/moved/blobs/" + HELLO_DIGEST:
            self.log_line("redirect auth=%s" % ("yes" if self.headers.get("Authorization") else "no"))
            return self.reply(307, b"", "text/plain", {"Location": "/storage/hello"})
        if u.path == "/storage/hello":
            return self.reply(200, HELLO, "application/octet-stream")
        if u.path == "/v2/flaky/blobs/sha256:" + "1" * 64:
            return self.reply(500, b"oops", "text/plain")
        return self.reply(404, {"errors": [{"code": "NAME_UNKNOWN", "message":
                                            "repository name not known to registry",
                                            "detail": {"name": u.path}}]})

    do_HEAD = do_GET

    def do_POST(self):
        u = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length", "0"))
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        if u.path != "/token":
            return self.reply(404, {})
        grant_type = form.get("grant_type", [""])[0]
        refresh = form.get("refresh_token", [""])[0]
        self.log_line("token POST grant=%s scope=%s client_id=%s known=%s" % (
            grant_type, form.get("scope", ["-"])[0], form.get("client_id", ["-"])[0],
            refresh in REFRESH))
        if grant_type != "refresh_token" or refresh not in REFRESH:
            return self.reply(401, {"details": "invalid refresh token"})
        answer = self.token_answer(REFRESH[refresh], form.get("scope", [""])[0].split(" "), False)
        del answer["token"]  # the OAuth answer has access_token only
        return self.reply(200, answer)


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--issuer", default="arca-test-issuer")
    p.add_argument("--service", default="arca-test-registry")
    p.add_argument("--user", action="append", default=[])
    ARGS = p.parse_args()
    ARGS.users = dict(u.split(":", 1) for u in ARGS.user)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(ARGS.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(ARGS.port_file + ".tmp", ARGS.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
