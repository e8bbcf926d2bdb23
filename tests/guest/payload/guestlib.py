"""
Helpers of the guest tier (runs inside the guest, as root, see
tests/guest/README.md): shell commands, vtysh, waiting on conditions, and
the seed's BGP/MPLS IP VPN:

    CE1 (BIRD, route-refresh)   --+
      10.1.1.2 AS 100             |  vpna (VRF device, table 10)
    CE2 (BIRD, no route-refresh)--+- PE1 = the guest's root namespace: the
      10.1.2.2 AS 100                packaged FRR under test, -M keep_all_routes,
                                     lo 1.1.1.1, AS 100, RD 100:1, RT 100:1
                                       | pe1-core 10.0.0.1/30: MPLS (LDP) and
                                       | iBGP ipv4 vpn 1.1.1.1 <-> 2.2.2.2
                                       | pe2-core 10.0.0.2/30
                                     PE2 = namespace pe2: the same packages,
                                     FRR instance "pe2" (frrinit.sh start pe2,
                                     watchfrr --netns), no keep-all-routes,
                                     lo 2.2.2.2, vpna (table 10), RD 100:2
                                       |
    CE3 (BIRD, AS 65003) 10.3.3.2 --+- vpna of PE2 (10.3.3.1)

PE1's import policy (route-map IMPORT in on each CE) accepts .1-.3 of the
six /32s each CE sends (172.16.1.1-6 from CE1, 172.16.2.1-6 from CE2); the
policy change accepts .4-.5 too (.6 stays rejected).  CE1 and CE2 answer
on 172.16.X.5 (a dummy interface), a prefix the change accepts.
"""

import glob
import json
import os
import re
import socket
import subprocess
import tempfile
import time

LINE = os.environ.get("KAR_LINE", "?")
HERE = os.path.dirname(os.path.abspath(__file__))
CONF = os.path.join(HERE, "conf")
DEBS = "/root/debs"
DEBIAN_FRR = "/var/cache/kar-guest/debian-frr"
FRRINIT = "/usr/lib/frr/frrinit.sh"
RUN = "/run/kar"

VRF = "vpna"
PE2 = "pe2"  # PE2's namespace and FRR instance (pathspace)
CE1, CE2, CE3 = "10.1.1.2", "10.1.2.2", "10.3.3.2"
CES = {CE1: "ce1", CE2: "ce2"}
PE1_LO, PE2_LO = "1.1.1.1", "2.2.2.2"
RD = "100:1"


def sent(ce):
    net = "172.16.1" if ce == CE1 else "172.16.2"
    return {"{}.{}/32".format(net, i) for i in range(1, 7)}


def accepted(ce, widened=False):
    return {p for p in sent(ce) if int(p.split(".")[3].split("/")[0]) <= (5 if widened else 3)}


def answering(ce):
    """The address the CE answers on: inside a prefix the change accepts."""
    return "172.16.1.5" if ce == CE1 else "172.16.2.5"


def sh(cmd, check=True, timeout=120, input=None):
    """Run a shell command; return its output (stderr folded in).  Output
    goes to a file, not a pipe: daemons the command starts keep the
    descriptors they inherit."""
    t0 = time.monotonic()
    with tempfile.TemporaryFile(mode="w+") as out:
        p = subprocess.run(cmd, shell=True, stdout=out, stderr=subprocess.STDOUT,
                           input=input,
                           stdin=None if input is not None else subprocess.DEVNULL,
                           text=True, timeout=timeout)
        out.seek(0)
        text = out.read()
    if time.monotonic() - t0 > 2:
        log("{:6.1f} s  $ {}".format(time.monotonic() - t0, cmd[:100]))
    if check and p.returncode != 0:
        raise AssertionError("{} -> exit {}\n{}".format(cmd, p.returncode, text))
    return text


def rc(cmd, timeout=60):
    return subprocess.run(cmd, shell=True, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                          timeout=timeout).returncode


def apt(args):
    return sh("apt-get -y -q -o Dpkg::Options::=--force-confold "
              "--no-install-recommends " + args, timeout=600)


def vtysh_cmd(ns=None):
    return "vtysh -N {}".format(ns) if ns else "vtysh"


