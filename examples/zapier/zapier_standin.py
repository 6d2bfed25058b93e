#!/usr/bin/env python3
"""A stand-in for Zapier's side of a REST Hooks trigger ("New approved time off"), as Zapier's
documentation describes it, so the flow can be run without an account:

  1. the Zap is turned on: it subscribes, POST {HOOKD}/v1/hooks
     {"target_url": <its catch URL>, "event": "time_off.approved"} -> {"id": ...};
  2. the Zap editor's test step loads samples: GET {HOOKD}/v1/hooks/samples?event=… and shows
     the fields an action can use;
  3. each approved time off hookd POSTs to the catch URL runs the Zap's actions — here printed:
     a calendar entry for the team calendar and a message for the team channel — and is
     answered 200 {"status": "success", …} as Zapier does;
  4. after --turn-off-after deliveries the Zap is turned off: Zapier then answers 410 Gone to
     the hook, and hookd deletes the subscription.

Standard library only.  HOOKD=http://… HOOKD_TOKEN=hkd_… zapier_standin.py
"""
import argparse
import json
import os
import sys
import threading
import urllib.request
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def call(method, url, token, body=None):
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body else None,
                                 headers={"authorization": f"Bearer {token}", "content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"null")


def fmt_day(d):
    return date.fromisoformat(d).strftime("%-d %b %Y")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--turn-off-after", type=int, default=2)
    args = ap.parse_args()
    hookd, token = os.environ["HOOKD"], os.environ["HOOKD_TOKEN"]
    state = {"caught": 0, "on": True}
    lock = threading.Lock()

    class Catch(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            with lock:
                if not state["on"]:
                    print("zap: turned off -> answered 410 Gone (hookd deletes the subscription)", flush=True)
                    return self.answer(410, {"status": "gone"})
                event = json.loads(body)
                r, reviewer = event["data"]["request"], event["data"]["reviewer"]
                who = r["employee_id"]
                print(f'zap: calendar entry "{who} off ({r["type"]})" {fmt_day(r["start_date"])} – '
                      f'{fmt_day(r["end_date"])}, {r["days"]} day{"s" if r["days"] != 1 else ""}', flush=True)
                print(f'zap: team message "{who} is off {fmt_day(r["start_date"])} – {fmt_day(r["end_date"])} '
                      f'(approved by {reviewer["name"]})"', flush=True)
                state["caught"] += 1
                if state["caught"] >= args.turn_off_after:
                    state["on"] = False
                    print("zap: the user turns the Zap off", flush=True)
            self.answer(200, {"status": "success", "id": event["id"], "request_id": f'req_{state["caught"]}'})

        def answer(self, status, obj):
            out = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Catch)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()

    target = f"http://127.0.0.1:{port}/hooks/catch/4711/abcdef/"
    hook = call("POST", f"{hookd}/v1/hooks", token, {"target_url": target, "event": "time_off.approved"})
    print(f'zap: turned on, subscribed {hook["id"]} -> {target}', flush=True)
    samples = call("GET", f"{hookd}/v1/hooks/samples?event=time_off.approved", token)
    fields = sorted(f"data.request.{k}" for k in samples[0]["data"]["request"])
    print(f"zap: test step loaded {len(samples)} sample(s); fields for actions: {', '.join(fields)}", flush=True)
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    sys.exit(main())
