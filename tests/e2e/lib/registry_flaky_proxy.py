#!/usr/bin/python3
"""Test helper for tests/e2e/registry_client_test.sh: an HTTP proxy on 127.0.0.1 in front of
a registry that misbehaves on blob downloads (GET /v2/.../blobs/sha256:...), stdlib only.

The mode file (re-read on every request) holds "<mode> <count> [upload]", count blob
downloads (or, with "upload", PUT/PATCH requests of blob uploads) being spoiled before the
proxy behaves again:
  cut N      forward the answer's headers and --cut-bytes of its body, then drop the connection
             (uploads: drop the connection without any answer)
  norange N  like cut, and also drop the Range header of requests (the server restarts)
  503 N      answer 503 without asking the registry
  slow N     forward the body at about 256 KiB/s
  ok 0       forward everything
Each blob request is logged as "<mode> <path> range=<Range or ->" to --log.
"""
import argparse
import http.client
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
LOCK = threading.Lock()


def take_mode(kind):
    """The mode for one request of this kind, spending one unit of its count."""
    with LOCK:
        try:
            words = open(ARGS.mode_file).read().split()
            mode, count = words[0], int(words[1])
            target = words[2] if len(words) > 2 else "blob"
        except (OSError, ValueError, IndexError):
            return "ok"
        if mode == "ok" or count <= 0 or target != kind:
            return "ok"
        with open(ARGS.mode_file, "w") as f:
            f.write("%s %d %s" % (mode, count - 1, target))
        return mode


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def forward(self):
        is_blob = self.command == "GET" and "/blobs/sha256:" in self.path
        is_upload = self.command in ("PUT", "PATCH") and "/blobs/uploads/" in self.path
        kind = "blob" if is_blob else "upload" if is_upload else None
        mode = take_mode(kind) if kind else "ok"
        if kind:
            with LOCK, open(ARGS.log, "a") as f:
                f.write("%s %s range=%s\n" % (mode, self.path, self.headers.get("Range", "-")))
        length = int(self.headers.get("Content-Length", "0") or 0)
        body = self.rfile.read(length) if length else None
        if mode == "503":
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("connection", "content-length")}
        if mode == "norange":
            headers.pop("Range", None)
        up = http.client.HTTPConnection("127.0.0.1", ARGS.upstream, timeout=30)
        up.request(self.command, self.path, body=body, headers=headers)
        resp = up.getresponse()
        if mode == "cut" and kind == "upload":  # the registry took it; the answer is lost
            resp.read()
            up.close()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("connection", "transfer-encoding"):
                self.send_header(k, v)
        data = resp.read() if self.command != "HEAD" else b""
        if "Content-Length" not in resp.headers and self.command != "HEAD":
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        up.close()
        if mode in ("cut", "norange"):
            self.wfile.write(data[:ARGS.cut_bytes])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if mode == "slow":
            for i in range(0, len(data), 16384):
                self.wfile.write(data[i:i + 16384])
                self.wfile.flush()
                time.sleep(16384 / (256 * 1024))
            return
        self.wfile.write(data)

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away (cancel tests)

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = forward


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--upstream", type=int, required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--mode-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--cut-bytes", type=int, default=300000)
    ARGS = p.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(ARGS.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(ARGS.port_file + ".tmp", ARGS.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
