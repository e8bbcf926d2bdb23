#!/usr/bin/env bash
# scripts/guest-image.sh SUITE [DEB ...]: the guest tier's image of Debian
# SUITE (bookworm for FRR 8.4, trixie for FRR 10.3, forky for FRR 10.7),
# built from Debian's archive with debootstrap and kept in
# /var/cache/frr-keep-all-routes/guest/,
# keyed by the hash of its inputs (this script, tests/guest/image/, the
# suite, busybox-static's version, the names and dependency fields of the
# DEB files): rebuilt only when they change.  The image holds every
# package the DEB files need (installed with them, then the DEB packages
# purged), so that installing them in the guest downloads nothing.  Prints
# the image's directory, which holds
#   vmlinuz      the suite's own kernel (linux-image-amd64's ABI package)
#   initrd.img   busybox-static and the modules the root needs (virtio, ext4)
#   root.img     ext4 root: minbase + tests/guest/image/packages + the
#                runtime dependencies of the suite's own frr (whose .deb
#                files stay in /var/cache/kar-guest/debian-frr/) and of
#                the DEB files
#   manifest     every package of the image, with its version
# The image is never written by a guest (scripts/guest-run.sh boots it with
# snapshot=on).  The mirror is the machine's own: derived at run time from
# /etc/apt/sources.list.d/*.sources (or sources.list), as setup-host.sh does.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

suite=${1:?usage: guest-image.sh SUITE [DEB ...]}
shift
[[ $suite =~ ^[a-z]+$ ]] || kar_die "bad suite '$suite'"
debs=("$@")
deb_fields=""
for d in "${debs[@]}"; do
	[[ -f $d ]] || kar_die "$d: no such file"
	deb_fields+=$(dpkg-deb -f "$d" Package Pre-Depends Depends)$'\n'
done
[[ $(id -u) -eq 0 ]] || kar_die "must run as root"
for tool in debootstrap mkfs.ext4 cpio; do
	command -v "$tool" >/dev/null || kar_die "$tool missing (scripts/setup-host.sh installs it)"
done
busybox_ver=$(dpkg-query -W -f='${Version}' busybox-static 2>/dev/null) ||
	kar_die "busybox-static missing (scripts/setup-host.sh installs it)"

imgdir=$kar_top/tests/guest/image
arch=$(dpkg --print-architecture)
hash=$(kar_hash "$0" "$imgdir" "suite=$suite" "arch=$arch" "busybox=$busybox_ver" \
	"debs=$deb_fields")
base=$KAR_CACHE/guest
out=$base/$suite-$hash
if [[ -f $out/.complete ]]; then
	echo "$out"
	exit 0
fi
mkdir -p "$base"
exec 9>"$base/.lock-$suite"
flock 9
if [[ -f $out/.complete ]]; then # built by another run meanwhile
	echo "$out"
	exit 0
fi

# --- the machine's own Debian mirror and security archive -----------------
host_suite=$(. /etc/os-release && echo "$VERSION_CODENAME")
# Print "URI SUITE" for every binary entry of the machine's apt sources.
apt_entries() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[[ -f $f ]] || continue
		awk 'BEGIN { RS=""; FS="\n" }
		     { types=""; uris=""; suites=""
		       for (i = 1; i <= NF; i++) {
			 if ($i ~ /^Types:/) types=$i
			 if ($i ~ /^URIs:/) { uris=$i; sub(/^URIs:[ \t]*/, "", uris) }
			 if ($i ~ /^Suites:/) { suites=$i; sub(/^Suites:[ \t]*/, "", suites) } }
		       if (types !~ /(:|[ \t])deb([ \t]|$)/) next
		       n = split(uris, u, /[ \t]+/); m = split(suites, s, /[ \t]+/)
		       for (a = 1; a <= n; a++) for (b = 1; b <= m; b++) print u[a], s[b] }' "$f"
	done
	[[ -f /etc/apt/sources.list ]] &&
		awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) while ($i !~ /\]$/) i++
		                   if ($2 ~ /^\[/) i++; print $i, $(i+1) }' /etc/apt/sources.list
	true
}
mirror=$(apt_entries | awk -v s="$host_suite" '$2 == s && $1 ~ /debian\/?$/ { print $1; exit }')
security=$(apt_entries | awk -v s="$host_suite-security" '$2 == s { print $1; exit }')
[[ -n $mirror ]] || kar_die "no Debian entry for $host_suite in the machine's apt sources"

# --- build ------------------------------------------------------------------
work=$base/work-$suite-$$
root=$work/root
log=$work/build.log
mounted=()
cleanup() {
	local i
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
		umount -l "${mounted[$i]}" 2>/dev/null || true
	done
	mounted=()
	if [[ -d $work ]] && ! grep -q " $work/" /proc/mounts; then
		rm -rf --one-file-system "$work"
	fi
}
trap cleanup EXIT
rm -rf --one-file-system "$work"
mkdir -p "$root"
start=$SECONDS
kar_log "building the $suite image (log: $log)" >&2
step() { printf '[%s] %s\n' "$((SECONDS - start))s" "$*" >>"$log"; }
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 "$@"; }
fail() { tail -30 "$log" >&2; kar_die "$suite image: $*"; }

