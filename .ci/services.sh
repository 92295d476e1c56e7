# shellcheck shell=bash
# The test services: PostgreSQL, MariaDB and Redis on 127.0.0.1. Source this file (CI's .ci/run does,
# and so can a developer: `source .ci/services.sh`); it
#   - starts each service that does not answer, installing Debian's package first if it is missing,
#   - waits up to 60 s for each to answer, and checks the test URL's credentials work,
#   - exports APIKEY_TEST_POSTGRES_URL, APIKEY_TEST_MYSQL_URL and APIKEY_TEST_REDIS_URL.
# It returns non-zero (and says which) when a service stays down. Needs root to start or install.

APIKEY_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres
APIKEY_TEST_MYSQL_URL=mysql://root@127.0.0.1:3306/test
APIKEY_TEST_REDIS_URL=redis://127.0.0.1:6379
export APIKEY_TEST_POSTGRES_URL APIKEY_TEST_MYSQL_URL APIKEY_TEST_REDIS_URL

_apikey_apt_updated=

# _apikey_install PACKAGE: Debian's package, after one `apt-get update` per shell.
_apikey_install() {
  echo "services: installing $1" >&2
  if [ -z "$_apikey_apt_updated" ]; then
    apt-get update -q || return 1
    _apikey_apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$1"
}

# _apikey_wait NAME COMMAND...: polls COMMAND for up to 60 s.
_apikey_wait() {
  local name=$1 i
  shift
  for i in $(seq 60); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 1
  done
  echo "services: $name is still not answering after 60 s" >&2
  return 1
}

_apikey_pg_up() { pg_isready -q -h 127.0.0.1 -p 5432; }
_apikey_mariadb_up() { mariadb-admin -h 127.0.0.1 -P 3306 -uroot ping; }
_apikey_redis_up() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; }

_apikey_postgres() {
  _apikey_pg_up >/dev/null 2>&1 && return 0
  local fresh=
  if ! command -v pg_ctlcluster >/dev/null || ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    _apikey_install postgresql || return 1
    fresh=1
  fi
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  if [ -n "$fresh" ]; then
    # Debian's default asks for a password over TCP; the test URL has none (as on the dev machines).
    local hba=/etc/postgresql/$version/main/pg_hba.conf
    sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
    pg_ctlcluster --skip-systemctl-redirect "$version" main stop >/dev/null 2>&1 || true
  fi
  echo "services: starting PostgreSQL $version" >&2
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  _apikey_wait PostgreSQL _apikey_pg_up
}

_apikey_mariadb() {
  _apikey_mariadb_up >/dev/null 2>&1 && return 0
  local fresh=
  if [ ! -x /usr/sbin/mariadbd ] || ! command -v mariadb-admin >/dev/null; then
    _apikey_install mariadb-server || return 1
    fresh=1
  fi
  echo "services: starting MariaDB" >&2
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
  _apikey_wait MariaDB _apikey_mariadb_up || return 1
  if [ -n "$fresh" ]; then
    # Debian's root logs in through the Unix socket only; the test URL is root, no password, over TCP.
    mariadb -uroot -e "ALTER USER root@localhost IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('');
      CREATE USER IF NOT EXISTS root@'127.0.0.1' IDENTIFIED BY ''; GRANT ALL ON *.* TO root@'127.0.0.1' WITH GRANT OPTION;"
  fi
}

_apikey_redis() {
  _apikey_redis_up && return 0
  if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    _apikey_install redis-server || return 1
  fi
  echo "services: starting Redis" >&2
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  _apikey_wait Redis _apikey_redis_up
}

# The servers answer; now the URLs' credentials and databases must work too.
_apikey_urls_work() {
  local ok=0
  psql "$APIKEY_TEST_POSTGRES_URL" -Atqc 'select 1' >/dev/null ||
    { echo "services: cannot log in as $APIKEY_TEST_POSTGRES_URL" >&2; ok=1; }
  mariadb -h 127.0.0.1 -P 3306 -uroot -e 'CREATE DATABASE IF NOT EXISTS test' ||
    { echo "services: cannot log in to MariaDB as root@127.0.0.1" >&2; ok=1; }
  return $ok
}

apikey_services() {
  local failed=
  _apikey_postgres || failed="$failed PostgreSQL"
  _apikey_mariadb || failed="$failed MariaDB"
  _apikey_redis || failed="$failed Redis"
  if [ -n "$failed" ]; then
    echo "services: down:$failed" >&2
    return 1
  fi
  _apikey_urls_work || return 1
  echo "services: PostgreSQL, MariaDB and Redis are up on 127.0.0.1" >&2
}

apikey_services
