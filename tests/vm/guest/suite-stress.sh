#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The stress suite ("make stress"): the stress driver, stress.sh, for
# envcrypt.stress_time=SECONDS (default 600) of guest time.  Its table and
# its summary line go to the console:
#
#   envcrypt-stress-summary: duration=... ios=... faults=... errors=0 mismatches=0 ...
#
# Exit status 0 when there were no errors, mismatches or kernel warnings
# and every loop did work; the host (tests/vm/run.sh) judges the console
# for kernel warnings as well.

time=600
for arg in $(cat /proc/cmdline); do
	case $arg in
	envcrypt.stress_time=*) time=${arg#*=} ;;
	esac
done

[ -f "$ENVCRYPT_KO" ] || { echo "stress: dm-envcrypt.ko not in the image"; exit 1; }
bash /tests/stress.sh "$time" /tmp/stress
