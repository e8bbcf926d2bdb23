"""
The guest tier (issue 22): keep-all-routes on the router the vendor's
example describes, a PE of a BGP/MPLS IP VPN with VRF devices, inside a
guest of the line's own Debian (tests/guest/README.md).  Runs in the
guest, as root, in file order: each test builds on the one before, and
each checks what it claims itself (none passes because an earlier one did).

The topology is in guestlib.py.  KAR_LINE names the line; the line's .deb
files are in /root/debs.  Configuration is typed into vtysh, as an operator
does; the many show commands the tests poll go to the daemon's vty socket
(what vtysh would send and relay), which spares a vtysh start per query.
"""

import glob
import os
import re
import time

import pytest

import guestlib as g
from guestlib import CE1, CE2, LINE, PE2, VRF

# Facts a later test compares with (a test that did not record them fails).
SEEN = {}


@pytest.fixture(autouse=True)
def timeline(request):
    g.log("== " + request.node.name)
    yield
    g.log("== end of " + request.node.name)


@pytest.fixture(scope="module")
def before():
    """The machine before anything of FRR was installed."""
    assert os.geteuid() == 0
    return g.machine_state()


def deb(name, where=g.DEBS):
    found = glob.glob(os.path.join(where, name + "_*.deb"))
    assert len(found) == 1, "{}: expected one {} package, found {}".format(where, name, found)
    return found[0]


def deb_version(path):
    return g.sh("dpkg-deb -f {} Version".format(path)).strip()


# --- 1. the packages -------------------------------------------------------------------

def test_module_package_needs_its_exact_frr(before):
    """dpkg -i of the module package alone, and over the suite's own frr
    (Debian's, kept in the image), fails with dpkg's dependency error and
    leaves no package behind."""
    module = deb("frr-keep-all-routes")
    want = "frr (= {})".format(deb_version(deb("frr")))
    out = g.sh("dpkg -i {} 2>&1".format(module), check=False)
    g.sh("dpkg --purge frr-keep-all-routes >/dev/null 2>&1 || true")
    assert "dependency problems" in out and want in out, out
    assert "Package frr is not installed" in out, out

    debian_frr = deb("frr", g.DEBIAN_FRR)
    stock = deb_version(debian_frr)
    assert stock != deb_version(deb("frr")), stock
    g.sh("dpkg -i {} 2>&1".format(debian_frr))
    try:
        out = g.sh("dpkg -i {} 2>&1".format(module), check=False)
        g.sh("dpkg --purge frr-keep-all-routes >/dev/null 2>&1 || true")
        assert "dependency problems" in out and want in out, out
        assert "Version of frr on system is {}".format(stock) in out, out
    finally:
        g.sh("dpkg --purge frr 2>&1")
        # Debian's frr leaves its users and log directory (Debian policy);
        # the image had neither.
        g.sh("userdel frr 2>/dev/null; groupdel frrvty 2>/dev/null; "
             "groupdel frr 2>/dev/null; rm -rf /var/log/frr; true")
    assert g.machine_state() == before


def test_install_with_apt(before):
    """apt-get install ./….deb of the line's frr, frr-keep-all-routes and
    frr-pythontools, offline: every dependency comes from the guest's
    Debian (10.3: Debian 13's own libyang3, not the project's rebuild;
    10.7: forky's libyang5)."""
    t0 = time.monotonic()
    pkgs = [deb(p) for p in ("frr", "frr-keep-all-routes", "frr-pythontools")]
    out = g.apt("install " + " ".join(pkgs))
    g.log("installed in {:.1f} s".format(time.monotonic() - t0))
    version = deb_version(pkgs[0])
    installed = [l.split() for l in g.packages()]
    for p in ("frr", "frr-keep-all-routes", "frr-pythontools"):
        assert ["ii", p, version] in installed, (installed, out)
    # The line's libyang package and soname, where it is not Debian 12's.
    libyang_pkg, soname = {"10.3": ("libyang3", "3"), "10.7": ("libyang5", "5")}.get(
        LINE, (None, None))
    if libyang_pkg:
        libyang = g.sh("dpkg-query -W -f='${Version}' " + libyang_pkg)
        assert "kar" not in libyang, "{} {}: not Debian's own".format(libyang_pkg, libyang)
        ldd = g.sh("ldd /usr/lib/frr/bgpd")
        assert re.search(r"libyang\.so\.{} => /(usr/)?lib/x86_64-linux-gnu/".format(soname),
                         ldd), ldd
    assert os.path.exists("/usr/share/yang/frr-bgp-keep-all-routes.yang")
    # No path of the machine that built the packages: `bgpd --version`
    # prints configure's arguments, whose paths are the system's own.
    version_out = g.sh("/usr/lib/frr/bgpd --version")
    paths = re.findall(r"=(/[^'\s]*)", version_out)
    assert paths and all(re.match(r"/(usr|etc|var|run)(/|$)", p) for p in paths), version_out


