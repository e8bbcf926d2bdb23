# Shared helpers for the project's scripts (sourced, not run).

# Build directory: build/ normally, build-asan/ for the sanitizer build.
kar_build_dir() {
	if [[ ${KAR_SANITIZE:-} == address ]]; then
		echo "$top/build-asan"
	else
		echo "$top/build"
	fi
}

# The module's files that hold CLI definitions, as vtysh must see them.
kar_vtysh_scan_files() {
	local dir=$1 f out=()
	for f in "$top"/bgpd-module/*.c; do
		grep -q 'install_element' "$f" && out+=("$dir/$(basename "$f")")
	done
	echo "${out[*]}"
}
