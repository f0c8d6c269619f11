#!/bin/sh
# Install Backtick as a systemd service. Run as root from a built source checkout:
#
#   ./mvnw package && sudo ./packaging/install.sh
#
# Staged install (no root needed; touches nothing outside DIR, skips useradd,
# chown and systemctl):
#
#   DESTDIR=/tmp/root ./packaging/install.sh      or   ./packaging/install.sh --destdir /tmp/root
#   (--root and --prefix are accepted as synonyms of --destdir: paths inside the
#   root stay /usr/bin, /usr/share/backtick, /etc/backtick, as the unit expects)
#
# BACKTICK_JAR_SRC overrides the jar to install
# (default: <repo root>/backtick-runner/target/backtick-runner.jar).
set -eu

usage() {
    echo "usage: $0 [--destdir DIR]   (or DESTDIR=DIR $0; BACKTICK_JAR_SRC=JAR overrides the jar)"
}

DESTDIR=${DESTDIR:-}
while [ $# -gt 0 ]; do
    case $1 in
        --destdir|--root|--prefix)
            [ $# -ge 2 ] || { usage >&2; exit 2; }
            DESTDIR=$2; shift 2 ;;
        --destdir=*|--root=*|--prefix=*)
            DESTDIR=${1#*=}; shift ;;
        -h|--help)
            usage; exit 0 ;;
        *)
            echo "install.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done
DESTDIR=${DESTDIR%/}

here=$(cd "$(dirname "$0")" && pwd -P)
repo_root=$(cd "$here/.." && pwd -P)
jar_src=${BACKTICK_JAR_SRC:-$repo_root/backtick-runner/target/backtick-runner.jar}

if [ ! -f "$jar_src" ]; then
    echo "install.sh: $jar_src not found (build it with ./mvnw package, or set BACKTICK_JAR_SRC)" >&2
    exit 1
fi
for f in backtick backtick.service backtick.env README.md; do
    if [ ! -f "$here/$f" ]; then
        echo "install.sh: missing $here/$f" >&2
        exit 1
    fi
done
if [ -z "$DESTDIR" ] && [ "$(id -u)" -ne 0 ]; then
    echo "install.sh: must run as root (or set DESTDIR=DIR for a staged install)" >&2
    exit 1
fi

share=$DESTDIR/usr/share/backtick
bindir=$DESTDIR/usr/bin
etc=$DESTDIR/etc/backtick
unitdir=$DESTDIR/etc/systemd/system
state=$DESTDIR/var/lib/backtick

install -d -m 0755 "$share" "$share/plugins" "$bindir" "$unitdir"
install -d -m 0750 "$etc" "$state"

install -m 0644 "$jar_src" "$share/backtick-runner.jar"
install -m 0644 "$here/README.md" "$share/README.md"
install -m 0755 "$here/backtick" "$bindir/backtick"
install -m 0644 "$here/backtick.service" "$unitdir/backtick.service"
echo "installed $share/backtick-runner.jar, $bindir/backtick, $unitdir/backtick.service"

env_new=no
if [ -e "$etc/backtick.env" ]; then
    echo "kept existing $etc/backtick.env"
else
    install -m 0640 "$here/backtick.env" "$etc/backtick.env"
    env_new=yes
    echo "installed $etc/backtick.env (example values: edit it)"
fi

if [ -n "$DESTDIR" ]; then
    echo "DESTDIR=$DESTDIR: skipped creating the backtick user, chown and systemctl"
else
    if ! getent passwd backtick >/dev/null 2>&1; then
        if getent group backtick >/dev/null 2>&1; then
            group_opt="--gid backtick"
        else
            group_opt="--user-group"
        fi
        # shellcheck disable=SC2086
        useradd --system $group_opt --home-dir /var/lib/backtick --no-create-home \
            --shell /usr/sbin/nologin --comment "Backtick job runner" backtick
        echo "created system user backtick"
    fi
    chown backtick:backtick "$state"
    chown root:backtick "$etc"
    if [ "$env_new" = yes ]; then
        chown root:backtick "$etc/backtick.env"
    fi
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
        systemctl daemon-reload
        echo "ran systemctl daemon-reload"
    else
        echo "systemd is not running here: skipped systemctl daemon-reload"
    fi
fi

cat <<'MSG'

Next steps:
  1. Edit /etc/backtick/backtick.env (BACKTICK_DATABASE_URL, BACKTICK_DATABASE_USER,
     BACKTICK_DATABASE_PASSWORD, ...); keep it mode 0640 root:backtick.
  2. Copy your job plugin jars into /usr/share/backtick/plugins/.
  3. Apply the schema migrations, with the service's user and env file:
       systemd-run --pipe --wait -p User=backtick -p EnvironmentFile=/etc/backtick/backtick.env \
         /usr/bin/backtick migrate
  4. Start the service:       systemctl daemon-reload && systemctl enable --now backtick
     Logs:                    journalctl -u backtick -f
  Upgrading? Re-run this script, then: systemctl restart backtick
MSG
