# SPDX-License-Identifier: GPL-2.0
#
# dm-envcrypt: envelope-encrypted block devices for hypervisor hosts.
#
#   make            build kernel/dm-envcrypt.ko against KDIR, and
#                   build/bin/envcryptctl
#   make deps       install the Debian packages everything below needs
#   make check      all tests (kernel tests in a QEMU guest, KMS tests
#                   against pykmip-server, SoftHSM2 and plugins, the
#                   userspace tests under valgrind and ASan/UBSan, short
#                   fuzz runs)
#   make fuzz       every fuzz target for FUZZ_TIME seconds (300)
#   make valgrind   the userspace unit tests under valgrind
#   make asan       the userspace unit tests and the peer tests built with
#                   AddressSanitizer and UBSan (into build/asan)
#   make stress     fio verify in a guest under suspend/resume, key wipe/set,
#                   device create/remove and fault cycles for STRESS_TIME
#                   seconds (600); prints a summary, fails on any error
#   make demo       boot a guest and show an encrypted volume at work
#   make bench      dm-envcrypt against dm-crypt in a deterministic guest,
#                   and the ciphers natively against OpenSSL
#   make lint       checkpatch and sparse on the kernel code

# The guest kernel: the newest Debian kernel installed under /lib/modules,
# not the running one (this host's kernel takes no modules).
KVER ?= $(shell ls -1 /lib/modules 2>/dev/null | sort -V | tail -n 1)
KDIR ?= /lib/modules/$(KVER)/build
export KVER KDIR

MODULE := kernel/dm-envcrypt.ko

.PHONY: all module tools deps check check-unit check-peers check-fuzz check-vm \
	fuzz valgrind asan demo bench lint checkpatch sparse clean

all: module tools

tools:
	$(MAKE) -C tools

module:
	@test -d "$(KDIR)" || { echo "make: no kernel headers at $(KDIR); run 'make deps'" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

deps:
	@scripts/deps.sh

check: deps
	$(MAKE) module tools
	$(MAKE) lint
	$(MAKE) check-unit
	$(MAKE) check-peers
	$(MAKE) valgrind
	$(MAKE) asan
	$(MAKE) check-fuzz
	$(MAKE) check-vm

check-unit:
	$(MAKE) -C tests/unit check
	$(MAKE) -C tests/tools check

# envcryptctl against real KMS peers on this host (tests/peers/run.sh)
check-peers: tools build/bin/envcrypt-header-edit build/bin/elapsed-us \
		build/bin/envcrypt-dm-fuzz
	tests/peers/run.sh

# each parser's fuzz target briefly; 'make fuzz' runs them for longer
check-fuzz:
	$(MAKE) -C tests/fuzz check

fuzz:
	$(MAKE) -C tests/fuzz fuzz

# the userspace unit tests under valgrind (zero reports)
valgrind: tools
	$(MAKE) -C tests/tools valgrind

# the unit tests and the peer tests again, the library, envcryptctl and the
# tests built with AddressSanitizer and UBSan into build/asan (build/ stays
# uninstrumented): any report, a leak included, fails the run
asan: tools build/bin/envcrypt-header-edit build/bin/elapsed-us \
		build/bin/envcrypt-dm-fuzz
	$(MAKE) -C tests/tools asan
	ENVCRYPTCTL=$(CURDIR)/build/asan/bin/envcryptctl \
		scripts/asan-run.sh build/asan/logs tests/peers/run.sh

# Programs the guest tests run, built on the host (the guest gets all of
# build/bin, envcryptctl included).
TEST_TOOLS := build/bin/sm4-xts-ref build/bin/envcrypt-header-edit \
	      build/bin/elapsed-us
TEST_TOOLS += build/bin/powercut.so

build/bin/sm4-xts-ref: tests/vm/tools/sm4-xts-ref.c
	@mkdir -p build/bin
	$(CC) -O2 -Wall -Wextra -Werror -o $@ $< -lcrypto

build/bin/elapsed-us: tests/vm/tools/elapsed-us.c
	@mkdir -p build/bin
	$(CC) -O2 -Wall -Wextra -Werror -o $@ $<

# table lines, messages and volume headers at random (t_badinput.sh)
TEST_TOOLS += build/bin/envcrypt-dm-fuzz
build/bin/envcrypt-dm-fuzz: tests/vm/tools/dm-fuzz.c
	@mkdir -p build/bin
	$(CC) -O2 -std=gnu11 -Wall -Wextra -Werror -o $@ $< -lcrypto

# LD_PRELOAD shim of t_powercut.sh: the power cut before a command's Nth write
build/bin/powercut.so: tests/vm/tools/powercut.c
	@mkdir -p build/bin
	$(CC) -O2 -Wall -Wextra -Werror -fPIC -shared -o $@ $< -ldl

# edits headers through the codec: links the envcryptctl library
build/bin/envcrypt-header-edit: tests/vm/tools/envcrypt-header-edit.c tools
	$(CC) -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -Itools/lib -Iinclude \
		-o $@ $< build/tools/libenvcrypt.a -lcrypto

# unwrap latency through one KMS connection, for 'make bench'
build/bin/envcrypt-unwrap-bench: tests/peers/tools/unwrap-bench.c tools
	$(CC) -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -Itools/lib -Iinclude \
		-o $@ $< build/tools/libenvcrypt.a -lssl -lcrypto -ldevmapper \
		-lkeyutils -lkmod

# All guest tests; then the cipher tests again on a CPU without AVX, where
# the built-in SM4-XTS is the portable one and AES-XTS the crypto API's.
check-vm: tools $(TEST_TOOLS)
	tests/vm/run.sh check
	ENVCRYPT_CPU=Westmere ENVCRYPT_TESTS='t_oracle*,t_sm4*' tests/vm/run.sh check

# tests/vm/guest/stress.sh in a guest for STRESS_TIME seconds of load
STRESS_TIME ?= 600
.PHONY: stress
stress: deps
	$(MAKE) module tools
	STRESS_TIME=$(STRESS_TIME) tests/vm/run.sh stress

demo: deps
	$(MAKE) module tools build/bin/elapsed-us
	tests/vm/run.sh demo

# The kernel path in the icount guest, then the ciphers natively against
# OpenSSL.  Numbers never fail the run.
bench: deps
	$(MAKE) module tools build/bin/elapsed-us
	tests/vm/run.sh bench
	$(MAKE) -C tests/unit bench bench-sm4
	$(MAKE) build/bin/envcrypt-header-edit build/bin/envcrypt-unwrap-bench
	tests/peers/bench-unwrap.sh
	tests/peers/bench-convert.sh

lint: checkpatch sparse

checkpatch:
	@mkdir -p build
	@scripts/checkpatch.sh $(filter-out %.mod.c,$(wildcard kernel/*.c kernel/*.h include/*.h)) >build/checkpatch.out 2>&1 || \
		{ cat build/checkpatch.out; echo "make: checkpatch found problems" >&2; exit 1; }
	@grep -h '^total:' build/checkpatch.out

# sparse must print nothing but its CHECK lines
sparse:
	@$(MAKE) -s --no-print-directory -C $(KDIR) M=$(CURDIR) C=2 modules 2>&1 | \
		grep -v -e '^  CHECK ' -e 'Skipping BTF' | \
		{ ! grep . ; } || { echo "make: sparse found problems" >&2; exit 1; }

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	$(MAKE) -C tests/unit clean
	$(MAKE) -C tests/tools clean
	$(MAKE) -C tests/fuzz clean
	rm -rf build
