#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The bench suite (placeholder): dm-envcrypt against dm-crypt, same fio job,
# same backing device, in a guest booted with -icount shift=0 -smp 1.

echo "bench: nothing here yet"
