#!/usr/bin/env python3
"""Start one or more servers, wait until their ports accept connections, run a command, stop them.

    with_server.py --server "npm run dev" --port 5173 [--server ... --port ...] -- COMMAND...
"""
import argparse
import shlex
import socket
import subprocess
import sys
import time


def wait_for_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit(f"nothing listens on port {port} after {timeout:.0f}s")


def main() -> int:
    argv = sys.argv[1:]
    if "--" not in argv:
        raise SystemExit("usage: with_server.py --server CMD --port N [...] -- COMMAND...")
    split = argv.index("--")
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", action="append", required=True)
    ap.add_argument("--port", action="append", type=int, required=True)
    ap.add_argument("--timeout", type=float, default=60)
    args = ap.parse_args(argv[:split])
    if len(args.server) != len(args.port):
        raise SystemExit("give one --port for each --server")
    servers = []
    try:
        for cmd, port in zip(args.server, args.port):
            servers.append(subprocess.Popen(shlex.split(cmd)))
            wait_for_port(port, args.timeout)
        return subprocess.run(argv[split + 1 :]).returncode
    finally:
        for p in servers:
            p.terminate()
        for p in servers:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()


if __name__ == "__main__":
    sys.exit(main())
