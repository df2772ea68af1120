# Vigil build, test and lint entry points. `make help` lists them.
#
# `make test` is what CI runs (.ci/run): on a fresh Debian machine as root it
# installs the few system tools the tests drive, then lints, runs every test
# with the race detector and fuzzes the configuration reader for 30 s.

GO          ?= go
BIN         := bin/vigil
DESTDIR     ?=
# Project-local tools, so nothing lands in the user's GOPATH.
TOOLS       := $(CURDIR)/.cache/bin
# staticcheck v0.8.2 is release 2026.2.2, the first to know Go 1.26.
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(TOOLS)/staticcheck-$(STATICCHECK_VERSION)/staticcheck
# Seconds per fuzz target: `make fuzz` (every target) and `make test` (FuzzLoad).
FUZZTIME      ?= 20s
TEST_FUZZTIME ?= 30s
TEST_FUZZTIME_PACKET ?= 15s
TEST_FUZZTIME_SHORT ?= 5s
# System packages the tests drive: keepalived (the agreement test compares
# verdicts with keepalived -t), ip (network namespaces), nft; and for the
# IPVS tests in a VM (test/vm): QEMU, a static busybox, cpio, kmod (depmod,
# modprobe), xz and zstd; and for the reference deployments (examples/,
# test/nginxpair, test/mysqlpair): nginx, MariaDB and curl.
APT_PACKAGES := keepalived iproute2 nftables ipvsadm qemu-system-x86 busybox-static cpio kmod xz-utils zstd \
	nginx-light mariadb-server mariadb-client curl

# A sample to demonstrate check-config on: the real-world file from ../shared
# when the repository sits beside it, else one kept in this repository.
DEMO_CONF := $(firstword $(wildcard ../shared/testdata/keepalived-conf/seed000-full-vrrp.conf) config/testdata/broken/valid-minimal.conf)
DEMO_BROKEN := config/testdata/broken/priority-300.conf

.DEFAULT_GOAL := build
.PHONY: help build test lint vet fmt-check staticcheck test-deps test-race fuzz-config \
        bench fuzz install deb demo docs clean vm

help:
	@echo "make build      build $(BIN)"
	@echo "make test       install test tools if missing (root, Debian), lint, race tests, bounded fuzzing of every decoder"
	@echo "make lint       gofmt, go vet, staticcheck $(STATICCHECK_VERSION)"
	@echo "make bench      run every benchmark (as root: Vigil vs keepalived failover, CPU and RSS)"
	@echo "make fuzz       run every fuzz target for $(FUZZTIME) each"
	@echo "make demo       build, check a sample configuration, then (root) a failover timeline in namespaces"
	@echo "make docs       regenerate docs/config-reference.md from the keyword table"
	@echo "make vm         prepare the cached kernel and initramfs for the IPVS tests in a VM (test/vm)"
	@echo "make install    install $(BIN), the systemd units and a sample configuration under \$$(DESTDIR)"
	@echo "make deb        build bin/vigil_VERSION_ARCH.deb (dpkg-deb)"
	@echo "make clean      remove build output and project-local tools"

build:
	$(GO) build -o $(BIN) ./cmd/vigil

# ---- test -------------------------------------------------------------------

test:
	@start=$$(date +%s); \
	if $(MAKE) --no-print-directory test-deps lint test-race fuzz-config; then \
		echo "make test: PASS (lint, race-enabled tests, bounded fuzzing) in $$(( $$(date +%s) - start ))s"; \
	else \
		echo "make test: FAIL after $$(( $$(date +%s) - start ))s (the first failing step is above)"; \
		exit 1; \
	fi

# Install only what is missing, so repeated runs cost nothing. Without root or
# apt-get the tests that need these tools skip and say so.
test-deps:
	@echo "==> test tools"
	@missing=""; \
	command -v keepalived >/dev/null 2>&1 || missing="$$missing keepalived"; \
	command -v ip >/dev/null 2>&1 || missing="$$missing ip"; \
	command -v nft >/dev/null 2>&1 || missing="$$missing nft"; \
	command -v ipvsadm >/dev/null 2>&1 || missing="$$missing ipvsadm"; \
	command -v qemu-system-x86_64 >/dev/null 2>&1 || missing="$$missing qemu-system-x86_64"; \
	command -v nginx >/dev/null 2>&1 || missing="$$missing nginx"; \
	command -v mariadbd >/dev/null 2>&1 || missing="$$missing mariadbd"; \
	command -v curl >/dev/null 2>&1 || missing="$$missing curl"; \
	cc=""; command -v cc >/dev/null 2>&1 || cc="gcc libc6-dev"; \
	if [ -z "$$missing$$cc" ]; then echo "keepalived, ip, nft, qemu-system-x86_64, nginx, mariadbd, curl, cc: present"; exit 0; fi; \
	if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then \
		echo "warning: missing:$$missing $${cc:+cc}; not root with apt-get, so tests needing them will skip"; exit 0; \
	fi; \
	echo "installing:$$missing $${cc:+C compiler (for -race)}"; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get update -qq && \
	apt-get install -y -qq --no-install-recommends $(APT_PACKAGES) $$cc </dev/null

