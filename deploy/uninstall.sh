#!/usr/bin/env bash
# Remove the selfie kiosk installed by deploy/install.sh.
#
# Captures in /var/lib/kiosk (and the kiosk user that owns them) and /etc/kiosk stay unless
# asked: selfies that were not uploaded yet are personal data someone is still waiting for.
set -euo pipefail

PREFIX=/opt/kiosk
CONF_DIR=/etc/kiosk
STATE_DIR=/var/lib/kiosk
UNIT_DIR=/etc/systemd/system
SERVICE_USER=kiosk
UNITS=(kiosk.service kiosk-sync.service kiosk-reconcile.timer kiosk-reconcile.service)
SYNC_STATE_DIR=/var/lib/kiosk-sync
SYNC_USER=kiosk-sync

usage() {
    cat <<EOF
Usage: sudo $0 [--purge-captures] [--purge-config] [--yes]

  --purge-captures  also delete $STATE_DIR (every capture, uploaded or not) and the kiosk user
  --purge-config    also delete $CONF_DIR (config, public key, S3 credentials)
  --yes             do not ask before purging
EOF
}

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

PURGE_CAPTURES=0
PURGE_CONFIG=0
YES=0
while [ $# -gt 0 ]; do
    case "$1" in
        --purge-captures) PURGE_CAPTURES=1 ;;
        --purge-config) PURGE_CONFIG=1 ;;
        --yes) YES=1 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
    shift
done

[ "$(id -u)" -eq 0 ] || die "run as root: sudo $0"

confirm() {
    [ "$YES" -eq 1 ] && return 0
    local answer
    read -r -p "$1 Type 'yes' to continue: " answer
    [ "$answer" = yes ]
}

stop_units() {
    local unit
    for unit in "${UNITS[@]}"; do
        if [ -f "$UNIT_DIR/$unit" ]; then
            log "stopping and disabling $unit"
            systemctl disable --now "$unit" || true
            rm -f "$UNIT_DIR/$unit"
        fi
    done
    systemctl daemon-reload
    systemctl reset-failed "${UNITS[@]}" 2>/dev/null || true
}

remove_program() {
    log "removing $PREFIX and /usr/local/bin/kiosk"
    rm -rf "$PREFIX"
    if [ -L /usr/local/bin/kiosk ]; then
        rm -f /usr/local/bin/kiosk
    fi
}

purge_captures() {
    if [ "$PURGE_CAPTURES" -eq 0 ]; then
        [ -d "$STATE_DIR" ] && log "keeping captures in $STATE_DIR (--purge-captures deletes them)"
        return 0
    fi
    confirm "This deletes every capture in $STATE_DIR, including ones never uploaded." \
        || die "not purging captures"
    log "deleting $STATE_DIR and the $SERVICE_USER user"
    rm -rf "$STATE_DIR" "$SYNC_STATE_DIR"
    if id "$SYNC_USER" >/dev/null 2>&1; then
        userdel "$SYNC_USER" || true
    fi
    if id "$SERVICE_USER" >/dev/null 2>&1; then
        userdel "$SERVICE_USER" || true
    fi
    if getent group "$SERVICE_USER" >/dev/null; then
        groupdel "$SERVICE_USER" || true
    fi
}

purge_config() {
    if [ "$PURGE_CONFIG" -eq 0 ]; then
        [ -d "$CONF_DIR" ] && log "keeping $CONF_DIR (--purge-config deletes it)"
        return 0
    fi
    confirm "This deletes $CONF_DIR including the S3 credentials." || die "not purging config"
    rm -rf "$CONF_DIR"
}

stop_units
remove_program
purge_captures
purge_config
log "done (apt packages were left installed)"