# --- 2. the seed's PE ------------------------------------------------------------------

def test_pe_up():
    """The network, PE2 (instance pe2 in its namespace), PE1 started by the
    packaged init script with -M keep_all_routes from /etc/frr/daemons, the
    CEs; LDP gives PE2's loopback a label, the VPN carries the accepted
    routes."""
    g.build_network()
    g.boot_tmpfiles()
    g.start_pe2()
    g.edit_daemons("/etc/frr/daemons", module=True)
    g.write("/etc/frr/frr.conf", g.conf("pe1.conf"), owner="frr:frr", mode=0o640)
    g.sh(g.FRRINIT + " restart")
    g.start_ces()
    for ce in (CE1, CE2):
        g.wait_for("PE1: CE {} Established".format(ce), lambda: g.established(ce), timeout=90)
        g.wait_for("PE1: CE {} accepted routes".format(ce),
                   lambda: g.loc_rib(ce) == g.accepted(ce), timeout=60)
    g.wait_for("PE1-PE2 ipv4 vpn Established",
               lambda: g.established(g.PE2_LO, vrf=None), timeout=90)
    g.wait_for("PE2: CE3 Established",
               lambda: g.established(g.CE3, vrf=VRF, ns=PE2), timeout=90)
    # LDP: PE1's route to PE2's loopback is label-switched.
    def ldp_label():
        out = g.daemon_show(["show mpls ldp binding 2.2.2.2/32"], daemon="ldpd")[0]
        assert re.search(r"2\.2\.2\.2/32 .*imp-null", out), out
        return True
    g.wait_for("PE1: 2.2.2.2/32 with PE2's LDP label (implicit null)", ldp_label, timeout=90)
    want = g.accepted(CE1) | g.accepted(CE2)
    g.wait_for("PE2: the accepted routes, RD 100:1",
               lambda: set(g.pe2_vpn()) == want, timeout=90)
    g.wait_for("PE2: the accepted routes in vpna, valid (labeled next hop)",
               lambda: set(g.kernel_vrf_routes(PE2)) == want, timeout=60)


def test_module_loaded():
    """bgpd of PE1 runs with the module (show modules); PE2's without."""
    assert "bgpd_keep_all_routes" in g.vtysh("show modules")
    assert "keep_all_routes" in " ".join(g.pgrep(r"/usr/lib/frr/bgpd "))
    assert "bgpd_keep_all_routes" not in g.vtysh("show modules", ns=PE2)


# --- 3. a. the vendor's example ---------------------------------------------------------

def vendor_example(ce):
    return """configure terminal
router bgp 100 vrf vpna
 neighbor {ce} remote-as 100
 address-family ipv4 unicast
  peer {ce} keep-all-routes
 exit-address-family
exit
""".format(ce=ce)


