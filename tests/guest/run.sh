#!/usr/bin/env bash
# tests/guest/run.sh LINE: the guest tier of one FRR line (issue 22; see
# tests/guest/README.md).  Builds the guest image of the line's Debian if
# its inputs changed (scripts/guest-image.sh), boots it once
# (scripts/guest-run.sh) with the line's frr, frr-keep-all-routes and
# frr-pythontools .deb files and the tests in a shared directory,
# build/guest-LINE/, and returns the tests' status.  The guest installs,
# runs and purges FRR; this machine's packages are not touched.
#
# JUnit XML: build/guest-LINE/out/guest.xml, and "$KAR_REPORTS/guest-LINE.xml"
# when KAR_REPORTS is set.  KAR_GUEST_TIMEOUT (seconds, default 900) bounds
# the guest's run.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

line=${1:?usage: tests/guest/run.sh LINE}
kar_check_line "$line"
[[ $(id -u) -eq 0 ]] || kar_die "must run as root"
suite=${KAR_FRR_SUITE[$line]}
ldir=$(kar_line_dir "$line")
ver=$(cat "$ldir/.kar-version" 2>/dev/null) || kar_die "FRR $line is not built (scripts/build.sh $line)"
debs=()
for p in frr frr-keep-all-routes frr-pythontools; do
	f=("$ldir/${p}_${ver#*:}_"*.deb)
	[[ -f ${f[0]} ]] || kar_die "no ${p} package of FRR $line in $ldir (scripts/build.sh $line)"
	debs+=("${f[0]}")
done

share=$kar_top/build/guest-$line
rm -rf "$share"
mkdir -p "$share/debs" "$share/out"

t0=$SECONDS
epoch0=$(date +%s)
rc=0
image=$(bash "$kar_top/scripts/guest-image.sh" "$suite" "${debs[@]}" | tail -1) || rc=$?
image_s=$((SECONDS - t0))
if ((rc)) || [[ ! -f $image/.complete ]]; then
	# No guest: one failed test in the report says why.
	printf '<testsuites><testsuite name="guest-%s" tests="1" failures="1" errors="0">%s%s</testsuite></testsuites>\n' \
		"$line" "<testcase classname=\"guest-$line\" name=\"guest\">" \
		"<failure message=\"no guest image of Debian $suite (scripts/guest-image.sh)\"/></testcase>" \
		>"$share/out/guest.xml"
	[[ -z ${KAR_REPORTS:-} ]] || { mkdir -p "$KAR_REPORTS" && cp "$share/out/guest.xml" "$KAR_REPORTS/guest-$line.xml"; }
	kar_die "no guest image of Debian $suite"
fi
cached=no
(($(stat -c %Y "$image/.complete") < epoch0)) && cached=yes
cp "${debs[@]}" "$share/debs/"
cp -r "$kar_top/tests/guest/payload/." "$share/"
printf 'KAR_LINE=%q\n' "$line" >"$share/env"

kar_log "FRR $line: guest of Debian $suite ($image), console: $share/out/console.log"
t1=$SECONDS
rc=0
bash "$kar_top/scripts/guest-run.sh" "$image" "$share" "${KAR_GUEST_TIMEOUT:-900}" || rc=$?
run_s=$((SECONDS - t1))

# The report: the guest's JUnit XML with the line in each class name, or,
# when the guest gave none, one failed test that says why.
/usr/bin/python3 - "$share/out" "$line" "$rc" <<'EOF'
import os, sys, xml.etree.ElementTree as ET
out, line, rc = sys.argv[1], sys.argv[2], int(sys.argv[3])
path = os.path.join(out, "guest.xml")
try:
    tree = ET.parse(path)
    for suite in tree.getroot().iter("testsuite"):
        suite.set("name", "guest-" + line)
    for case in tree.getroot().iter("testcase"):
        case.set("classname", "guest-{}.{}".format(line, case.get("classname", "")))
except (OSError, ET.ParseError) as e:
    why = {124: "the guest timed out", 125: "the guest ended without an exit status"}.get(
        rc, "the guest wrote no report (status {})".format(rc))
    try:
        tail = open(os.path.join(out, "console.log"), errors="replace").read()[-3000:]
    except OSError:
        tail = ""
    suite = ET.Element("testsuite", name="guest-" + line, tests="1", failures="1", errors="0")
    case = ET.SubElement(suite, "testcase", classname="guest-" + line, name="guest")
    ET.SubElement(case, "failure", message=why).text = tail
    tree = ET.ElementTree(ET.Element("testsuites"))
    tree.getroot().append(suite)
tree.write(path, encoding="unicode")
EOF
if [[ -n ${KAR_REPORTS:-} ]]; then
	mkdir -p "$KAR_REPORTS"
	cp "$share/out/guest.xml" "$KAR_REPORTS/guest-$line.xml"
fi

# The summary: each test, and where the time went.
grep -E '^test_guest.py::.* (PASSED|FAILED|ERROR|SKIPPED)|^(FAILED|ERROR) |passed|failed' \
	"$share/out/pytest.log" 2>/dev/null | sed 's/^/  /' || true
# shellcheck disable=SC1091
[[ -f $share/out/times ]] && . "$share/out/times"
kar_log "FRR $line: image $image_s s (cached: $cached), guest $run_s s" \
	"(boot ${boot_seconds:-?} s, tests ${tests_seconds:-?} s), status $rc"
((rc == 0)) || kar_log "FRR $line: console $share/out/console.log, logs $share/out/"
exit "$rc"
