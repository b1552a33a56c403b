#!/usr/bin/env python3
"""An HTTP proxy that fails a share of the requests it forwards: the S3 retry tests put it between
grace-backup and moto. Prints the port it listens on (127.0.0.1), then serves until killed.

usage: failure-proxy.py UPSTREAM_URL [--share 0.3] [--seed 1] [--delay 3] [--truncate-above BYTES]

For each request, with probability --share, one failure is drawn at random:
  refuse    answer 503 SlowDown without forwarding
  throttle  answer 429 without forwarding
  drop      close the connection without answering, without forwarding
  applied   forward, then close the connection without answering (the request took effect)
  truncate  forward, then send the headers and half of the body, and close
  delay     wait --delay seconds, then forward
With --truncate-above, every GET whose body is longer than BYTES is also truncated (and counted):
a large object's read breaks for certain, and its resumed reads until one is short enough.
GET /__proxy/stats answers a JSON count of requests and of each failure injected.
"""
import argparse
import http.client
import http.server
import json
import os
import random
import socket
import sys
import threading
import urllib.parse

FAILURES = ["refuse", "throttle", "drop", "applied", "truncate", "delay"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("upstream")
    parser.add_argument("--share", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--delay", type=float, default=3.0)
    parser.add_argument("--failures", default=",".join(FAILURES))
    parser.add_argument("--truncate-above", type=int, default=0)
    options = parser.parse_args()
    upstream = urllib.parse.urlsplit(options.upstream)
    failures = options.failures.split(",")
    chooser = random.Random(options.seed)
    lock = threading.Lock()
    stats = {"requests": 0, **{name: 0 for name in FAILURES}}

    def draw():
        with lock:
            stats["requests"] += 1
            if chooser.random() >= options.share:
                return None
            failure = chooser.choice(failures)
            stats[failure] += 1
            return failure

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def answer(self, status, body=b"", headers=()):
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def cut(self):
            self.close_connection = True
            try:
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        def handle_any(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.path == "/__proxy/stats":
                with lock:
                    return self.answer(200, json.dumps(stats).encode(), [("Content-Type", "application/json")])
            failure = draw()
            if failure == "refuse":
                return self.answer(503, b"<Error><Code>SlowDown</Code><Message>injected</Message></Error>", [("Content-Type", "application/xml")])
            if failure == "throttle":
                return self.answer(429, b"")
            if failure == "drop":
                return self.cut()
            if failure == "delay":
                threading.Event().wait(options.delay)
            connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
            connection.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                if name.lower() not in ("content-length", "connection"):
                    connection.putheader(name, value)
            connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body)
            response = connection.getresponse()
            data = response.read()
            connection.close()
            if failure == "applied":
                return self.cut()
            self.send_response(response.status)
            for name, value in response.getheaders():
                if name.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                    self.send_header(name, value)
            length = response.getheader("Content-Length") if self.command == "HEAD" else None
            self.send_header("Content-Length", length or str(len(data)))
            self.end_headers()
            if options.truncate_above and self.command == "GET" and len(data) > options.truncate_above and failure != "truncate":
                failure = "truncate"
                with lock:
                    stats["truncate"] += 1
            if failure == "truncate" and self.command == "GET" and response.status in (200, 206) and len(data) > 1:
                self.wfile.write(data[: len(data) // 2])
                return self.cut()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    # The test holds our standard input open; when it closes (the test ended, or died), so do we.
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
