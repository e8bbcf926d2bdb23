"""
pytest plugin: FRR's own BMP topotests with keep_all_routes loaded beside
FRR's bmp module.

    pytest -p kar.kar_beside_bmp bgp_bmp/

Every bgpd those tests start with `-M bmp` also loads keep_all_routes (as
kar_lib loads it: the packaged module, or KAR_MODULE).  Their routers'
vtysh.conf lets root in (kar_lib.allow_root_vtysh), as in the project's own
topotests: the packages' vtysh asks PAM, and this machine has no
/etc/pam.d/frr.  After each test, every such router that is still running
lists both modules in `show modules`: a test that passes ran with both
loaded.  Nothing of the tests themselves changes; they pass or fail on their
own checks.

FRR's topotest library is imported only once FRR's conftest has configured
pytest (importing it earlier changes how it logs).
"""

import os
import sys

import pytest

_with_both = set()


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import kar_lib as k
    from lib import topotest
    from lib.topogen import Topogen

    load_conf = topotest.Router.loadConf
    start_router = Topogen.start_router

    def load_conf_beside_bmp(self, daemon, source=None, param=None, *args, **kwargs):
        if daemon == "bgpd" and param and "-M bmp" in param and k.KAR_MODULE not in param:
            param = "{} {}".format(param, k.MODULE)
            _with_both.add(self.name)
        return load_conf(self, daemon, source, param, *args, **kwargs)

    def start_router_root_vtysh(self, *args, **kwargs):
        k.allow_root_vtysh(self)
        return start_router(self, *args, **kwargs)

    topotest.Router.loadConf = load_conf_beside_bmp
    Topogen.start_router = start_router_root_vtysh


@pytest.fixture(autouse=True)
def both_modules_loaded():
    yield
    from lib.topogen import get_topogen

    tgen = get_topogen()
    if tgen is None:
        return
    for name in sorted(_with_both):
        router = tgen.gears.get(name)
        if router is None or "bgpd" in router.check_router_running():
            continue  # the test's own checks report a dead bgpd
        out = router.vtysh_cmd("show modules")
        assert "bgpd_bmp" in out and "bgpd_keep_all_routes" in out, \
            "{}: bgpd without both modules: {!r}".format(name, out)