step "debootstrap $suite from $mirror"
# Debian 12's debootstrap knows the releases after it by sid's script.
script=/usr/share/debootstrap/scripts/$suite
[[ -e $script ]] || script=/usr/share/debootstrap/scripts/sid
debootstrap --variant=minbase --arch="$arch" \
	--keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
	"$suite" "$root" "$mirror" "$script" >>"$log" 2>&1 || fail "debootstrap failed"
for m in proc sys dev dev/pts; do
	case $m in
	proc) mount -t proc proc "$root/proc" ;;
	sys) mount -t sysfs sysfs "$root/sys" ;;
	dev) mount --bind /dev "$root/dev" ;;
	dev/pts) mount -t devpts devpts "$root/dev/pts" ;;
	esac
	mounted+=("$root/$m")
done

# The suite, its updates and its security archive, from the same hosts.
{
	echo "Types: deb"
	echo "URIs: $mirror"
	echo "Suites: $suite $suite-updates"
	echo "Components: main"
	echo "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
	if [[ -n $security ]]; then
		echo
		echo "Types: deb"
		echo "URIs: $security"
		echo "Suites: $suite-security"
		echo "Components: main"
		echo "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
	fi
} >"$root/etc/apt/sources.list.d/debian.sources"
rm -f "$root/etc/apt/sources.list"
# What the machine's apt does with Release files past their Valid-Until (an
# archive snapshot; testing's Release files expire within a week), the
# image's does too.
apt-config dump | grep -E '^Acquire::Check-(Valid-Until|Date) ' \
	>"$root/etc/apt/apt.conf.d/99frr-keep-all-routes" || true
# No daemon starts while the image is built (bird2's and frr's postinst).
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
apt_in_root() { in_root apt-get -y -q -o Dpkg::Options::=--force-confold \
	-o APT::Install-Recommends=false "$@" >>"$log" 2>&1; }

step "apt-get update, upgrade"
apt_in_root update || fail "apt-get update failed"
apt_in_root dist-upgrade || fail "apt-get dist-upgrade failed"

pkgs=$(sed -e 's/#.*//' "$imgdir/packages" | awk -v s="$suite" \
	'NF { if ($1 ~ /:/) { split($1, a, ":"); if (a[1] == s) print a[2] } else print $1 }')
frr_pkgs=$(sed -e 's/#.*//' "$imgdir/frr-deps" | awk 'NF { print $1 }')
step "install: ${pkgs//$'\n'/ }"
# shellcheck disable=SC2086
apt_in_root install $pkgs || fail "apt-get install failed"

# Debian's own frr: its dependencies stay, the package goes.
step "Debian's frr for its dependencies: ${frr_pkgs//$'\n'/ }"
apt_in_root clean
# shellcheck disable=SC2086
apt_in_root install $frr_pkgs || fail "apt-get install of Debian's frr failed"
in_root sh -c 'apt-mark showauto | xargs -r apt-mark manual' >>"$log" 2>&1
mkdir -p "$root/var/cache/kar-guest/debian-frr"
for p in $frr_pkgs; do
	mv "$root"/var/cache/apt/archives/"${p}"_*.deb "$root/var/cache/kar-guest/debian-frr/" ||
		fail "no .deb of $p in apt's cache"
done
# shellcheck disable=SC2086
apt_in_root purge $frr_pkgs || fail "apt-get purge of Debian's frr failed"

