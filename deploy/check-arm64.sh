#!/usr/bin/env bash
# Check deploy/install.sh on arm64 Debian Bookworm without a Raspberry Pi (not part of CI).
#
#   sudo ./deploy/check-arm64.sh [--root DIR] [--fresh]
#
# Builds an arm64 Bookworm root with debootstrap, runs it through qemu-user-static (both
# Debian packages, installed here if missing), runs install.sh inside it, then
# `kiosk selftest` with the file camera (the bundled demo clip), the mock pin factory and
# SDL's dummy display. Raspberry Pi OS's own packages (python3-picamera2, python3-lgpio) are
# not in Debian's archive: install.sh --skip-rpi-packages leaves them out and says so, so the
# Pi camera and real GPIO are not checked here. Takes 15-40 minutes on a 2-core x86_64 host.
set -euo pipefail

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROOT=/var/tmp/kiosk-arm64
FRESH=0
SUITE=bookworm

usage() {
    cat <<EOF2
Usage: sudo $0 [--root DIR] [--fresh]

  --root DIR   where the arm64 Bookworm root lives (default $ROOT; reused if present)
  --fresh      build that root again from scratch
EOF2
}

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
        --root) ROOT="$2"; shift ;;
        --fresh) FRESH=1 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
    shift
done

[ "$(id -u)" -eq 0 ] || die "run as root: sudo $0"
command -v apt-get >/dev/null || die "needs a Debian-based host (apt-get)"

host_tools() {
    if ! command -v debootstrap >/dev/null || ! [ -x /usr/bin/qemu-aarch64-static ]; then
        log "installing debootstrap and qemu-user-static"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            debootstrap qemu-user-static binfmt-support
    fi
    if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
        mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
    fi
    if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
        update-binfmts --enable qemu-aarch64 || die "cannot register qemu-aarch64 with binfmt_misc"
    fi
}

make_root() {
    if [ "$FRESH" -eq 1 ] && [ -d "$ROOT" ]; then
        log "removing the old root $ROOT"
        rm -rf --one-file-system "$ROOT"
    fi
    if [ -f "$ROOT/etc/debian_version" ]; then
        log "reusing the arm64 $SUITE root in $ROOT (--fresh to rebuild)"
        return
    fi
    log "debootstrap: arm64 $SUITE into $ROOT"
    debootstrap --arch=arm64 --variant=minbase --include=ca-certificates "$SUITE" "$ROOT"
}

MOUNTED=()
CPUINFO=""
mount_root() {
    local d
    for d in proc sys dev dev/pts; do
        mkdir -p "$ROOT/$d"
        mount --bind "/$d" "$ROOT/$d"
        MOUNTED=("$ROOT/$d" "${MOUNTED[@]}")
    done
    cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"
    # qemu-user 7.2 shows arm64 programs the host's x86 /proc/cpuinfo; the cpuinfo library in
    # LiteRT/XNNPACK then finds no ARM core and crashes creating an interpreter. Show it a
    # Pi 4's Cortex-A72 instead (and emulate that CPU: QEMU_CPU in in_root).
    local n
    CPUINFO="$(mktemp)"
    for ((n = 0; n < $(nproc); n++)); do
        printf 'processor\t: %d\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\n' "$n"
        printf 'CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\n'
        printf 'CPU part\t: 0xd08\nCPU revision\t: 3\n\n'
    done >"$CPUINFO"
    mount --bind "$CPUINFO" "$ROOT/proc/cpuinfo"
    MOUNTED=("$ROOT/proc/cpuinfo" "${MOUNTED[@]}")
}

# A host behind a TLS-inspecting proxy trusts a local CA; the root must trust it too, or pip
# cannot reach the package index from inside.
trust_host_cas() {
    local certs=(/usr/local/share/ca-certificates/*.crt)
    [ -e "${certs[0]}" ] || return 0
    log "trusting the host's local CA certificates inside the root"
    install -d "$ROOT/usr/local/share/ca-certificates"
    install -m 0644 "${certs[@]}" "$ROOT/usr/local/share/ca-certificates/"
    in_root update-ca-certificates >/dev/null
}

unmount_root() {
    local m
    for m in "${MOUNTED[@]}"; do
        umount "$m" 2>/dev/null || umount -l "$m" || true
    done
    rm -f "${CPUINFO:-}"
}

copy_source() {
    log "copying the checkout into $ROOT/src/kiosk"
    rm -rf "$ROOT/src/kiosk"
    mkdir -p "$ROOT/src/kiosk"
    # the committed tree plus uncommitted edits, without venvs or caches
    tar -C "$SRC" --exclude=.venv --exclude=.venv-train --exclude=.git --exclude=__pycache__ \
        --exclude=.mypy_cache --exclude=.ruff_cache --exclude=.pytest_cache --exclude=kiosk-state \
        -cf - . | tar -C "$ROOT/src/kiosk" -xf -
}

in_root() {
    local pass=() v
    for v in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
        [ -n "${!v:-}" ] && pass+=("$v=${!v}")
    done
    chroot "$ROOT" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        HOME=/root LANG=C.UTF-8 QEMU_CPU=cortex-a72 "${pass[@]}" "$@"
}

main() {
    host_tools
    make_root
    trap unmount_root EXIT
    mount_root
    trust_host_cas
    copy_source
    log "inside the root: $(in_root uname -m), Debian $(in_root cat /etc/debian_version)"
    log "install.sh (no Raspberry Pi archive here: --skip-rpi-packages; no systemd running: --no-start)"
    in_root bash /src/kiosk/deploy/install.sh --skip-rpi-packages --no-start
    log "kiosk selftest with the file camera, mock pins and the dummy display"
    cat >"$ROOT/tmp/check-arm64.toml" <<TOML
hardware = "pi"
kiosk_id = "check-arm64"
[camera]
source = "/src/kiosk/kiosk/assets/demo.mp4"
[leds]
pin_factory = "mock"
[models]
dir = "/opt/kiosk/models"
TOML
    local rc=0
    in_root env SDL_VIDEODRIVER=dummy SDL_AUDIODRIVER=dummy \
        /usr/local/bin/kiosk --config /tmp/check-arm64.toml selftest --quick || rc=$?
    if [ "$rc" -eq 0 ]; then
        log "arm64 check passed (not checked: Pi camera, lgpio, KMS display, systemd units running)"
    else
        log "arm64 check FAILED: kiosk selftest exited $rc"
    fi
    return "$rc"
}

main
