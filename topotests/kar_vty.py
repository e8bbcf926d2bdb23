#!/usr/bin/env python3
"""
Send commands to one FRR daemon through its vty socket, as vtysh does,
and print what it answers: for the commands vtysh does not know (those of
a module built outside FRR's tree, such as the tests' second Adj-RIB-In
consumer).  vtysh's protocol: each command goes as a NUL-terminated line;
the daemon answers with its output, three NUL bytes and the command's
status (CMD_SUCCESS = 0).

    kar_vty.py SOCKET COMMAND...

Exits 1 when a command's status is not CMD_SUCCESS.
"""

import socket
import sys


def run(sock, line):
    sock.sendall(line.encode() + b"\0")
    buf = b""
    while not (len(buf) >= 4 and buf[-4:-1] == b"\0\0\0"):
        chunk = sock.recv(65536)
        if not chunk:
            raise SystemExit("{}: connection closed".format(line))
        buf += chunk
    return buf[:-4].decode(errors="replace"), buf[-1]


def main():
    path, cmds = sys.argv[1], sys.argv[2:]
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    failed = False
    for line in cmds:
        out, status = run(sock, line)
        sys.stdout.write(out)
        if status != 0:
            sys.stdout.write("% {}: status {}\n".format(line, status))
            failed = True
    sock.close()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
