#!/usr/bin/env python3
"""The ERP side of HR events: an org chart (employee -> department, office) kept from
employee.hired, employee.department_changed and employee.left, as an ERP connector would.

Standard library only. It
  - verifies each delivery's Standard Webhooks signature (webhook-id, webhook-timestamp,
    webhook-signature) with the endpoint's secret, and refuses stale ones (5 min) -> 401;
  - applies each event once: the webhook-ids it applied are stored with the org chart, in the
    same atomic file write, so a delivery repeated by hookd (at least once) changes nothing;
  - relies on the endpoint's `ordering: "subject"`: one employee's events arrive in order,
    so a department change never lands before the hire, even after an outage.

  HOOKD_ENDPOINT_SECRET=whsec_... receiver.py --port 9100 --state orgchart.json
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_S = 300


def verify(secret, headers, body):
    msg_id = headers.get("webhook-id", "")
    ts = headers.get("webhook-timestamp", "")
    sigs = headers.get("webhook-signature", "")
    if not msg_id or not ts.isdigit() or not sigs:
        return False
    if abs(time.time() - int(ts)) > TOLERANCE_S:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(
        hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(s.split(",", 1)[1], expected)
               for s in sigs.split() if s.startswith("v1,"))


class State:
    def __init__(self, path):
        self.path = path
        self.data = {"employees": {}, "applied": []}
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                self.data = json.load(f)
        self.applied = set(self.data["applied"])

    def apply(self, msg_id, event):
        if msg_id in self.applied:
            return "duplicate, ignored"
        emp = self.data["employees"]
        t, d = event["type"], event["data"]
        eid = d["employee"]["id"]
        if t == "employee.hired":
            e = d["employee"]
            emp[eid] = {"name": f'{e["first_name"]} {e["last_name"]}',
                        "department": e.get("department", {}).get("name"),
                        "office": e.get("office", {}).get("name")}
            what = f'hired into {emp[eid]["department"]}'
        elif t == "employee.department_changed":
            if eid not in emp:  # cannot happen with ordering by subject; say so if it does
                raise ValueError(f"department change of unknown employee {eid}")
            emp[eid]["department"] = d["to"]["department"]["name"]
            emp[eid]["office"] = d["to"].get("office", {}).get("name", emp[eid]["office"])
            what = f'moved to {emp[eid]["department"]}'
        elif t == "employee.left":
            emp.pop(eid, None)
            what = "left"
        else:
            what = "not for the ERP"
        self.applied.add(msg_id)
        self.data["applied"] = sorted(self.applied)
        tmp = self.path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.data, f, indent=1, sort_keys=True, ensure_ascii=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)  # the org chart and the applied ids change together
        return f"{eid} {what}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=9100)
    ap.add_argument("--state", default="orgchart.json")
    args = ap.parse_args()
    secret = os.environ.get("HOOKD_ENDPOINT_SECRET", "")
    if not secret.startswith("whsec_"):
        sys.exit("receiver: set HOOKD_ENDPOINT_SECRET to the endpoint's secret (whsec_...)")
    state = State(args.state)
    lock = threading.Lock()  # hookd sends on several connections at once: one event at a time here

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            headers = {k.lower(): v for k, v in self.headers.items()}
            if not verify(secret, headers, body):
                return self.answer(401)
            try:
                with lock:
                    print("erp:", state.apply(headers["webhook-id"], json.loads(body)), flush=True)
            except (ValueError, KeyError) as e:
                print("erp: refused:", e, flush=True)
                return self.answer(422)  # hookd retries; nothing was applied
            self.answer(204)

        def answer(self, status):
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"erp receiver on 127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