# The DEB files' own dependencies (a build may need more than Debian's frr
# of the suite does), the same way.
if ((${#debs[@]})); then
	step "dependencies of: ${debs[*]##*/}"
	mkdir -p "$root/tmp/kar-debs"
	cp "${debs[@]}" "$root/tmp/kar-debs/"
	# shellcheck disable=SC2046
	apt_in_root install $(for d in "${debs[@]}"; do echo "/tmp/kar-debs/${d##*/}"; done) ||
		fail "apt-get install of the DEB files failed"
	in_root sh -c 'apt-mark showauto | xargs -r apt-mark manual' >>"$log" 2>&1
	# shellcheck disable=SC2046
	apt_in_root purge $(for d in "${debs[@]}"; do dpkg-deb -f "$d" Package; done) ||
		fail "apt-get purge of the DEB packages failed"
	rm -rf "$root/tmp/kar-debs"
fi
# What frr leaves on purge (its users, by Debian policy; its log
# directory): the image is a machine that never had FRR.
in_root sh -c 'userdel frr; groupdel frrvty; groupdel frr; true' >>"$log" 2>&1
rm -rf "$root/var/log/frr" "$root/etc/frr" "$root/var/lib/frr"

# The suite's kernel, unpacked (its package would pull initramfs-tools,
# which the guest does not use: the initramfs is built below).
step "kernel"
kpkg=$(in_root apt-cache depends linux-image-amd64 |
	awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
[[ -n $kpkg ]] || fail "no kernel package behind linux-image-amd64"
kver=${kpkg#linux-image-}
# From Linux 7 on (forky), the image package holds neither the kernel nor
# its modules: linux-binary-VERSION and linux-modules-VERSION do.
kpkgs=$kpkg
for p in linux-binary-$kver linux-modules-$kver; do
	in_root apt-cache show "$p" >/dev/null 2>&1 && kpkgs+=" $p"
done
in_root sh -c "cd /tmp && apt-get download -q $kpkgs" >>"$log" 2>&1 ||
	fail "apt-get download $kpkgs failed"
for p in $kpkgs; do
	kdeb=$(ls "$root"/tmp/"$p"_*.deb)
	dpkg-deb --fsys-tarfile "$kdeb" | tar -C "$root" -x --keep-directory-symlink
	rm -f "$kdeb"
done
moddir=$root/lib/modules/$kver
[[ -d $moddir ]] || fail "no modules in $moddir"
# Drivers a virtual router never loads: a smaller image, a quicker mkfs.
(cd "$moddir/kernel" && rm -rf sound drivers/gpu drivers/media drivers/net/wireless \
	drivers/infiniband drivers/staging drivers/bluetooth drivers/iio drivers/hid \
	drivers/input drivers/usb net/wireless net/mac80211 net/bluetooth)
in_root depmod "$kver" >>"$log" 2>&1 || fail "depmod failed"
mkdir -p "$work/out"
vmlinuz=$root/boot/vmlinuz-$kver
[[ -f $vmlinuz ]] || vmlinuz=$moddir/vmlinuz # Linux 7 packages
cp "$vmlinuz" "$work/out/vmlinuz"
rm -rf "${root:?}/boot"/*

install -m 755 "$imgdir/kar-guest-init" "$root/usr/local/sbin/kar-guest-init"
echo kar-guest >"$root/etc/hostname"
in_root dpkg-query -W -f='${Package} ${Version}\n' >"$work/out/manifest"
echo "kernel $kver" >>"$work/out/manifest"

# --- initramfs: busybox and the modules that reach the root -------------------
step "initramfs"
ird=$work/initramfs
mkdir -p "$ird/bin" "$ird/modules"
cp /bin/busybox "$ird/bin/busybox"
install -m 755 "$imgdir/initramfs-init" "$ird/init"
# ext4 wants crc32c, which modprobe only knows as a soft dependency; the
# generic one, since the emulated CPU has no SSE 4.2.  A driver a kernel
# has built in (forky's Linux 7: virtio_pci; crc32c from 6.14 on) is no
# module and needs no loading.
mods=()
for m in virtio_pci virtio_blk crc32c_generic ext4; do
	in_root modinfo -k "$kver" "$m" >/dev/null 2>&1 && mods+=("$m")
done
in_root modprobe -S "$kver" -a --show-depends "${mods[@]}" \
	>"$work/deps" 2>>"$log" || fail "modprobe --show-depends failed"
: >"$ird/modules.order"
while read -r what path _; do
	[[ $what == insmod ]] || continue
	# crc32c-intel needs SSE 4.2, which the emulated CPU (qemu64) lacks.
	[[ $path == */crc32c-intel.ko* ]] && continue
	name=$(basename "$path")
	name=${name%.xz}
	name=${name%.zst}
	grep -qx "$name" "$ird/modules.order" && continue
	case $path in
	*.xz) xz -dc "$root$path" >"$ird/modules/$name" ;;
	*.zst) zstd -qdc "$root$path" >"$ird/modules/$name" ;;
	*) cp "$root$path" "$ird/modules/$name" ;;
	esac
	echo "$name" >>"$ird/modules.order"
done <"$work/deps"
(cd "$ird" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/out/initrd.img"

# --- the root file system ---------------------------------------------------
step "root.img"
rm -f "$root/usr/sbin/policy-rc.d"
apt_in_root clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/* \
	"$root"/usr/share/locale/* "$root"/var/log/*.log "$root"/var/cache/debconf/*-old
for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount "${mounted[$i]}"; done
mounted=()
size_mb=$(($(du -sm "$root" | cut -f1) + 1024))
mkfs.ext4 -q -F -L kar-root -d "$root" "$work/out/root.img" "${size_mb}M" >>"$log" 2>&1 ||
	fail "mkfs.ext4 failed"
step "done"
cp "$log" "$work/out/build.log"
echo "$((SECONDS - start))" >"$work/out/build-seconds"
rm -rf --one-file-system "$out"
mv "$work/out" "$out"
touch "$out/.complete"
# Older images of this suite (other inputs) go.
for old in "$base/$suite"-*; do
	[[ $old == "$out" || ! -d $old ]] || rm -rf --one-file-system "$old"
done
kar_log "$suite image built in $((SECONDS - start)) s: $out" >&2
echo "$out"
