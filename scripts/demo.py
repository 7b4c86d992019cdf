#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Tap the receive side of a loopback TCP connection with pinned
programs and show what the application reads and what stap counted."""
import ctypes
import socket
import struct
import subprocess
import sys
import time

SOL_STAP, STAP_PARAMS, STAP_STATS = 299, 1, 2
TCP_ULP = 31
BPF_OBJ_GET = 7
SYS_BPF = 321
STATS = ("rx_pass_msgs rx_pass_bytes rx_drop_msgs rx_drop_bytes "
         "tx_pass_msgs tx_pass_bytes tx_drop_msgs tx_drop_bytes "
         "disconnects parse_errors bad_verdicts oversize_msgs").split()

libc = ctypes.CDLL(None, use_errno=True)


def obj_get(path):
    """Open a pinned BPF program: bpf(BPF_OBJ_GET)."""
    cpath = ctypes.create_string_buffer(path.encode())
    attr = struct.pack("QII", ctypes.addressof(cpath), 0, 0) + bytes(104)
    buf = ctypes.create_string_buffer(attr, len(attr))
    fd = libc.syscall(SYS_BPF, BPF_OBJ_GET, buf, len(attr))
    if fd < 0:
        raise OSError(ctypes.get_errno(), "BPF_OBJ_GET " + path)
    return fd


def main():
    pin = sys.argv[1]
    # Fixed 7-byte messages; the verdict looks at their first byte:
    # 'D' drops, 'U' returns a verdict stap does not know, others pass.
    parse = obj_get(pin + "/parse_seven")
    verdict = obj_get(pin + "/verdict_byte")

    lsn = socket.socket()
    lsn.bind(("127.0.0.1", 0))
    lsn.listen()
    cli = socket.create_connection(lsn.getsockname())
    srv, _ = lsn.accept()
    srv.setsockopt(socket.SOL_TCP, TCP_ULP, b"stap")
    params = struct.pack("iiiiIIIIII", -1, -1, parse, verdict, 0, 0,
                         0, 0, 0, 0)
    srv.setsockopt(SOL_STAP, STAP_PARAMS, params)
    ids = struct.unpack("iiiiIIIIII",
                        srv.getsockopt(SOL_STAP, STAP_PARAMS, 40))
    print("tapped: recv parser id %d, recv verdict id %d" % (ids[8], ids[9]))
    print("ss: " + subprocess.run(["ss", "-tnie", "sport", "=",
                                   str(srv.getsockname()[1])],
                                  capture_output=True, text=True).stdout
          .replace("\n", " | "))

    sent = [b"Pass me", b"Drop me", b"Passing", b"Unknown"]
    for m in sent:
        print("client sends   %r" % m)
    cli.sendall(b"".join(sent))
    time.sleep(0.3)
    srv.setblocking(False)
    data = srv.recv(4096)
    print("server reads   %r" % data)
    stats = struct.unpack("12Q", srv.getsockopt(SOL_STAP, STAP_STATS, 96))
    for name, val in zip(STATS, stats):
        if val:
            print("  %-14s %d" % (name, val))
    want = sent[0] + sent[2]
    print("demo: %s" % ("ok: only the passed messages arrived"
                        if data == want else "FAIL"))
    sys.exit(0 if data == want else 1)


if __name__ == "__main__":
    main()
