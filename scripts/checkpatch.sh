#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Run the kernel's checkpatch.pl on the given files.  checkpatch ships in
# Debian's linux-source tarball; it is extracted once into build/.
set -eu

dir=build/checkpatch
if [ ! -x "$dir/scripts/checkpatch.pl" ]; then
	tarball=$(ls -1 /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -n 1)
	if [ -z "$tarball" ]; then
		echo "checkpatch: no /usr/src/linux-source-*.tar.xz; run 'make deps'" >&2
		exit 1
	fi
	top=$(basename "$tarball" .tar.xz)
	mkdir -p "$dir"
	tar -xJf "$tarball" -C "$dir" --strip-components=1 \
		"$top/scripts/checkpatch.pl" "$top/scripts/spelling.txt" \
		"$top/scripts/const_structs.checkpatch"
fi
exec "$dir/scripts/checkpatch.pl" --no-tree --strict --show-types \
	--ignore SPDX_LICENSE_TAG -f "$@"