def vtysh(*cmds, ns=None):
    """Commands through vtysh -c (exec mode)."""
    return sh(vtysh_cmd(ns) + " " + " ".join("-c '{}'".format(c) for c in cmds))


def vtysh_typed(text, ns=None):
    """Lines typed into vtysh, one after the other, as an operator would."""
    return sh(vtysh_cmd(ns), input=text)


def daemon_show(cmds, ns=None, daemon="bgpd"):
    """Show commands sent to one daemon through its vty socket, as vtysh
    sends them (each a NUL-terminated line; the answer ends with three NUL
    bytes and the status): the daemon's own output, without starting a
    vtysh per query (a second or so each under TCG)."""
    path = "/run/frr/{}{}.vty".format(ns + "/" if ns else "", daemon)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(30)
    try:
        sock.connect(path)
        outs = []
        for line in ["enable"] + list(cmds):
            sock.sendall(line.encode() + b"\0")
            buf = b""
            while not (len(buf) >= 4 and buf[-4:-1] == b"\0\0\0"):
                chunk = sock.recv(65536)
                if not chunk:
                    raise AssertionError("{}: {} closed the connection".format(line, path))
                buf += chunk
            # A status other than CMD_SUCCESS comes with the daemon's own
            # answer (a JSON warning, say), which the caller reads.
            outs.append(buf[:-4].decode(errors="replace"))
    except OSError as e:
        raise AssertionError("{}: {}".format(path, e))
    finally:
        sock.close()
    return outs[1:]


def show_json(cmd, ns=None):
    """A JSON show command of bgpd (through its vty socket)."""
    out = daemon_show([cmd], ns=ns)[0]
    try:
        return json.loads(out)
    except ValueError:
        raise AssertionError("{}: not JSON: {!r}".format(cmd, out[:500]))


def show_jsons(cmds, ns=None):
    """Several JSON show commands of bgpd: their objects in order."""
    out = "".join(daemon_show(cmds, ns=ns))
    dec, pos, objs = json.JSONDecoder(), 0, []
    while len(objs) < len(cmds):
        while pos < len(out) and out[pos].isspace():
            pos += 1
        obj, pos = dec.raw_decode(out, pos)
        objs.append(obj)
    return objs


STEPS = os.environ.get("KAR_STEPS_LOG", "/kar/out/steps.log")


def log(msg):
    """One line of the run's timeline (guest uptime, message)."""
    with open("/proc/uptime") as f:
        up = f.read().split()[0]
    try:
        with open(STEPS, "a") as f:
            f.write("{:>8} {}\n".format(up, msg))
    except OSError:
        pass


def wait_for(what, fn, timeout=60, interval=0.2):
    """Poll fn() until it returns a true value; fail after timeout."""
    start = time.monotonic()
    deadline = start + timeout
    last = None
    while True:
        try:
            value = fn()
        except (AssertionError, ValueError, KeyError, TypeError) as e:
            value, last = None, e
        else:
            last = value
        if value:
            log("{:6.1f} s  {}".format(time.monotonic() - start, what))
            return value
        if time.monotonic() > deadline:
            log("TIMEOUT {} s  {}".format(timeout, what))
            raise AssertionError("{}: not after {} s (last: {!r})".format(what, timeout, last))
        time.sleep(interval)


def pgrep(pattern):
    """Live processes whose command line matches (zombies excluded)."""
    out = subprocess.run(["ps", "-eo", "stat=,args="], stdout=subprocess.PIPE,
                         text=True).stdout
    return [l for l in out.splitlines()
            if not l.lstrip().startswith("Z") and re.search(pattern, l)
            and "ps -eo" not in l]


# --- the machine, before and after -------------------------------------------

FRR_PATHS = ("/etc/frr", "/etc/pam.d/frr", "/etc/init.d/frr", "/etc/logrotate.d/frr",
             "/var/lib/frr", "/var/log/frr", "/run/frr", "/usr/lib/frr",
             "/usr/share/yang/frr-bgp-keep-all-routes.yang")


def frr_files():
    out = sh("find {} -printf '%p %u:%g %m\\n' 2>/dev/null; true".format(" ".join(FRR_PATHS)))
    return {line.rsplit(" ", 2)[0]: line for line in out.splitlines()}


