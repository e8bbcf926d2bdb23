"""
Installation test of one FRR line's packages, done as an operator would on
this very machine: install the .deb files with apt, load the module from
/etc/frr/daemons, start FRR with the packaged init script, type the
vendor's example into vtysh against a real peer (BIRD 2 in a network
namespace), `write memory`, restart, and see the line and the retention
come back; then purge and find the machine as it was.

Run by scripts/test.sh (tests/install/run.sh LINE); needs root and no other
FRR running.  KAR_FRR_LINE names the line, KAR_DEB_DIR where its .deb
files are, KAR_LIBYANG_DEB_DIR where the 10.3 line's libyang packages are.
"""

import glob
import json
import os
import subprocess
import tempfile
import time

import pytest

LINE = os.environ["KAR_FRR_LINE"]
DEBS = os.environ["KAR_DEB_DIR"]
LIBYANG_DEBS = os.environ.get("KAR_LIBYANG_DEB_DIR", "")
# Debian 12's own frr, to show that the module refuses any other frr.
STOCK_FRR = os.environ.get("KAR_STOCK_FRR", "8.4.4-1.1~deb12u2")

FRRINIT = "/usr/lib/frr/frrinit.sh"
VRF = "vpna"  # the VRF: a network namespace (FRR's netns VRF backend)
PEER_NS = "kar-inst-peer"
R1, PEER = "10.66.0.1", "10.66.0.2"
BIRD_RUN = "/run/kar-inst-bird"
SENT = ["172.16.9.{}/32".format(i) for i in range(1, 7)]
ACCEPTED = SENT[:3]  # r1's import policy

VENDOR_EXAMPLE = """configure terminal
ip prefix-list ACCEPT seq 5 permit 172.16.9.0/30 le 32
ip prefix-list ACCEPT seq 10 permit 172.16.9.3/32
route-map IMPORT permit 10
 match ip address prefix-list ACCEPT
exit
router bgp 100 vrf vpna
 neighbor {peer} remote-as 100
 neighbor {peer} timers connect 2
 address-family ipv4 unicast
  neighbor {peer} route-map IMPORT in
  peer {peer} keep-all-routes
 exit-address-family
exit
""".format(peer=PEER)


def sh(cmd, check=True, timeout=300, input=None):
    """Run a shell command; return its stdout (stderr folded in).

    The output goes to a file, not a pipe: daemons the command starts (apt's
    postinst, frrinit.sh, bird) keep the descriptors they inherit, and a
    pipe would then never see end-of-file."""
    with tempfile.TemporaryFile(mode="w+") as out:
        p = subprocess.run(cmd, shell=True, stdout=out, stderr=subprocess.STDOUT,
                           input=input, stdin=None if input is not None else subprocess.DEVNULL,
                           text=True, timeout=timeout)
        out.seek(0)
        text = out.read()
    if check and p.returncode != 0:
        raise AssertionError("{} -> exit {}\n{}".format(cmd, p.returncode, text))
    return text


def pgrep(pattern):
    """Processes matching pattern (not via a shell: its own command line
    would match)."""
    return subprocess.run(["pgrep", "-a", "-f", pattern], stdout=subprocess.PIPE,
                          text=True).stdout


def apt(args):
    return sh("DEBIAN_FRONTEND=noninteractive apt-get -y -q "
              "-o Dpkg::Options::=--force-confold " + args)


