#!/usr/bin/env bash
# Install the PostgreSQL and Redis servers the integration tests start on loopback.
# The tests start and stop their own instances; this script only makes the binaries exist.
set -euo pipefail

have_postgres() {
  command -v initdb >/dev/null 2>&1 || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null
}
have_redis() {
  command -v redis-server >/dev/null 2>&1
}

if have_postgres && have_redis; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "error: PostgreSQL and Redis servers are missing; install the Debian packages" \
       "postgresql and redis-server (sudo apt-get install -y postgresql redis-server)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends postgresql redis-server >/dev/null
# Debian's packages start system-wide servers; the tests run their own, so stop these.
service postgresql stop >/dev/null 2>&1 || true
service redis-server stop >/dev/null 2>&1 || true
echo "installed postgresql and redis-server"
