#!/usr/bin/env bash
# scripts/guest-run.sh IMAGE_DIR SHARE_DIR [TIMEOUT_S]: boot one guest of
# the guest tier and return the exit status of its payload.
#
# IMAGE_DIR is what scripts/guest-image.sh printed; the guest boots its
# kernel and root under TCG (qemu-system-x86_64, no KVM: Debian's kernel
# does not boot under this machine's KVM), one vCPU (KAR_GUEST_SMP), 1 GiB
# (KAR_GUEST_MEM), no network device, the root disk with snapshot=on (the
# image is never written).  SHARE_DIR is shared read-write with the guest
# (9p, mounted on /kar): the guest runs SHARE_DIR/guest-main.sh and writes
# its exit status to SHARE_DIR/out/rc.  The serial console goes to
# SHARE_DIR/out/console.log.  After TIMEOUT_S seconds (default 900) the
# guest's qemu, and only it (by its pid), is killed and the status is 124.
# Status 125: the guest ended without an exit status (crash, panic).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

image=${1:?usage: guest-run.sh IMAGE_DIR SHARE_DIR [TIMEOUT_S]}
share=${2:?usage: guest-run.sh IMAGE_DIR SHARE_DIR [TIMEOUT_S]}
timeout=${3:-900}
for f in vmlinuz initrd.img root.img .complete; do
	[[ -e $image/$f ]] || kar_die "$image: no $f (scripts/guest-image.sh builds it)"
done
[[ -x $share/guest-main.sh ]] || kar_die "$share/guest-main.sh missing"
command -v qemu-system-x86_64 >/dev/null ||
	kar_die "qemu-system-x86_64 missing (scripts/setup-host.sh installs it)"
share=$(cd "$share" && pwd)
mkdir -p "$share/out"
rm -f "$share/out/rc"
console=$share/out/console.log

# qemu's temporary snapshot of the root disk: on disk, not in /tmp's memory.
export TMPDIR=${KAR_GUEST_TMP:-/var/tmp}
qemu=(qemu-system-x86_64 -accel tcg -machine q35 -cpu qemu64
	-smp "${KAR_GUEST_SMP:-1}" -m "${KAR_GUEST_MEM:-1024}"
	-nodefaults -no-user-config -display none -monitor none -no-reboot
	-chardev "file,id=con,path=$console" -serial chardev:con
	-kernel "$image/vmlinuz" -initrd "$image/initrd.img"
	-append "console=ttyS0 panic=-1 quiet loglevel=4 net.ifnames=0 ${KAR_GUEST_APPEND:-}"
	-drive "file=$image/root.img,if=virtio,format=raw,snapshot=on,cache=unsafe"
	-virtfs "local,path=$share,mount_tag=kar,security_model=none,id=kar"
	-nic none)
start=$EPOCHREALTIME
"${qemu[@]}" </dev/null >"$share/out/qemu.log" 2>&1 &
pid=$!
deadline=$((SECONDS + timeout))
rc=
while kill -0 "$pid" 2>/dev/null; do
	if ((SECONDS >= deadline)); then
		kar_log "guest still running after ${timeout} s: killing its qemu (pid $pid)" >&2
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
		rc=124
		break
	fi
	sleep 0.5
done
wait "$pid" 2>/dev/null || true
elapsed=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
if [[ -z $rc ]]; then
	if [[ -f $share/out/rc ]]; then
		rc=$(cat "$share/out/rc")
	else
		kar_log "the guest ended without an exit status (console: $console)" >&2
		tail -20 "$console" >&2 || true
		cat "$share/out/qemu.log" >&2 || true
		rc=125
	fi
fi
printf '%s\n' "$elapsed" >"$share/out/qemu-seconds"
exit "$rc"