def wait_for(what, fn, timeout=90, interval=0.5):
    """Poll fn() until it returns a true value; fail after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = fn()
        except (AssertionError, ValueError, KeyError) as e:
            value, last = None, e
        else:
            last = value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("{}: not after {}s (last: {!r})".format(what, timeout, last))
        time.sleep(interval)


def vtysh_json(cmd):
    return json.loads(sh("vtysh -c '{}'".format(cmd)))


def deb(name, where=DEBS):
    found = glob.glob(os.path.join(where, name + "_*.deb"))
    assert len(found) == 1, "{}: expected one {} package, found {}".format(where, name, found)
    return found[0]


def frr_packages():
    pkgs = [deb("frr"), deb("frr-keep-all-routes"), deb("frr-pythontools")]
    if LINE != "8.4":
        pkgs.append(deb("libyang3", LIBYANG_DEBS))
    return pkgs


# Where FRR's packages leave files; the test leaves them as it found them.
FRR_PATHS = ("/etc/frr", "/etc/pam.d/frr", "/etc/init.d/frr", "/etc/logrotate.d/frr",
             "/var/lib/frr", "/var/log/frr", "/run/frr")


def frr_files():
    """Every file and directory under FRR_PATHS, with owner and mode."""
    out = sh("find {} -printf '%p %u:%g %m\\n' 2>/dev/null; true".format(" ".join(FRR_PATHS)))
    return {line.rsplit(" ", 2)[0]: line for line in out.splitlines()}


def installed_packages():
    """frr and libyang packages dpkg knows (installed or with config left)."""
    out = sh("dpkg-query -W -f='${db:Status-Abbrev} ${Package} ${Version}\\n' "
             "'frr*' 'libyang*' 2>/dev/null; true")
    return [line for line in out.splitlines() if not line.startswith("un")]


def machine_state():
    """What an installation must leave as it found it."""
    return {
        "users": sh("getent passwd frr; getent group frr frrvty; true"),
        "packages": installed_packages(),
        "files": sorted(frr_files().values()),
        "daemons": pgrep("/usr/lib/frr/|bird.*kar-inst"),
        "netns": sh("ip netns list | grep -E '^({}|{})( |$)' || true".format(VRF, PEER_NS)),
    }


# The namespaces start_peer() made, which stop_peer() deletes (no other).
MADE_NS = []


def start_peer():
    """BIRD 2 in its own namespace, linked to VRF vpna's namespace; a
    namespace of either name that exists already is an error, not reused."""
    for ns in (VRF, PEER_NS):
        sh("ip netns add {}".format(ns))
        MADE_NS.append(ns)
        sh("ip -n {} link set lo up".format(ns))
    sh("ip link add kari0 netns {} type veth peer name kari1 netns {}".format(VRF, PEER_NS))
    sh("ip -n {} addr add {}/24 dev kari0 && ip -n {} link set kari0 up".format(VRF, R1, VRF))
    sh("ip -n {} addr add {}/24 dev kari1 && ip -n {} link set kari1 up".format(
        PEER_NS, PEER, PEER_NS))
    os.makedirs(BIRD_RUN, exist_ok=True)
    routes = "\n".join("  route {} blackhole;".format(p) for p in SENT)
    with open(BIRD_RUN + "/bird.conf", "w") as f:
        f.write("""router id {peer};
protocol device {{ }}
protocol static {{ ipv4; {routes} }}
protocol bgp r1 {{
  local {peer} as 100;
  neighbor {r1} as 100;
  connect retry time 2;
  ipv4 {{ import none; export all; next hop self; }};
}}
""".format(peer=PEER, r1=R1, routes=routes))
    sh("ip netns exec {ns} bird -c {d}/bird.conf -s {d}/bird.ctl -P {d}/bird.pid".format(
        ns=PEER_NS, d=BIRD_RUN))


def stop_peer():
    sh("[ -f {0}/bird.pid ] && kill $(cat {0}/bird.pid) || true".format(BIRD_RUN))
    wait_for("BIRD stopped", lambda: pgrep(BIRD_RUN + "/bird.conf") == "", timeout=20)
    sh("rm -rf " + BIRD_RUN)
    while MADE_NS:
        sh("ip netns del {}".format(MADE_NS.pop()))


def established():
    n = vtysh_json("show bgp vrf {} neighbors {} json".format(VRF, PEER))
    return n[PEER]["bgpState"] == "Established"


def loc_rib():
    data = vtysh_json("show bgp vrf {} ipv4 unicast json".format(VRF))
    return sorted(data.get("routes", {}))


def retention():
    """The peer's entry of `show bgp vrf vpna keep-all-routes json`."""
    data = vtysh_json("show bgp vrf {} keep-all-routes json".format(VRF))
    return data[VRF]["peers"][PEER]["ipv4Unicast"]


def received_routes():
    data = vtysh_json("show bgp vrf {} ipv4 unicast neighbors {} received-routes json".format(
        VRF, PEER))
    return sorted(data.get("receivedRoutes", {}))


def check_retention():
    wait_for("session with BIRD Established", established)
    wait_for("all {} routes stored".format(len(SENT)),
             lambda: retention()["storedPrefixes"] == len(SENT))
    r = retention()
    assert r["retained"] is True and "peer" in r["sources"], r
    assert received_routes() == sorted(SENT)
    wait_for("Loc-RIB = accepted", lambda: loc_rib() == sorted(ACCEPTED))


