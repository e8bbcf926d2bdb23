"""Talking to the daemons and reading what they cost: FRR's vty and BIRD's
control socket spoken directly, CPU time and memory from /proc, starting and
stopping processes and the kb* network namespaces."""

import json
import os
import shutil
import signal
import socket
import subprocess
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def sh(cmd, check=True, **kw):
    return subprocess.run(cmd, check=check, **kw)


class Vty:
    """bgpd's vty socket, in the protocol vtysh uses: a command ends with
    NUL; the answer ends with three NULs and a status byte."""

    def __init__(self, path, timeout=300):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        # `event` or `thread` (before FRR 9): kb_peers.event_cpu() keeps
        # the one that worked, so it is not asked for the other each time
        self.event_word = None
        self.cmd("enable")

    def cmd(self, line):
        self.sock.sendall(line.encode() + b"\0")
        buf = bytearray()
        while True:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("vty closed during %r" % line)
            buf += chunk
            if len(buf) >= 4 and buf[-4:-1] == b"\0\0\0":
                status = buf[-1]
                text = buf[:-4].decode(errors="replace")
                if status not in (0, 10):   # CMD_SUCCESS, CMD_SUCCESS_DAEMON
                    raise RuntimeError("vty %r -> %d: %s"
                                       % (line, status, text))
                return text

    def json(self, line):
        return json.loads(self.cmd(line) or "{}")

    def config(self, *lines):
        self.cmd("configure terminal")
        try:
            for line in lines:
                self.cmd(line)
        finally:
            self.cmd("end")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Birdc:
    """BIRD's control socket, as birdc speaks it: one command a line; each
    answer line starts with a four-digit code, followed by '-' while more
    lines come and by ' ' on the last one (a line starting with a space
    continues the previous code)."""

    def __init__(self, path, timeout=300):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""
        self._answer()                       # 0001 BIRD ... ready.

    def _line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("bird control socket closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode(errors="replace")

    def _answer(self):
        lines = []
        while True:
            line = self._line()
            lines.append(line)
            if len(line) >= 5 and line[:4].isdigit() and line[4] == " ":
                code = int(line[:4])
                if code >= 8000:
                    raise RuntimeError("bird: %s" % "\n".join(lines))
                return lines

    def cmd(self, line):
        self.sock.sendall(line.encode() + b"\n")
        return self._answer()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def read_pid(path, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with open(path) as f:
                pid = int(f.read().strip())
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError):
            time.sleep(0.05)
    raise RuntimeError("no live pid in %s" % path)


def cpu_ns(pid):
    """CPU time of every thread of pid, in ns (schedstat's run time;
    finer than the 10 ms ticks of /proc/PID/stat)."""
    total = 0
    base = "/proc/%d/task" % pid
    for tid in os.listdir(base):
        try:
            with open("%s/%s/schedstat" % (base, tid)) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass                             # a thread that just ended
    return total


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except (ProcessLookupError, TypeError):
        return False


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def stop_pid(pid, timeout=5.0):
    if not pid:
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not alive(pid):
            return
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    time.sleep(0.2)


def start_daemon(cmd, logfile, env=None, forks=True):
    """Run a daemon's start command; one that forks itself (forks) is
    waited for, one that does not is left running in a session of its
    own.  Its output goes to logfile."""
    with open(logfile, "a") as out:
        out.write("+ %s\n" % " ".join(cmd))
        out.flush()
        if forks:
            subprocess.run(cmd, check=True, stdout=out, stderr=out, env=env)
        else:
            subprocess.Popen(cmd, stdout=out, stderr=out, env=env,
                             stdin=subprocess.DEVNULL,
                             start_new_session=True)


def ns_exists(ns):
    return os.path.exists("/var/run/netns/" + ns)


def ns_pids(ns):
    out = sh(["ip", "netns", "pids", ns], check=False,
             capture_output=True, text=True).stdout.split()
    return [int(p) for p in out]


def cleanup(namespaces, dirs):
    """Stop every process living in one of our namespaces, delete them and
    our run directories."""
    for ns in namespaces:
        if ns_exists(ns):
            for pid in ns_pids(ns):
                stop_pid(pid, timeout=3.0)
    for ns in namespaces:
        if ns_exists(ns):
            sh(["ip", "netns", "del", ns], check=False)
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)


class CpuMeter:
    """The machine's busy CPU time (from /proc/stat) and the bench's own
    processes' share of it, so that a run can say how much of the machine
    others used while it ran."""

    @staticmethod
    def machine_busy_s():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        idle = v[3] + v[4]                   # idle + iowait
        return (sum(v[:8]) - idle) / CLK_TCK

    @staticmethod
    def own_s(pids):
        total = 0
        for pid in pids:
            try:
                total += cpu_ns(pid)
            except OSError:
                pass
        return total / 1e9
