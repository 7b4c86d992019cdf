#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Peers for stap_tool.sh: plain socket programs that know nothing of stap.

  server PORT DIR   listen on 127.0.0.1:PORT, write DIR/ready, accept one
                    connection, write its fd to DIR/fd, wait for DIR/go if
                    --wait, try to replace the tap if --tamper (results in
                    DIR/tamper), then echo until EOF
  client PORT DATA  connect (non-blocking with --nonblock), send DATA
                    (Python escapes), shut down writing, print what comes
                    back until EOF
"""
import argparse
import errno
import os
import re
import select
import socket
import sys
import time


def defines(path):
    """The numeric #defines of a C header."""
    with open(path) as f:
        return dict(re.findall(r"^#define\s+(\w+)\s+(\d+)", f.read(), re.M))


def uapi(*names):
    """Values of #defines in linux/stap.h: the tree's, else the installed."""
    d = os.path.dirname(os.path.abspath(__file__))
    paths = []
    while d != "/":
        paths.append(os.path.join(d, "include/uapi/linux/stap.h"))
        d = os.path.dirname(d)
    paths.append("/usr/include/linux/stap.h")
    path = next((p for p in paths if os.path.exists(p)), None)
    if path is None:
        sys.exit("linux/stap.h not found")
    defs = defines(path)
    return [int(defs[n]) for n in names]


# SOL_STAP is the kernel's (include/linux/socket.h): the C tests take it
# from stap_lib.h, installed next to this file, and so does this one.
SOL_STAP = int(defines(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    "stap_lib.h"))["SOL_STAP"])
(STAP_PARAMS,) = uapi("STAP_PARAMS")


def wait_file(path, timeout=60):
    end = time.time() + timeout
    while not os.path.exists(path):
        if time.time() > end:
            sys.exit("timed out waiting for " + path)
        time.sleep(0.05)


def tamper(conn):
    """What the tapped program can do to its tap: nothing."""
    out = []
    params = (b"\0" * 16) + (b"\0" * 24)
    for name, fn in (
        ("params", lambda: conn.setsockopt(SOL_STAP, STAP_PARAMS, params)),
        ("ulp_tls", lambda: conn.setsockopt(socket.SOL_TCP, 31, b"tls")),
        ("ulp_stap", lambda: conn.setsockopt(socket.SOL_TCP, 31, b"stap")),
    ):
        try:
            fn()
            out.append(name + " ok")
        except OSError as e:
            out.append(name + " " + errno.errorcode[e.errno])
    out.append("ulp " + conn.getsockopt(socket.SOL_TCP, 31, 16)
               .rstrip(b"\0").decode())
    return "\n".join(out) + "\n"


def server(args):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", args.port))
    ls.listen(8)
    open(os.path.join(args.dir, "ready"), "w").close()
    conn, _ = ls.accept()
    with open(os.path.join(args.dir, "fd"), "w") as f:
        f.write("%d\n" % conn.fileno())
    if args.wait:
        wait_file(os.path.join(args.dir, "go"))
    if args.tamper:
        with open(os.path.join(args.dir, "tamper"), "w") as f:
            f.write(tamper(conn))
    while True:
        data = conn.recv(65536)
        if not data:
            break
        conn.sendall(data)
    conn.close()


def client(args):
    data = args.data.encode().decode("unicode_escape").encode("latin-1")
    s = socket.socket()
    if args.nonblock:
        s.setblocking(False)
        err = s.connect_ex(("127.0.0.1", args.port))
        if err not in (0, errno.EINPROGRESS):
            sys.exit("connect: " + os.strerror(err))
        select.select([], [s], [], 10)
        err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            sys.exit("connect: " + os.strerror(err))
        s.setblocking(True)
    else:
        s.connect(("127.0.0.1", args.port))
    s.settimeout(args.timeout)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    got = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            got += d
    except socket.timeout:
        got += b"<timeout>"
    except ConnectionResetError:
        got += b"<reset>"
    sys.stdout.write(repr(got) + "\n")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("server")
    sp.add_argument("port", type=int)
    sp.add_argument("dir")
    sp.add_argument("--wait", action="store_true")
    sp.add_argument("--tamper", action="store_true")
    cp = sub.add_parser("client")
    cp.add_argument("port", type=int)
    cp.add_argument("data")
    cp.add_argument("--nonblock", action="store_true")
    cp.add_argument("--timeout", type=float, default=20)
    args = ap.parse_args()
    server(args) if args.cmd == "server" else client(args)


if __name__ == "__main__":
    main()
