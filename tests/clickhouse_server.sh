#!/usr/bin/env bash
# clickhouse_server.sh: a throwaway ClickHouse server on loopback for the fleet tests, without
# systemd. "start DIR" writes a minimal config into DIR (data, logs, users), starts
# clickhouse-server in the background on free ports and waits until its HTTP interface answers;
# it prints "URL PID" on stdout. With openssl, an https port too, with a self-signed
# certificate: its URL in DIR/https_url, the certificate in DIR/tls/cert.pem.
# CH_HTTP_PORT / CH_HTTPS_PORT reuse ports (a restart on the same data). "stop DIR" stops that server (SIGTERM, then SIGKILL).
# Exit 77 from start: no clickhouse-server, or it would not start (the reason on stderr).
# Memory and threads are kept small: the test machine is shared.
set -uo pipefail

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start() {
	local dir=$1 user=${2:-tlscensus} password=${3:-fleet-test-secret}
	local server
	server=$(command -v clickhouse-server || echo /usr/bin/clickhouse-server)
	if [ ! -x "$server" ]; then
		echo "clickhouse_server.sh: clickhouse-server is not installed (apt-get install clickhouse-server)" >&2
		return 77
	fi
	mkdir -p "$dir/data" "$dir/tmp" "$dir/log" "$dir/user_files" "$dir/format_schemas"
	local http tcp https tls=""
	http=${CH_HTTP_PORT:-$(free_port)}
	https=${CH_HTTPS_PORT:-$(free_port)}
	tcp=$(free_port)
	# https with a certificate of its own (a CA of one, for --cacert), when openssl is there
	if command -v openssl >/dev/null && { [ -f "$dir/tls/cert.pem" ] ||
		{ mkdir -p "$dir/tls" && openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
			-keyout "$dir/tls/key.pem" -out "$dir/tls/cert.pem" -subj "/CN=tlscensus-fleet-test" \
			-addext "subjectAltName=IP:127.0.0.1,DNS:localhost" >/dev/null 2>&1; }; }; then
		tls="<https_port>$https</https_port>
  <openSSL><server>
    <certificateFile>$dir/tls/cert.pem</certificateFile>
    <privateKeyFile>$dir/tls/key.pem</privateKeyFile>
    <verificationMode>none</verificationMode>
    <loadDefaultCAFile>false</loadDefaultCAFile>
    <disableProtocols>sslv2,sslv3,tlsv1,tlsv1_1</disableProtocols>
  </server></openSSL>"
	fi
	cat >"$dir/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <logger>
    <level>warning</level>
    <log>$dir/log/server.log</log>
    <errorlog>$dir/log/error.log</errorlog>
    <size>10M</size>
    <count>1</count>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>$http</http_port>
  $tls
  <tcp_port>$tcp</tcp_port>
  <path>$dir/data/</path>
  <tmp_path>$dir/tmp/</tmp_path>
  <user_files_path>$dir/user_files/</user_files_path>
  <format_schema_path>$dir/format_schemas/</format_schema_path>
  <users_config>$dir/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <max_concurrent_queries>16</max_concurrent_queries>
  <mark_cache_size>16777216</mark_cache_size>
  <uncompressed_cache_size>0</uncompressed_cache_size>
  <mlock_executable>false</mlock_executable>
  <timezone>UTC</timezone>
</yandex>
XML
	cat >"$dir/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <profiles>
    <default>
      <max_threads>1</max_threads>
      <max_memory_usage>500000000</max_memory_usage>
      <background_pool_size>2</background_pool_size>
      <background_schedule_pool_size>2</background_schedule_pool_size>
      <!-- FINAL reads every part of the table at once, each column through its own buffer:
           the corpus's captures span 20 years (a part per month), so small buffers -->
      <max_read_buffer_size>65536</max_read_buffer_size>
    </default>
  </profiles>
  <users>
    <default>
      <password>$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')</password>
      <networks><ip>127.0.0.1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
    <$user>
      <password>$password</password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </$user>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time>
  </interval></default></quotas>
</yandex>
XML
	"$server" --config-file="$dir/config.xml" >"$dir/log/stdout.log" 2>&1 &
	local pid=$!
	echo "$pid" >"$dir/pid"
	echo "http://127.0.0.1:$http" >"$dir/url"
	rm -f "$dir/https_url"
	[ -n "$tls" ] && echo "https://127.0.0.1:$https" >"$dir/https_url"
	for _ in $(seq 1 120); do
		if curl -fsS "http://127.0.0.1:$http/ping" >/dev/null 2>&1; then
			echo "http://127.0.0.1:$http $pid"
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "clickhouse_server.sh: clickhouse-server exited at start; see $dir/log:" >&2
			tail -n 5 "$dir/log/error.log" "$dir/log/stdout.log" >&2 2>/dev/null
			return 77
		fi
		sleep 0.25
	done
	echo "clickhouse_server.sh: clickhouse-server did not answer on port $http within 30 s" >&2
	kill "$pid" 2>/dev/null
	return 77
}

stop() {
	local dir=$1 pid
	pid=$(cat "$dir/pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null || return 0
	for _ in $(seq 1 80); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.25
	done
	kill -9 "$pid" 2>/dev/null
	return 0
}

case "${1:-}" in
start) shift; start "$@" ;;
stop) shift; stop "$@" ;;
*) echo "usage: $0 start DIR [USER PASSWORD] | stop DIR" >&2; exit 2 ;;
esac