class Machine:
    """The machine before the test, and how to bring it back."""

    def __init__(self):
        self.before = machine_state()
        self.files = frr_files()
        self.installed = False

    def restore(self):
        sh("{} stop >/dev/null 2>&1 || true".format(FRRINIT))
        wait_for("FRR stopped", lambda: pgrep("/usr/lib/frr/") == "", timeout=30)
        stop_peer()
        before = [line.split()[1] for line in self.before["packages"]]
        extra = [line.split()[1] for line in installed_packages()
                 if line.split()[1] not in before]
        if extra:
            apt("purge " + " ".join(extra))
        missing = [line.split()[1] for line in self.before["packages"]
                   if line not in installed_packages()]
        if missing:  # libyang2's packages, which libyang3 replaced
            apt("install --no-install-recommends " + " ".join(missing))
        # What the packages left behind (a config written by `write memory`,
        # logs), and what they took away.
        for path in sorted(set(frr_files()) - set(self.files), reverse=True):
            sh("rm -rf '{}'".format(path))
        for path, line in sorted(self.files.items()):
            owner, mode = line.split()[-2:]
            if not os.path.lexists(path):
                sh("mkdir -p '{}'".format(path))
            sh("chown {} '{}' && chmod {} '{}'".format(owner, path, mode, path))
        users = self.before["users"]
        if "\nfrr:x" not in "\n" + users:
            sh("userdel frr 2>/dev/null; true")
        for group in ("frrvty", "frr"):
            if "\n{}:".format(group) not in "\n" + users:
                sh("groupdel {} 2>/dev/null; true".format(group))
        self.installed = False


@pytest.fixture(scope="module")
def machine():
    assert os.geteuid() == 0, "the installation test needs root"
    assert pgrep("/usr/lib/frr/") == "", "another FRR is running here"
    m = Machine()
    yield m
    if m.installed:
        m.restore()


def test_module_package_needs_its_exact_frr(machine):
    """dpkg -i of the module alone, and over Debian's own frr, fails with
    dpkg's dependency error and leaves no package behind."""
    module = deb("frr-keep-all-routes")
    want = "frr (= {})".format(sh("dpkg-deb -f {} Version".format(deb("frr"))).strip())
    out = sh("dpkg -i {} 2>&1".format(module), check=False)
    sh("dpkg --purge frr-keep-all-routes >/dev/null 2>&1 || true")
    assert "dependency problems" in out and want in out, out
    assert "Package frr is not installed" in out, out

    if LINE == "8.4":
        machine.installed = True
        apt("install --no-install-recommends frr={} >/dev/null".format(STOCK_FRR))
        out = sh("dpkg -i {} 2>&1".format(module), check=False)
        sh("dpkg --purge frr-keep-all-routes >/dev/null 2>&1 || true")
        assert "dependency problems" in out and want in out, out
        assert "Version of frr on system is {}".format(STOCK_FRR) in out, out
        machine.restore()
    assert machine_state() == machine.before


def test_install_and_vendor_example(machine):
    """apt-get install of the .deb files, the module loaded from
    /etc/frr/daemons, FRR started by its init script, the vendor's example
    typed into vtysh: a real peer's routes are all kept, the rejected ones
    too."""
    machine.installed = True
    apt("install --no-install-recommends " + " ".join("./" + os.path.relpath(p)
                                                       for p in frr_packages()))
    sh("{} stop >/dev/null 2>&1 || true".format(FRRINIT))
    # VRFs as network namespaces: zebra's --vrfwnetns on 8.4, every
    # daemon's -w from FRR 9.0 on.
    netns = ("-e 's/^zebra_options=\"\\(.*\\)\"/zebra_options=\"\\1 --vrfwnetns\"/' "
             if LINE == "8.4" else "-e 's/^#\\?frr_global_options=.*/frr_global_options=\"-w\"/' ")
    sh("sed -i -e 's/^bgpd=no/bgpd=yes/' " + netns +
       "-e 's/^bgpd_options=\"\\(.*\\)\"/bgpd_options=\"\\1 -M keep_all_routes\"/' "
       "/etc/frr/daemons")
    start_peer()
    sh(FRRINIT + " start")
    modules = sh("vtysh -c 'show modules'")
    assert "bgpd_keep_all_routes" in modules, modules
    out = sh("vtysh", input=VENDOR_EXAMPLE)
    assert "%" not in out, out
    check_retention()
    assert "peer {} keep-all-routes".format(PEER) in sh("vtysh -c 'show running-config'")


def test_write_memory_and_restart(machine):
    """write memory, restart FRR: the line and the retention come back."""
    sh("vtysh -c 'write memory'")
    assert "  peer {} keep-all-routes".format(PEER) in open("/etc/frr/frr.conf").read()
    sh(FRRINIT + " restart")
    wait_for("bgpd answers after restart",
             lambda: "bgpd_keep_all_routes" in sh("vtysh -c 'show modules'", check=False))
    assert "  peer {} keep-all-routes".format(PEER) in sh("vtysh -c 'show running-config'")
    check_retention()


def test_purge_leaves_machine_as_found(machine):
    """Purging the packages leaves no daemon, user, file or package behind."""
    machine.restore()
    after = machine_state()
    for key, value in machine.before.items():
        assert after[key] == value, "{} differ:\nbefore:\n{}\nafter:\n{}".format(
            key, value, after[key])
