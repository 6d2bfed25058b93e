#!/usr/bin/env python3
"""A stand-in for a Slack incoming webhook (https://hooks.slack.com/services/…): it takes a
POST of {"text": "…"} (and optional "blocks"), answers 200 "ok" as text/plain as Slack does,
400 "invalid_payload" to anything else, and prints each message as it would appear in the
channel. Standard library only.   slack_standin.py --channel '#compliance'
"""
import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--channel", default="#compliance")
    args = ap.parse_args()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            try:
                msg = json.loads(body)
                text = msg["text"]
                if not isinstance(text, str) or set(msg) - {"text", "blocks", "username", "icon_emoji"}:
                    raise ValueError
            except (ValueError, KeyError, TypeError):
                return self.answer(400, b"invalid_payload")
            print(f"{args.channel}: {text}", flush=True)
            self.answer(200, b"ok")

        def answer(self, status, out):
            self.send_response(status)
            self.send_header("content-type", "text/plain")
            self.send_header("content-length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"slack stand-in on 127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
