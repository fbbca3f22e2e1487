#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The demo suite (placeholder): show an encrypted volume at work.

echo "demo: nothing here yet"
