#!/usr/bin/env bash
# Runs the whole test suite against real PostgreSQL, real Redis and Debian's Chromium,
# installing or starting each of them first when it is missing or down.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# Chromium for the browser tests (Playwright drives this binary; it downloads no browser).
command -v chromium >/dev/null || apt_install chromium

# PostgreSQL
export DATABASE_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/textwheel}
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  command -v pg_ctlcluster >/dev/null || apt_install postgresql
  for version in $(ls /etc/postgresql); do
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  done
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi

# Redis (a database of its own, flushed by the tests)
export REDIS_URL=${TEST_REDIS_URL:-redis://127.0.0.1:6379/13}
if ! "$BIN/python" -c "import redis,os; redis.Redis.from_url(os.environ['REDIS_URL']).ping()" 2>/dev/null; then
  command -v redis-server >/dev/null || apt_install redis-server
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 30); do "$BIN/python" -c "import redis,os; redis.Redis.from_url(os.environ['REDIS_URL']).ping()" 2>/dev/null && break; sleep 1; done
fi

export DATA_ROOT=${TEST_DATA_ROOT:-$(mktemp -d /tmp/textwheel-test.XXXXXX)}
# Base models only from the suite's own folders: an installed base-model package is not looked at.
export BASE_MODEL_PACKAGES=${TEST_BASE_MODEL_PACKAGES-}
set +e
"$BIN/python" -m pytest "$@"
status=$?
set -e
# pytest exits 5 when it collected nothing: that is a failure here, not a pass.
exit $status