def test_a_vendor_example():
    """The vendor's example typed into PE1's vtysh, for CE1 then CE2: CE1
    (route-refresh) gets one ROUTE-REFRESH and keeps its session, CE2 (no
    route-refresh) gets exactly one session reset; both are kept."""
    # Nothing keeps routes yet (bgpd's own answer, module or not).
    for ce in (CE1, CE2):
        assert g.received_routes(ce) is None
    s0 = {ce: g.session(ce) for ce in (CE1, CE2)}
    for ce in (CE1, CE2):
        out = g.vtysh_typed(vendor_example(ce))
        assert "%" not in out, out
    for ce in (CE1, CE2):
        g.wait_for("{}: all 6 routes stored".format(ce),
                   lambda: g.kar(ce)["storedPrefixes"] == 6 and g.established(ce), timeout=60)
    s1 = {ce: g.session(ce) for ce in (CE1, CE2)}
    SEEN["a_after"] = s1
    # CE1: one ROUTE-REFRESH, same session.
    want = dict(s0[CE1], refreshSent=s0[CE1]["refreshSent"] + 1)
    assert g.same_session(s1[CE1], want), (s0[CE1], s1[CE1])
    assert g.kar(CE1)["lastEnableAction"] == "route-refresh", g.kar(CE1)
    # CE2: one reset (one more connection dropped and established), no
    # ROUTE-REFRESH.
    assert s1[CE2]["state"] == "Established", s1[CE2]
    assert s1[CE2]["dropped"] == s0[CE2]["dropped"] + 1, (s0[CE2], s1[CE2])
    assert s1[CE2]["established"] == s0[CE2]["established"] + 1, (s0[CE2], s1[CE2])
    assert s1[CE2]["refreshSent"] == s0[CE2]["refreshSent"], (s0[CE2], s1[CE2])
    assert g.kar(CE2)["lastEnableAction"] == "session-reset", g.kar(CE2)
    for ce in (CE1, CE2):
        k = g.kar(ce)
        assert k["retained"] is True and k["sources"] == ["peer"], k
    running = g.vtysh("show running-config")
    for ce in (CE1, CE2):
        assert "  peer {} keep-all-routes".format(ce) in running, running


# --- 3. b. everything stored, only the accepted in the VPN ---------------------------------

def test_b_received_routes_and_vpn():
    """received-routes on PE1 lists all six routes of each CE; PE2's
    `show bgp ipv4 vpn` only the accepted ones, under RD 100:1, each with
    a label."""
    for ce in (CE1, CE2):
        assert g.received_routes(ce) == g.sent(ce)
        assert g.loc_rib(ce) == g.accepted(ce)
    want = g.accepted(CE1) | g.accepted(CE2)
    g.wait_for("PE2: RD 100:1 = accepted", lambda: set(g.pe2_vpn()) == want, timeout=30)
    labels = g.pe2_vpn_labels(want)
    for p, ls in labels.items():
        assert len(ls) == 1 and 16 <= min(ls) < 1048576, (p, ls)
    # Still exactly the one reset of test a.
    a = SEEN.get("a_after")
    assert a, "test a recorded no sessions"
    for ce in (CE1, CE2):
        assert g.same_session(g.session(ce), a[ce]), (a[ce], g.session(ce))


# --- 3. c. a policy change from the stored routes -------------------------------------------

WIDEN = """configure terminal
ip prefix-list ACCEPT seq 20 permit 172.16.1.4/31 le 32
ip prefix-list ACCEPT seq 25 permit 172.16.2.4/31 le 32
end
clear bgp vrf vpna ipv4 unicast * soft in
"""


def ping(ns, addr):
    return g.rc("ip netns exec {} ping -n -c 1 -W 1 {}".format(ns, addr)) == 0


