#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The end-to-end test's far ends, run inside a test network namespace.

  services.py --token WORD [--http PORT]... [--tftp] [--dns] --log FILE

--http PORT  TCP (IPv4 and IPv6) HTTP server: GET /token answers
             "ECLUSE-TOKEN WORD PORT".
--tftp       UDP 69: a read request is answered with one DATA block holding
             "ECLUSE-TOKEN WORD 69".
--dns        UDP 53: every A query is answered with 192.0.2.99 (documentation
             range), any other type with an empty answer.

Every request is appended to the log as "PROTO PORT PEER-ADDRESS", so the
test can show which host ever reached a service.  Binds only to the wildcard
address of the namespace it runs in; the test's namespaces have no route out.
"""
import argparse
import socket
import socketserver
import struct
import sys
import threading


class Log:
    def __init__(self, path):
        self.lock = threading.Lock()
        self.f = open(path, "a", buffering=1)

    def __call__(self, proto, port, peer):
        addr = peer[0]
        if addr.startswith("::ffff:"):
            addr = addr[len("::ffff:"):]
        with self.lock:
            self.f.write(f"{proto} {port} {addr}\n")


class DualStackTCP(socketserver.ThreadingTCPServer):
    address_family = socket.AF_INET6
    allow_reuse_address = True
    daemon_threads = True

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def http_server(port, token, log):
    body = f"ECLUSE-TOKEN {token} {port}".encode()

    class Handler(socketserver.StreamRequestHandler):
        timeout = 5

        def handle(self):
            log("tcp", port, self.client_address)
            try:
                line = self.rfile.readline(1024)
                while True:  # headers
                    h = self.rfile.readline(1024)
                    if h in (b"\r\n", b"\n", b""):
                        break
            except OSError:
                return
            ok = line.split(b" ")[1:2] == [b"/token"]
            status = b"200 OK" if ok else b"404 Not Found"
            payload = body if ok else b""
            self.wfile.write(b"HTTP/1.0 " + status + b"\r\nContent-Type: text/plain\r\n"
                             + b"Content-Length: " + str(len(payload)).encode()
                             + b"\r\nConnection: close\r\n\r\n" + payload)

    srv = DualStackTCP(("::", port), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()


def udp_socket(port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    return s


def tftp_server(token, log):
    s = udp_socket(69)
    data = f"ECLUSE-TOKEN {token} 69".encode()

    def loop():
        while True:
            pkt, peer = s.recvfrom(2048)
            if len(pkt) >= 2 and struct.unpack("!H", pkt[:2])[0] == 1:  # RRQ
                log("udp", 69, peer)
                s.sendto(struct.pack("!HH", 3, 1) + data, peer)
            # ACKs (opcode 4) and anything else: nothing to do

    threading.Thread(target=loop, daemon=True).start()


def dns_server(log):
    s = udp_socket(53)

    def answer(q):
        if len(q) < 12:
            return None
        qid, _flags, qd = struct.unpack("!HHH", q[:6])
        if qd != 1:
            return None
        i = 12
        while i < len(q) and q[i] != 0:  # QNAME labels
            i += 1 + q[i]
        if i + 5 > len(q):
            return None
        question = q[12:i + 5]
        qtype = struct.unpack("!H", q[i + 1:i + 3])[0]
        an = 1 if qtype == 1 else 0
        r = struct.pack("!HHHHHH", qid, 0x8180, 1, an, 0, 0) + question
        if an:
            r += struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton("192.0.2.99")
        return r

    def loop():
        while True:
            q, peer = s.recvfrom(2048)
            log("udp", 53, peer)
            r = answer(q)
            if r:
                s.sendto(r, peer)

    threading.Thread(target=loop, daemon=True).start()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--token", required=True)
    p.add_argument("--http", type=int, action="append", default=[])
    p.add_argument("--tftp", action="store_true")
    p.add_argument("--dns", action="store_true")
    p.add_argument("--log", required=True)
    a = p.parse_args()
    log = Log(a.log)
    for port in a.http:
        http_server(port, a.token, log)
    if a.tftp:
        tftp_server(a.token, log)
    if a.dns:
        dns_server(log)
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    sys.exit(main())
