#!/usr/bin/env bash
# Builds pgvector from Debian's own source package against the locally installed PostgreSQL
# server and installs it. Idempotent: does nothing when the extension is already available.
# Usage: scripts/install-pgvector.sh [major]   (default: the newest /usr/lib/postgresql/<major>)
set -euo pipefail

major="${1:-$(ls /usr/lib/postgresql | sort -n | tail -1)}"
pg_config="/usr/lib/postgresql/${major}/bin/pg_config"
sharedir="$("$pg_config" --sharedir 2>/dev/null || true)"

if [ -n "$sharedir" ] && [ -f "$sharedir/extension/vector.control" ]; then
  echo "pgvector already installed for PostgreSQL ${major}"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"

# A private source list for the trixie suite, used only for `apt-get source`; nothing is
# installed from it.
apt_dir="$(mktemp -d)"
trap 'rm -rf "$apt_dir"' EXIT
mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial"
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${DEBIAN_MIRROR:-http://deb.debian.org/debian} trixie main" > "$apt_dir/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=-" -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache::Archives=$apt_dir/archives")

$sudo_cmd apt-get update -qq
$sudo_cmd apt-get install -y -qq "postgresql-server-dev-${major}" build-essential dpkg-dev >/dev/null
apt-get "${apt_opts[@]}" -o APT::Sandbox::User=root update -qq
build_dir="$(mktemp -d)"
(cd "$build_dir" && apt-get "${apt_opts[@]}" -o APT::Sandbox::User=root source --download-only pgvector >/dev/null && dpkg-source -x --no-check ./*.dsc src >/dev/null)
make -C "$build_dir/src" PG_CONFIG="$pg_config" -j"$(nproc)" >/dev/null
$sudo_cmd make -C "$build_dir/src" PG_CONFIG="$pg_config" install >/dev/null
rm -rf "$build_dir"
echo "pgvector installed for PostgreSQL ${major}"