def test_c_policy_change_from_store():
    """The policy widened on PE1 and `clear bgp vrf vpna ipv4 unicast *
    soft in`: no ROUTE-REFRESH, no reset; the newly accepted routes reach
    PE2, both kernels' vpna (PE2's with encap mpls), and CE3, whose ping to
    a CE1/CE2 address inside them crosses PE2 -> PE1 over MPLS and is
    answered."""
    new = {ce: g.accepted(ce, widened=True) - g.accepted(ce) for ce in (CE1, CE2)}
    everything = g.accepted(CE1, True) | g.accepted(CE2, True)
    for ce in (CE1, CE2):
        # Before: not routed anywhere.
        assert g.sh("ip -n ce3 route get {} 2>&1 || true".format(g.answering(ce)))
        assert g.rc("ip -n ce3 route get {}".format(g.answering(ce))) != 0
    s0 = {ce: g.session(ce) for ce in (CE1, CE2)}
    rx0 = g.mpls_rx_packets("pe1-core")

    out = g.vtysh_typed(WIDEN)

    for ce in (CE1, CE2):
        g.wait_for("PE1: {} Loc-RIB = widened policy".format(ce),
                   lambda: g.loc_rib(ce) == g.accepted(ce, widened=True), timeout=30)
    g.wait_for("PE2: RD 100:1 = widened policy",
               lambda: set(g.pe2_vpn()) == everything, timeout=30)
    labels = g.pe2_vpn_labels(new[CE1] | new[CE2])
    assert all(len(ls) == 1 for ls in labels.values()), labels
    pe1 = g.wait_for("PE1: kernel vpna has the new routes",
                     lambda: (lambda r: r if set(r) == everything else None)(
                         g.kernel_vrf_routes()), timeout=30)
    for p in new[CE1] | new[CE2]:
        assert " proto bgp" in pe1[p], pe1[p]
    pe2 = g.wait_for("PE2: kernel vpna has the new routes, MPLS-encapsulated",
                     lambda: (lambda r: r if set(r) == everything else None)(
                         g.kernel_vrf_routes(PE2)), timeout=30)
    for p in new[CE1] | new[CE2]:
        assert "encap mpls" in pe2[p], pe2[p]
    for ce in (CE1, CE2):
        g.wait_for("CE3 answered by {} on {}".format(ce, g.answering(ce)),
                   lambda: ping("ce3", g.answering(ce)), timeout=30, interval=0.5)
    # The pings came to PE1 as MPLS (the VRFs have no other way between
    # them): one labelled packet at least per answered ping.
    rx1 = g.mpls_rx_packets("pe1-core")
    assert rx0 is not None and rx1 is not None, "no MPLS statistics for pe1-core"
    assert rx1 - rx0 >= 2, "MPLS packets received on PE1's core link: {} -> {}".format(rx0, rx1)
    g.log("MPLS packets received on PE1's pe1-core: {} -> {}".format(rx0, rx1))
    # The stored routes were used: no ROUTE-REFRESH, no reset.
    for ce in (CE1, CE2):
        s1 = g.session(ce)
        assert g.same_session(s1, s0[ce]), (ce, s0[ce], s1)
        assert g.received_routes(ce) == g.sent(ce)
    assert "%" not in out, out


# --- 3. d. undo, instance-wide, write memory, restart, purge ---------------------------------

