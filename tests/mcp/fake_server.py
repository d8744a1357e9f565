#!/usr/bin/env python3
"""A misbehaving MCP server on stdio, for pincer's tests. The first argument picks how it
misbehaves; otherwise it speaks the legacy (initialize) era correctly.

  hang      reads everything, answers nothing
  exit      writes a line to stderr and exits with status 3 at once
  garbage   answers every line with text that is not JSON-RPC
  huge      a tools/call answer larger than pincer's 16 MiB cap
  die       exits in the middle of tools/call
  chatty    notifications between answers, a server request (ping) before the answer,
            and answers to concurrent `slow` calls in reverse order
  elicit    tools/call asks elicitation/create and reports what it got back
  family    starts a grandchild (sleep) and writes both pids to $PIDS_FILE; tools/call `wait` never ends
  env       writes the names of its environment variables, and the bytes of its parent's
            /proc/<ppid>/environ (pincer's start-up block, when readable), to $ENV_FILE
"""
import json
import os
import subprocess
import sys
import threading

mode = sys.argv[1] if len(sys.argv) > 1 else "ok"
out_lock = threading.Lock()


def send(msg):
    with out_lock:
        sys.stdout.write(json.dumps(msg) + "\n")
        sys.stdout.flush()


def result(id_, res):
    send({"jsonrpc": "2.0", "id": id_, "result": res})


def text(t, is_error=False):
    return {"content": [{"type": "text", "text": t}], "isError": is_error}


TOOLS = [
    {"name": "echo", "description": "Echoes", "inputSchema": {"type": "object", "properties": {"message": {"type": "string"}}}},
    {"name": "slow", "description": "Answers late", "inputSchema": {"type": "object", "properties": {"n": {"type": "integer"}}}},
    {"name": "wait", "description": "Never answers", "inputSchema": {"type": "object"}},
]

if mode == "exit":
    sys.stderr.write("fake server: cannot start, no config\n")
    sys.exit(3)

if mode == "family":
    child = subprocess.Popen(["sleep", "300"])
    with open(os.environ["PIDS_FILE"], "w") as f:
        f.write(f"{os.getpid()} {child.pid}\n")

if mode == "env":
    try:
        with open(f"/proc/{os.getppid()}/environ", "rb") as f:
            parent = f.read().decode("utf-8", "replace")
    except OSError as e:
        parent = f"unreadable: {e}"
    with open(os.environ["ENV_FILE"], "w") as f:
        json.dump({"names": sorted(os.environ), "parent_environ": parent}, f)

held = []  # `slow` calls waiting, answered in reverse order once two arrived
pending_answers = {}  # our server-request id -> the tools/call id waiting on it

for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    if mode == "hang":
        continue
    if mode == "garbage":
        sys.stdout.write("Listening on stdio... ready!\n")
        sys.stdout.flush()
        continue
    msg = json.loads(line)
    method, id_ = msg.get("method"), msg.get("id")
    if method is None:
        # A response to one of our requests.
        waiting = pending_answers.pop(id_, None)
        if waiting is not None:
            result(waiting, text("client said: " + json.dumps(msg.get("result", msg.get("error")), sort_keys=True)))
        continue
    if id_ is None:
        continue  # notifications
    if method == "server/discover":
        send({"jsonrpc": "2.0", "id": id_, "error": {"code": -32601, "message": "Method not found"}})
    elif method == "initialize":
        version = msg["params"]["protocolVersion"]
        result(id_, {"protocolVersion": version, "capabilities": {"tools": {"listChanged": True}},
                     "serverInfo": {"name": "fake-" + mode, "version": "0"}})
    elif method == "tools/list":
        if mode == "chatty":
            send({"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info", "data": "listing"}})
            send({"jsonrpc": "2.0", "id": 999, "result": {"stale": True}})
        result(id_, {"tools": TOOLS})
    elif method == "tools/call":
        name = msg["params"]["name"]
        args = msg["params"].get("arguments", {})
        token = msg["params"].get("_meta", {}).get("progressToken")
        if mode == "huge":
            result(id_, text("x" * (17 * 1024 * 1024)))
        elif mode == "die":
            sys.exit(4)
        elif mode == "elicit":
            pending_answers["e1"] = id_
            send({"jsonrpc": "2.0", "id": "e1", "method": "elicitation/create", "params": {
                "message": "Name?", "requestedSchema": {"type": "object", "properties": {
                    "name": {"type": "string", "default": "Ada"}}}}})
        elif name == "wait":
            continue
        elif name == "slow" and mode == "chatty":
            held.append((id_, args.get("n"), token))
            if len(held) == 2:
                for hid, n, tok in reversed(held):
                    if tok is not None:
                        send({"jsonrpc": "2.0", "method": "notifications/progress",
                              "params": {"progressToken": tok, "progress": 1, "total": 2, "message": f"half of {n}"}})
                    send({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})
                    result(hid, text(f"slow {n}"))
                held.clear()
        elif mode == "chatty":
            pending_answers["p1"] = id_
            send({"jsonrpc": "2.0", "id": "p1", "method": "ping"})
        else:
            result(id_, text("echo: " + str(args.get("message", ""))))
    else:
        send({"jsonrpc": "2.0", "id": id_, "error": {"code": -32601, "message": "Method not found"}})
