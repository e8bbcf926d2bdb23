"""
Fixtures shared by the keep-all-routes topotests (FRR's own conftest.py,
one directory up in FRR's tree, still applies).

`tgen` starts kar_lib's topology once per test module.  A module chooses
r1's bgpd configuration with R1_BGPD_CONF, whether bgpd loads the module
with WITH_MODULE and with QUICK_PEERS whether r2 and r3 announce at once
when a session comes up (kar_lib.quick_peers()); modules with a topology
of their own define their own `tgen`.  `family_tgen` runs a module's tests
once per kar_model family (r2/r3 in peer-groups over IPv4, then over IPv6)
and gives (family, tgen).
`reset_r1` undoes each test's configuration on r1; modules opt in with
pytest.mark.usefixtures("reset_r1").
"""

import os
import signal
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kar_lib as k  # noqa: E402
import kar_model as m  # noqa: E402

# FRR 10's topotest library (munet) stops the process that holds a node's
# namespaces with SIGHUP, then waits 30 s before SIGKILL.  A run started
# with SIGHUP ignored (nohup, some job runners) hands that on to it, which
# costs a minute per test file; the holder is to die on SIGHUP.
signal.signal(signal.SIGHUP, signal.SIG_DFL)


@pytest.fixture(scope="module")
def tgen(request):
    tgen = k.start(
        request.module.__name__,
        getattr(request.module, "R1_BGPD_CONF", None),
        with_module=getattr(request.module, "WITH_MODULE", True),
    )
    if getattr(request.module, "QUICK_PEERS", False):
        k.quick_peers(tgen)
    yield tgen
    k.stop(tgen)


@pytest.fixture(scope="module", params=m.FAMILIES, ids=[f.name for f in m.FAMILIES])
def family_tgen(request):
    tgen = m.start(request.module.__name__, request.param)
    if getattr(request.module, "QUICK_PEERS", False):
        k.quick_peers(tgen)
    yield request.param, tgen
    k.stop(tgen)


@pytest.fixture
def reset_r1(tgen):
    yield
    k.reset_r1(tgen)