def packages():
    out = sh("dpkg-query -W -f='${db:Status-Abbrev} ${Package} ${Version}\\n' "
             "'frr*' 'libyang*' 2>/dev/null; true")
    return sorted(l for l in out.splitlines() if not l.startswith("un"))


def users():
    return sh("getent passwd frr; getent group frr frrvty; true")


def machine_state():
    return {"packages": packages(), "files": sorted(frr_files().values()),
            "users": users(), "daemons": pgrep(r"/usr/lib/frr/")}


# --- topology ----------------------------------------------------------------

def ns_exec(ns, cmd):
    return "ip netns exec {} {}".format(ns, cmd) if ns else cmd


def build_network():
    """Namespaces, links, loopbacks, VRF devices and MPLS input: what the
    operator's Linux gives FRR (addresses and devices are not FRR's)."""
    sh("modprobe -a vrf mpls_router mpls_iptunnel veth dummy")
    for ns in (PE2, "ce1", "ce2", "ce3"):
        sh("ip netns add {0} && ip -n {0} link set lo up".format(ns))
    for ns, lo in ((None, PE1_LO), (PE2, PE2_LO)):
        n = "-n {} ".format(ns) if ns else ""
        sh("ip {}addr add {}/32 dev lo".format(n, lo))
        sh(ns_exec(ns, "sysctl -q -w net.mpls.platform_labels=100000 "
                       "net.ipv4.ip_forward=1"))
        sh("ip {}link add {} type vrf table 10 && ip {}link set {} up".format(n, VRF, n, VRF))
    # The core link, MPLS on both ends.
    sh("ip link add pe1-core type veth peer name pe2-core netns {}".format(PE2))
    sh("ip addr add 10.0.0.1/30 dev pe1-core && ip link set pe1-core up")
    sh("ip -n {0} addr add 10.0.0.2/30 dev pe2-core && ip -n {0} link set pe2-core up".format(PE2))
    sh("sysctl -q -w net.mpls.conf.pe1-core.input=1")
    sh(ns_exec(PE2, "sysctl -q -w net.mpls.conf.pe2-core.input=1"))
    # CE links, in vpna at the PE end.
    for pe_ns, pe_if, ce_ns, ce_if, pe_addr, ce_addr in (
            (None, "pe1-ce1", "ce1", "ce1-pe1", "10.1.1.1", CE1),
            (None, "pe1-ce2", "ce2", "ce2-pe1", "10.1.2.1", CE2),
            (PE2, "pe2-ce3", "ce3", "ce3-pe2", "10.3.3.1", CE3)):
        n = "-n {} ".format(pe_ns) if pe_ns else ""
        peer_ns = "netns {}".format(ce_ns)
        if pe_ns:
            sh("ip {}link add {} type veth peer name {} {}".format(n, pe_if, ce_if, peer_ns))
        else:
            sh("ip link add {} type veth peer name {} {}".format(pe_if, ce_if, peer_ns))
        sh("ip {0}link set {1} master {2} && ip {0}addr add {3}/24 dev {1} && "
           "ip {0}link set {1} up".format(n, pe_if, VRF, pe_addr))
        sh("ip -n {0} addr add {1}/24 dev {2} && ip -n {0} link set {2} up".format(
            ce_ns, ce_addr, ce_if))
    # CE1 and CE2: a default route to their PE, and the address they answer
    # on.  CE3 routes with what BGP gives it.
    for ce_ns, pe_addr, ce in (("ce1", "10.1.1.1", CE1), ("ce2", "10.1.2.1", CE2)):
        sh("ip -n {0} route add default via {1}".format(ce_ns, pe_addr))
        sh("ip -n {0} link add {0}-lo type dummy && ip -n {0} addr add {1}/32 dev {0}-lo && "
           "ip -n {0} link set {0}-lo up".format(ce_ns, answering(ce)))


def conf(name):
    with open(os.path.join(CONF, name)) as f:
        return f.read()


