#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Be the service manager's end of NOTIFY_SOCKET (sd_notify(3)) for a test.

  notify.py --socket PATH --log FILE

Binds an AF_UNIX datagram socket at PATH and appends each datagram to FILE
as one line, its own newlines made spaces, so "READY=1\\nSTATUS=..." becomes
"READY=1 STATUS=...".  Prints "ready" once bound.
"""
import argparse
import os
import socket
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--socket", required=True)
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if os.path.exists(a.socket):
        os.unlink(a.socket)
    s.bind(a.socket)
    print("ready", flush=True)
    with open(a.log, "a", encoding="utf-8") as log:
        while True:
            data = s.recv(65536)
            log.write(data.decode("utf-8", "replace").replace("\n", " ").strip() + "\n")
            log.flush()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