lint: fmt-check vet staticcheck

fmt-check:
	@echo "==> gofmt"
	@out=$$(gofmt -l $$($(GO) list -f '{{.Dir}}' ./...)); \
	if [ -n "$$out" ]; then echo "gofmt -l lists files to format (run gofmt -w):"; echo "$$out"; exit 1; fi

vet:
	@echo "==> go vet"
	$(GO) vet ./...

staticcheck: $(STATICCHECK)
	@echo "==> staticcheck"
	$(STATICCHECK) ./...

$(STATICCHECK):
	@echo "==> installing staticcheck $(STATICCHECK_VERSION) into $(dir $@)"
	GOBIN=$(dir $@) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

# The race detector needs cgo and a C compiler; without them run plainly and
# say so rather than fail.
test-race:
	@if CGO_ENABLED=1 $(GO) build -race ./config >/dev/null 2>&1; then \
		echo "==> go test -race"; \
		CGO_ENABLED=1 $(GO) test -race -count=1 ./...; \
	else \
		echo "==> go test (WITHOUT -race: cgo or a C compiler is missing)"; \
		$(GO) test -count=1 ./...; \
	fi

# Every decoder of outside input is fuzzed for a bounded time on each run.
fuzz-config:
	@echo "==> fuzz FuzzLoad for $(TEST_FUZZTIME)"
	$(GO) test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(TEST_FUZZTIME) ./config
	@echo "==> fuzz FuzzDecode (VRRP adverts) for $(TEST_FUZZTIME_PACKET)"
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(TEST_FUZZTIME_PACKET) ./vrrpd/packet
	@echo "==> fuzz FuzzReadMessage (IPC frames) for $(TEST_FUZZTIME_SHORT)"
	$(GO) test -run '^$$' -fuzz '^FuzzReadMessage$$' -fuzztime $(TEST_FUZZTIME_SHORT) ./ipc
	@set -e; for target in FuzzParseDNSReply FuzzParseSMTPLine FuzzReadSMTPReply FuzzParseHead FuzzResponseReader; do \
		echo "==> fuzz $$target (checkd probes) for $(TEST_FUZZTIME_SHORT)"; \
		$(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(TEST_FUZZTIME_SHORT) ./checkd/probe; \
	done
	@echo "==> fuzz FuzzDecode (arbiter gossip messages) for $(TEST_FUZZTIME_SHORT)"
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(TEST_FUZZTIME_SHORT) ./arbiter/wire

# ---- other checks -----------------------------------------------------------

# Every benchmark, the root-only ones in vrrpd/bench included (Vigil and
# keepalived side by side in network namespaces; several minutes). Without
# root or keepalived those skip and say why. `make test` runs no benchmark.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -timeout 30m ./...
	VIGIL_BENCH_CHECKD=1 $(GO) test -run '^TestCheckdBench(Host|VM)$$' -v -count=1 -timeout 60m ./checkd/bench

# Every fuzz target in every package, one after another (go test -fuzz takes
# one target at a time).
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
		for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "==> $$pkg $$target for $(FUZZTIME)"; \
			$(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done

docs:
	$(GO) test ./config -run '^TestReferenceUpToDate$$' -update

# Download Debian's kernel package (apt-get download; /boot is untouched) and
# build the kernel and initramfs the VM tests boot, once, into .cache/vm/.
# The VM tests do this themselves on first use; this just does it up front.
vm:
	$(GO) run ./test/vm/cmd/vmprep

# ---- install, demo, clean ---------------------------------------------------

# The binary, the systemd units (packaging/systemd) and the sample
# configuration, which never replaces a file already there (keepalived.conf
# itself is never touched).
UNITDIR ?= /lib/systemd/system
SAMPLES := packaging/keepalived.conf:keepalived.conf.vigil-sample packaging/arbiter.conf:arbiter.conf.vigil-sample
install: build
	install -D -m 0755 $(BIN) $(DESTDIR)/usr/sbin/vigil
	install -D -m 0644 packaging/systemd/vigil.service $(DESTDIR)$(UNITDIR)/vigil.service
	install -D -m 0644 packaging/systemd/vigil-arbiter.service $(DESTDIR)$(UNITDIR)/vigil-arbiter.service
	@for s in $(SAMPLES); do \
		src=$${s%%:*}; dst=$(DESTDIR)/etc/keepalived/$${s#*:}; \
		if [ -e "$$dst" ]; then echo "$$dst exists; left as it is"; \
		else mode=0644; case "$$dst" in *arbiter*) mode=0600;; esac; \
		install -D -m $$mode "$$src" "$$dst" && echo "installed $$dst"; fi; \
	done

# `make deb` builds bin/vigil_VERSION_ARCH.deb with dpkg-deb. VERSION comes
# from the newest v* tag (v1.2.0-3-gabc -> 1.2.0+3.gabc), else
# 0.0~gitDATE.HASH; set it to override.
VERSION ?= $(shell v=$$(git describe --tags --match 'v[0-9]*' 2>/dev/null); \
	if [ -n "$$v" ]; then echo "$${v#v}" | sed 's/-/+/; s/-/./'; \
	else echo "0.0~git$$(git log -1 --format=%cd --date=format:%Y%m%d 2>/dev/null).$$(git rev-parse --short HEAD 2>/dev/null)"; fi)
DEB_ARCH ?= $(shell $(GO) env GOARCH)
DEB_ROOT := bin/deb-root
DEB      := bin/vigil_$(VERSION)_$(DEB_ARCH).deb
deb:
	rm -rf $(DEB_ROOT)
	$(MAKE) --no-print-directory install DESTDIR=$(abspath $(DEB_ROOT))
	install -d -m 0755 $(DEB_ROOT)/DEBIAN
	printf '%s\n' /etc/keepalived/keepalived.conf.vigil-sample /etc/keepalived/arbiter.conf.vigil-sample > $(DEB_ROOT)/DEBIAN/conffiles
	sed -e 's/@VERSION@/$(VERSION)/' -e 's/@ARCH@/$(DEB_ARCH)/' \
		-e "s/@SIZE@/$$(du -sk --exclude=DEBIAN $(DEB_ROOT) | cut -f1)/" packaging/deb/control > $(DEB_ROOT)/DEBIAN/control
	install -m 0755 packaging/deb/postinst packaging/deb/postrm $(DEB_ROOT)/DEBIAN/
	dpkg-deb --root-owner-group --build $(DEB_ROOT) $(DEB)
	@echo "built $(DEB)"

# First the configuration checks (no root needed), then the nginx pair demo
# (cmd/vigil-demo, ~25 s): examples/nginx-pair deployed on two nodes with
# real nginx and `vigil run`, an arbiter and a client in network namespaces;
# the master's vrrpd killed, a VRRP-link cut, nginx stopped and started on
# the master, the master's host killed; a live view, a timeline in ms and a
# verdict. That part needs root, nginx and curl (installed when missing).
demo: build
	@echo "==> $(BIN) check-config -f $(DEMO_CONF)"
	@$(BIN) check-config -f $(DEMO_CONF)
	@echo
	@echo "==> $(BIN) check-config -f $(DEMO_BROKEN)   (broken on purpose: errors name file:line:col)"
	@if $(BIN) check-config -f $(DEMO_BROKEN); then echo "demo: expected $(DEMO_BROKEN) to be refused"; exit 1; fi
	@echo
	@if [ "$$(id -u)" != 0 ]; then \
		echo "make demo: the failover demo creates network namespaces, veth links and a bridge,"; \
		echo "which needs root. Run it as root: sudo make demo"; \
		exit 1; \
	fi
	@missing=""; \
	command -v ip >/dev/null 2>&1 || missing="$$missing iproute2"; \
	command -v nft >/dev/null 2>&1 || missing="$$missing nftables"; \
	command -v nginx >/dev/null 2>&1 || missing="$$missing nginx-light"; \
	command -v curl >/dev/null 2>&1 || missing="$$missing curl"; \
	if [ -n "$$missing" ]; then \
		if ! command -v apt-get >/dev/null 2>&1; then echo "make demo: needs:$$missing"; exit 1; fi; \
		echo "==> installing:$$missing"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing </dev/null || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing </dev/null; }; \
	fi
	@echo "==> nginx pair demo: $(GO) run ./cmd/vigil-demo -vigil $(BIN) -examples examples/nginx-pair"
	@$(GO) run ./cmd/vigil-demo -vigil $(BIN) -examples examples/nginx-pair

clean:
	rm -rf bin .cache
