#!/usr/bin/env python3
"""
Type one command into bgpd through its vty socket, then, as an operator's
vtysh would while bgpd works on it, ask for an instance's summary every
100 ms and print what each answer said, until every listed peer's accepted
count is the one expected (or 120 s passed):

    kar_follow.py SOCKET COMMAND SUMMARY-COMMAND '{"PEER": COUNT, ...}'

Prints one JSON object: "first", the counts in the answer to the first
question (sent 20 ms after COMMAND was answered); "counts", every answer's
counts in order; "settled", whether the expected counts were reached.
"""

import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kar_vty import run  # noqa: E402


def counts(text, peers):
    try:
        data = json.loads(text)["peers"]
    except (ValueError, KeyError):
        return None
    return {p: data.get(p, {}).get("pfxRcd") for p in peers}


def main():
    path, command, summary, want = sys.argv[1:5]
    want = json.loads(want)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    for line in ("enable", command):
        out, status = run(sock, line)
        if status != 0:
            sys.exit("{}: status {}: {}".format(line, status, out))
    time.sleep(0.02)
    seen = []
    end = time.monotonic() + 120
    while True:
        out, status = run(sock, summary)
        seen.append(counts(out, want))
        if seen[-1] == want or time.monotonic() > end:
            break
        time.sleep(0.1)
    sock.close()
    print(json.dumps({"first": seen[0], "counts": seen,
                      "settled": seen[-1] == want}))


if __name__ == "__main__":
    main()
