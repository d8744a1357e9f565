#!/usr/bin/env python3
"""A local Anthropic Messages streaming server for benchmarks (stdlib only).

Every POST, whatever its path and body, is answered 200 with `content-type: text/event-stream`
and the same pre-generated, complete Anthropic stream: message_start, content_block_start,
N text_delta events (default 100,000), content_block_stop, message_delta (stop_reason
end_turn), message_stop. The body is encoded once at start-up and written with one sendall,
`connection: close`, no content-length, so the server costs as little as possible and the
clients are what is measured.

    python3 scripts/bench_server.py [--events N] [--text-out FILE] [--info-out FILE]
                                    [--tls-cert PEM --tls-key PEM]

prints the port it listens on (127.0.0.1, chosen by the OS) as the first line on stdout, then
serves until killed. `--text-out` writes the answer text the stream carries (UTF-8), so a
client's output can be checked. `import bench_server; bench_server.build_stream(n)` gives the
same (body, text) without a server. With `--tls-cert` and `--tls-key` it speaks HTTPS instead
(scripts/link-order uses that, so the TLS code counts as code a run executes).
"""

import argparse
import json
import socket
import ssl
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_EVENTS = 100_000

# Deltas like real ones: mostly short ASCII words with their space, some punctuation and
# line breaks, and some multi-byte UTF-8 (2-, 3- and 4-byte characters), so a client that
# splits or decodes badly shows it. No control characters other than "\n": terminals get
# those in caret notation, which would change the expected output.
WORDS = [
    "the", " stream", " of", " tokens", " arrives", " quickly", ",", " and", " each",
    " delta", " is", " small", ".", "\n", " café", " naïve", " Größe", " 日本語", " 🦀",
    " résumé", " — ", " ✓", " 42", " über", " Ελληνικά", " emoji 👍🏽", " \"quoted\"",
    " back\\slash", " tab\tsep",
]


def delta_text(i):
    """The text of delta `i`: one to three words, deterministic."""
    n = 1 + (i * 7) % 3
    return "".join(WORDS[(i * 31 + k * 17) % len(WORDS)] for k in range(n))


def event(name, payload):
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return f"event: {name}\ndata: {data}\n\n"


def build_stream(events=DEFAULT_EVENTS):
    """Returns (body bytes, answer text) of a complete stream with `events` text deltas."""
    parts = [
        event("message_start", {
            "type": "message_start",
            "message": {
                "id": "msg_bench0000000000000000000000", "type": "message", "role": "assistant",
                "content": [], "model": "claude-sonnet-4-6", "stop_reason": None,
                "stop_sequence": None, "usage": {"input_tokens": 11, "output_tokens": 1},
            },
        }),
        event("content_block_start", {
            "type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""},
        }),
        event("ping", {"type": "ping"}),
    ]
    texts = []
    for i in range(events):
        text = delta_text(i)
        texts.append(text)
        parts.append(event("content_block_delta", {
            "type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text},
        }))
    parts.append(event("content_block_stop", {"type": "content_block_stop", "index": 0}))
    parts.append(event("message_delta", {
        "type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {"output_tokens": events},
    }))
    parts.append(event("message_stop", {"type": "message_stop"}))
    return "".join(parts).encode("utf-8"), "".join(texts)


def make_handler(body):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            length = int(self.headers.get("content-length") or 0)
            if length:
                self.rfile.read(length)
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("cache-control", "no-cache")
            self.send_header("request-id", "req_bench")
            self.send_header("connection", "close")
            self.end_headers()
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True

        def do_GET(self):
            self.send_response(404)
            self.send_header("content-length", "0")
            self.send_header("connection", "close")
            self.end_headers()
            self.close_connection = True

        def log_message(self, *args):
            pass

    return Handler


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def server_bind(self):
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        super().server_bind()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS, help="text_delta events per stream")
    parser.add_argument("--text-out", help="write the stream's answer text (UTF-8) to this file")
    parser.add_argument("--info-out", help="write {events, body_bytes, text_bytes, text_chars} as JSON to this file")
    parser.add_argument("--tls-cert", help="serve HTTPS with this certificate chain (PEM)")
    parser.add_argument("--tls-key", help="the private key of --tls-cert (PEM)")
    args = parser.parse_args()
    body, text = build_stream(args.events)
    if args.text_out:
        with open(args.text_out, "w", encoding="utf-8", newline="") as f:
            f.write(text)
    if args.info_out:
        info = {"events": args.events, "body_bytes": len(body), "text_bytes": len(text.encode()), "text_chars": len(text)}
        with open(args.info_out, "w", encoding="utf-8") as f:
            json.dump(info, f)
    server = Server(("127.0.0.1", 0), make_handler(body))
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    print(f"body {len(body)} bytes, {args.events} deltas, text {len(text.encode())} bytes", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