def test_d_undo_instance_write_restart():
    """`undo peer X keep-all-routes` frees the stored routes (Loc-RIB and
    sessions untouched); instance-wide `keep-all-routes` keeps them again;
    `write memory` and frrinit.sh restart bring the line and the retention
    back."""
    s0 = {ce: g.session(ce) for ce in (CE1, CE2)}
    lines = "".join("  undo peer {} keep-all-routes\n".format(ce) for ce in (CE1, CE2))
    out = g.vtysh_typed("configure terminal\nrouter bgp 100 vrf vpna\n"
                        " address-family ipv4 unicast\n" + lines)
    assert "%" not in out, out
    for ce in (CE1, CE2):
        g.wait_for("{}: storage freed".format(ce),
                   lambda: g.kar(ce)["storedPrefixes"] == 0, timeout=30)
        k = g.kar(ce)
        assert k["retained"] is False and k["sources"] == [] and k["storedBytes"] == 0, k
        assert g.received_routes(ce) is None
        assert g.loc_rib(ce) == g.accepted(ce, widened=True)
        assert g.same_session(g.session(ce), s0[ce])

    out = g.vtysh_typed("configure terminal\nrouter bgp 100 vrf vpna\n keep-all-routes\n")
    assert "%" not in out, out
    for ce in (CE1, CE2):
        g.wait_for("{}: kept by the instance".format(ce),
                   lambda: g.kar(ce)["storedPrefixes"] == 6 and g.established(ce), timeout=60)
        assert g.kar(ce)["sources"] == ["instance"], g.kar(ce)
    assert g.kar()["instanceKeepAllRoutes"] is True
    s1 = {ce: g.session(ce) for ce in (CE1, CE2)}
    assert g.same_session(s1[CE1], dict(s0[CE1], refreshSent=s0[CE1]["refreshSent"] + 1)), \
        (s0[CE1], s1[CE1])
    assert s1[CE2]["dropped"] == s0[CE2]["dropped"] + 1, (s0[CE2], s1[CE2])

    g.vtysh("write memory")
    saved = open("/etc/frr/frr.conf").read()
    block = saved.split("router bgp 100 vrf vpna", 1)[1].split("\nexit", 1)[0]
    assert "\n keep-all-routes\n" in block + "\n", block
    assert "peer 10.1." not in block, block

    g.sh(g.FRRINIT + " restart")
    g.wait_for("PE1's bgpd back with the module",
               lambda: "bgpd_keep_all_routes" in g.sh("vtysh -c 'show modules'", check=False),
               timeout=60)
    # The configuration is read by `vtysh -b` once every daemon is up.
    g.wait_for("PE1's saved configuration read back",
               lambda: "router bgp 100 vrf vpna" in g.vtysh("show running-config"), timeout=60)
    running = g.vtysh("show running-config")
    block = running.split("router bgp 100 vrf vpna", 1)[1].split("\nexit", 1)[0]
    assert "\n keep-all-routes\n" in block + "\n", block
    for ce in (CE1, CE2):
        g.wait_for("{}: Established and kept after the restart".format(ce),
                   lambda: g.established(ce) and g.kar(ce)["storedPrefixes"] == 6, timeout=90)
        k = g.kar(ce)
        assert k["retained"] is True and k["sources"] == ["instance"], k
        assert g.received_routes(ce) == g.sent(ce)
        g.wait_for("{}: Loc-RIB = widened policy after the restart".format(ce),
                   lambda: g.loc_rib(ce) == g.accepted(ce, widened=True), timeout=30)
    g.wait_for("PE2: the routes again after PE1's restart",
               lambda: set(g.pe2_vpn()) == g.accepted(CE1, True) | g.accepted(CE2, True),
               timeout=90)


def test_e_purge(before):
    """apt-get purge of the three packages: FRR gone (packages, daemons,
    files).  What Debian's packaging keeps by design (the frr/frrvty users,
    Debian policy; /var/log/frr) is the only difference to the machine
    before the installation."""
    # PE2 is the test's own instance: its configuration is the test's.
    g.sh("{} stop {} || true".format(g.FRRINIT, PE2))
    g.sh("rm -rf /etc/frr/{}".format(PE2))
    g.stop_ces()
    os.makedirs("/kar/out/frr-logs", exist_ok=True)
    g.sh("cp -r /var/log/frr/. /kar/out/frr-logs/ 2>/dev/null; cp /etc/frr/frr.conf "
         "/kar/out/frr-logs/pe1-saved.conf 2>/dev/null; true")
    # The package's prerm stops FRR through the service manager, which
    # this guest does not run: stopped as an operator without one would.
    g.sh(g.FRRINIT + " stop")
    g.wait_for("FRR stopped", lambda: not g.pgrep(r"/usr/lib/frr/"), timeout=30)
    g.apt("purge frr frr-keep-all-routes frr-pythontools")
    after = g.machine_state()
    assert after["packages"] == before["packages"], after["packages"]
    assert after["daemons"] == [], after["daemons"]
    assert not os.path.exists("/usr/lib/frr")
    # dpkg removes what the packages shipped; files an operator's commands
    # made are left: logs, and the backup `write memory` keeps of frr.conf.
    left = sorted(f.split(" ")[0] for f in set(after["files"]) - set(before["files"]))
    expected = ("/etc/frr", "/etc/frr/frr.conf.sav")
    assert [f for f in left if f not in expected and not f.startswith("/var/log/frr")] == [], left
    g.log("left by the purge: {}".format(" ".join(left) or "nothing"))
    assert sorted(set(before["files"]) - set(after["files"])) == []