def write(path, text, owner=None, mode=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    if owner:
        sh("chown {} '{}'".format(owner, path))
    if mode:
        os.chmod(path, mode)


def edit_daemons(path, module=True, netns=False):
    """The operator's /etc/frr/daemons: bgpd and ldpd on, the module loaded
    (PE1), watchfrr in the instance's namespace (PE2).

    Two watchfrr settings for an emulated CPU shared with other work, where
    starting the daemons one after the other and `vtysh -b` takes longer
    than on a router:
    -T 90: 10.3's default restart timeout; 8.4's 20 s kills the startup
       command before `vtysh -b` has configured every daemon.
    -i 20: watchfrr restarts a daemon on its own once zebra is up and the
       daemon has not answered two of its connection attempts, one period
       apart, even while its startup command is still starting that daemon
       (5 s: about 10 s, which such a startup exceeds): the second ldpd then
       finds its control socket removed by the first, and LDP never comes
       up.  With 20 s, only a daemon still down after about 40 s is."""
    with open(path) as f:
        text = f.read()
    out = []
    for line in text.splitlines():
        if line.startswith("bgpd=") or line.startswith("ldpd="):
            line = line.split("=")[0] + "=yes"
        elif line.startswith("bgpd_options=") and module:
            line = line.rstrip('"') + ' -M keep_all_routes"'
        elif line.startswith("#watchfrr_options="):
            line = 'watchfrr_options="{}-T 90 -i 20"'.format("--netns " if netns else "")
        out.append(line)
    write(path, "\n".join(out) + "\n")


def boot_tmpfiles():
    """What a boot does for the packages (systemd-tmpfiles, which this
    guest does not run): /run/frr as frr.tmpfile says, before any FRR
    instance creates it as root (PE2's watchfrr would, for /run/frr/pe2)."""
    for path in glob.glob("/usr/lib/tmpfiles.d/frr*.conf"):
        for line in open(path):
            f = line.split()
            if len(f) >= 5 and f[0] == "d":
                os.makedirs(f[1], exist_ok=True)
                sh("chown {}:{} {} && chmod {} {}".format(f[3], f[4], f[1], f[2], f[1]))


def start_pe2():
    """PE2: a second FRR of the same packages, instance "pe2" of the
    packaged init script, its watchfrr (and so every daemon) in namespace
    pe2.  No keep-all-routes."""
    d = "/etc/frr/{}".format(PE2)
    os.makedirs(d, exist_ok=True)
    sh("cp /etc/frr/daemons {0}/daemons && cp /etc/frr/vtysh.conf {0}/vtysh.conf".format(d))
    edit_daemons(d + "/daemons", module=False, netns=True)
    write(d + "/frr.conf", conf("pe2.conf"))
    sh("chown -R frr:frr {0} && chmod 640 {0}/frr.conf".format(d))
    sh("{} start {}".format(FRRINIT, PE2))
    # frrinit.sh returns while watchfrr starts the daemons and configures
    # them: PE1 starts after PE2 has its configuration, not beside it.
    wait_for("PE2 configured", lambda: "2.2.2.2" in daemon_show(
        ["show bgp vrf {} summary".format(VRF)], ns=PE2)[0], timeout=120)


def start_ces():
    os.makedirs(RUN, exist_ok=True)
    for ce_ns, name in (("ce1", "ce1.conf"), ("ce2", "ce2.conf"), ("ce3", "ce3.conf")):
        write("{}/{}.conf".format(RUN, ce_ns), conf("bird-" + name))
        sh(ns_exec(ce_ns, "bird -c {0}/{1}.conf -s {0}/{1}.ctl -P {0}/{1}.pid".format(
            RUN, ce_ns)))


def stop_ces():
    for ce_ns in ("ce1", "ce2", "ce3"):
        sh("[ -f {0}/{1}.pid ] && kill $(cat {0}/{1}.pid) || true".format(RUN, ce_ns))
    wait_for("BIRD stopped", lambda: not pgrep(r"bird -c " + RUN), timeout=20)


# --- what the PEs say -----------------------------------------------------------

def neighbor(addr, vrf=VRF, ns=None):
    cmd = "show bgp{} neighbors {} json".format(" vrf " + vrf if vrf else "", addr)
    data = show_json(cmd, ns=ns)
    assert addr in data, "{}: {!r}".format(cmd, data)
    return data[addr]


def session(addr):
    """What an operator compares before and after: state, counters, uptime."""
    n = neighbor(addr)
    return {"state": n["bgpState"],
            "established": n["connectionsEstablished"],
            "dropped": n["connectionsDropped"],
            "refreshSent": n["messageStats"]["routeRefreshSent"],
            "upSince": n.get("bgpTimerUpEstablishedEpoch")}


def same_session(a, b):
    """Same, untouched session (the epoch is derived from uptime: +-1 s)."""
    a, b = dict(a), dict(b)
    ua, ub = a.pop("upSince"), b.pop("upSince")
    return a == b and a["state"] == "Established" and ua is not None and abs(ua - ub) <= 1


def established(addr, vrf=VRF, ns=None):
    return neighbor(addr, vrf, ns)["bgpState"] == "Established"


def kar(addr=None):
    """show bgp vrf vpna keep-all-routes json: the instance, or one peer's
    ipv4Unicast entry (keys: bgpd-module/kar_show.c)."""
    data = show_json("show bgp vrf {} keep-all-routes json".format(VRF))
    inst = data[VRF]
    return inst if addr is None else inst["peers"][addr]["ipv4Unicast"]


NOT_KEPT = "Inbound soft reconfiguration not enabled"


def received_routes(addr):
    """received-routes of a CE on PE1; None when bgpd keeps none."""
    cmd = "show bgp vrf {} ipv4 unicast neighbors {} received-routes json".format(VRF, addr)
    data = show_json(cmd)
    if data.get("warning") == NOT_KEPT:
        return None
    assert "totalPrefixCounter" in data, "{}: {!r}".format(cmd, data)
    return set(data.get("receivedRoutes", {}))


def loc_rib(addr):
    """PE1's vpna Loc-RIB prefixes with a path from addr."""
    data = show_json("show bgp vrf {} ipv4 unicast json".format(VRF))
    return {p for p, paths in data.get("routes", {}).items()
            if any(x.get("peerId") == addr for x in paths)}


def pe2_vpn(rd=RD):
    """PE2's `show bgp ipv4 vpn json`: {prefix: paths} under the RD."""
    data = show_json("show bgp ipv4 vpn json", ns=PE2)
    rds = data.get("routes", data).get("routeDistinguishers", {})
    return {p: paths for p, paths in rds.get(rd, {}).items() if p.startswith("172.16.")}


def pe2_vpn_labels(prefixes, rd=RD):
    """The remote label of each prefix in PE2's VPN table (detail view)."""
    cmds = ["show bgp ipv4 vpn rd {} {} json".format(rd, p) for p in sorted(prefixes)]
    out = {}
    for p, data in zip(sorted(prefixes), show_jsons(cmds, ns=PE2)):
        labels = set()

        def walk(o):
            if isinstance(o, dict):
                for k, v in o.items():
                    if k == "remoteLabel":
                        labels.add(v)
                    walk(v)
            elif isinstance(o, list):
                for v in o:
                    walk(v)
        walk(data)
        out[p] = labels
    return out


def kernel_vrf_routes(ns=None):
    """`ip route show vrf vpna` lines of the 172.16/16 prefixes: {prefix: line}."""
    out = sh(ns_exec(ns, "ip route show vrf {}".format(VRF)))
    routes = {}
    for line in out.splitlines():
        dst = line.split()[0]
        if dst.startswith("172.16."):
            routes[dst if "/" in dst else dst + "/32"] = line
    return routes


def mpls_rx_packets(ifname, ns=None):
    """MPLS packets received on an interface (the kernel's MPLS AF stats,
    `ip stats show dev IF group afstats subgroup mpls`; iproute2 6.1 prints
    them as text only), or None when not reported."""
    out = sh(ns_exec(ns, "ip stats show dev {} group afstats subgroup mpls".format(ifname)),
             check=False).splitlines()
    for i, line in enumerate(out[:-1]):
        if line.split()[:3] == ["RX:", "bytes", "packets"]:
            values = out[i + 1].split()
            if len(values) >= 2 and values[1].isdigit():
                return int(values[1])
    return None
