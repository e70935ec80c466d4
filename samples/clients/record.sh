#!/usr/bin/env bash
# clients/record.sh: records the ClientHello of each TLS client stack Debian 12 ships, in its
# default settings and in the legacy settings it still allows, as samples/clients/NAME.pcap
# (one connection each) and describes each file in samples/clients/manifest.tsv.
# It borrows the two namespaces and capture() of samples/record.sh, so no packet can leave
# the machine: each client fetches one small file by name from openssl s_server -WWW.
#
# Usage: sudo samples/clients/record.sh [NAME...]   (no NAME: every capture)
#        samples/clients/record.sh --list
set -euo pipefail

CLIENTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../record.sh
. "$CLIENTS/../record.sh"
CAPTURE_OUT=$CLIENTS
# What s_client and gnutls-cli send once connected; the HTTP clients make their own request.
CAPTURE_SAY='GET /hello.txt HTTP/1.0\r\n\r\n'
MANIFEST=$CLIENTS/manifest.tsv
MANIFEST_HEADER=$'file\tsni\tsoftware\tsetting\tpackages'
# ip netns exec bind-mounts the files in /etc/netns/NAMESPACE over /etc: a hosts file there
# lets every client resolve its capture's name to the server the way it resolves any name.
HOSTS_DIR=/etc/netns/$NS_CLI

# One server for every client: it takes TLS 1.0 to 1.3 and any suite OpenSSL still has, so
# each client's handshake completes in its own terms. The ClientHello is what matters.
# OLD (security level 0) is samples/record.sh's.
SERVER="openssl s_server -WWW -naccept 1 -accept 443 -cert rsa.crt -key rsa.key"
SERVER+=" -min_protocol TLSv1 -cipher $OLD"

# NAME is STACK-SETTING; the capture's SNI is NAME.example.test.
CAPTURES=(
	openssl-default openssl-tls10 openssl-tls11
	gnutls-default gnutls-tls10
	curl-default curl-tls10
	python-default python-tls10
	java-default java-tls10
	go-default go-tls10 go-http
	wget-default
)

declare -A READY=()
SKIPPED=()

say() {
	echo "clients/record.sh: $*" >&2
}

# Upstream version of an installed Debian package: epoch and Debian revision left out.
upstream() {
	dpkg-query -W -f '${Version}' "$1" 2>/dev/null | sed -E 's/^[0-9]+://; s/[-+~].*$//'
}

# "pkg=version, ..." for the packages behind a stack, as installed now.
packages() {
	local p out=
	for p in "$@"; do
		out+="${out:+, }$p=$(dpkg-query -W -f '${Version}' "$p" 2>/dev/null || echo '?')"
	done
	echo "$out"
}

# stack_ready STACK: succeeds when STACK's client can run, installing its Debian package
# and building its little client program first if needed. Says why when it cannot.
stack_ready() {
	local stack=$1 cmd pkg
	if [ -n "${READY[$stack]:-}" ]; then
		[ "${READY[$stack]}" = yes ]
		return
	fi
	case $stack in
	openssl) cmd=openssl pkg=openssl ;;
	gnutls) cmd=gnutls-cli pkg=gnutls-bin ;;
	curl) cmd=curl pkg=curl ;;
	python) cmd=/usr/bin/python3 pkg=python3 ;;
	java) cmd=javac pkg=default-jdk-headless ;;
	go) cmd=go pkg=golang-go ;;
	wget) cmd=wget pkg=wget ;;
	esac
	READY[$stack]=no
	if ! command -v "$cmd" >/dev/null 2>&1; then
		say "installing $pkg for the $stack captures"
		if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends "$pkg"; } >"$WORK/apt-$stack.log" 2>&1 ||
			! command -v "$cmd" >/dev/null 2>&1; then
			say "skipping $stack: apt-get install $pkg failed (see $WORK/apt-$stack.log with KEEP_WORK=1)"
			return 1
		fi
	fi
	case $stack in
	java)
		# The throwaway certificate as the JDK's trust store; the default SSLContext
		# reads it from javax.net.ssl.trustStore, so the program sets nothing itself.
		if ! keytool -importcert -noprompt -alias tlscensus -file "$WORK/rsa.crt" \
			-keystore "$WORK/trust.p12" -storetype PKCS12 -storepass tlscensus \
			>"$WORK/javac.log" 2>&1 ||
			! javac -d "$WORK/java" "$CLIENTS/HttpsGet.java" 2>>"$WORK/javac.log"; then
			say "skipping java: keytool or javac failed (see $WORK/javac.log with KEEP_WORK=1)"
			return 1
		fi
		# A security properties file that appends to the JDK's own and clears the list
		# that removes TLS 1.0, 1.1, 3DES, RC4 and friends by default.
		echo 'jdk.tls.disabledAlgorithms=' >"$WORK/java-legacy.security"
		;;
	go)
		# Standard library only: no module, no proxy, a cache of our own.
		if ! GOCACHE=$WORK/go-cache GOPATH=$WORK/go GOPROXY=off GOFLAGS='' \
			go build -o "$WORK/tls_get" "$CLIENTS/tls_get.go" 2>"$WORK/go-build.log"; then
			say "skipping go: go build failed (see $WORK/go-build.log with KEEP_WORK=1)"
			return 1
		fi
		;;
	esac
	READY[$stack]=yes
}

# client NAME SOFTWARE SETTING PACKAGES -- COMMAND...
# Records NAME.pcap with COMMAND as the client and (re)writes NAME's manifest row.
# SOFTWARE is what the row in data/fingerprints.tsv will call it; PACKAGES are the Debian
# packages whose versions make that ClientHello.
client() {
	local name=$1 software=$2 setting=$3 pkgs=$4
	shift 5
	# shellcheck disable=SC2086 # SERVER and PACKAGES are word lists, like ossl_srv's output
	capture "$name" 443 $SERVER -- "$@"
	if ! grep -q 'hello from tlscensus' "$WORK/$name.cli.log"; then
		say "$name: the client got no reply; its log:"
		sed 's/^/    /' "$WORK/$name.cli.log" >&2
		die "$name: recording failed"
	fi
	# shellcheck disable=SC2086
	MANIFEST_ROWS[$name]="$name.pcap	$name.example.test	$software	$setting	$(packages $pkgs)"
}

# --- the captures ---------------------------------------------------------------------------
# Each client trusts the throwaway certificate through its usual knob (-CAfile, --cacert,
# SSL_CERT_FILE, a trust store...): none of them changes the ClientHello.

cap_openssl-default() {
	client openssl-default "openssl s_client $(upstream openssl)" "default" "openssl libssl3" -- \
		openssl s_client -connect openssl-default.example.test:443 -CAfile rsa.crt
}

# Debian builds OpenSSL at security level 2, where TLS 1.0 and 1.1 handshakes fail on
# their SHA-1 signatures; anyone who really needs them adds @SECLEVEL=0, as here.
cap_openssl-tls10() {
	client openssl-tls10 "openssl s_client $(upstream openssl)" "-tls1 -cipher $OLD" "openssl libssl3" -- \
		openssl s_client -connect openssl-tls10.example.test:443 -CAfile rsa.crt -tls1 -cipher "$OLD"
}

cap_openssl-tls11() {
	client openssl-tls11 "openssl s_client $(upstream openssl)" "-tls1_1 -cipher $OLD" "openssl libssl3" -- \
		openssl s_client -connect openssl-tls11.example.test:443 -CAfile rsa.crt -tls1_1 -cipher "$OLD"
}

cap_gnutls-default() {
	client gnutls-default "gnutls-cli $(upstream gnutls-bin)" "default" "gnutls-bin libgnutls30" -- \
		gnutls-cli --x509cafile rsa.crt -p 443 gnutls-default.example.test
}

cap_gnutls-tls10() {
	client gnutls-tls10 "gnutls-cli $(upstream gnutls-bin)" "--priority NORMAL:-VERS-ALL:+VERS-TLS1.0" \
		"gnutls-bin libgnutls30" -- \
		gnutls-cli --x509cafile rsa.crt -p 443 gnutls-tls10.example.test \
		--priority NORMAL:-VERS-ALL:+VERS-TLS1.0
}

cap_curl-default() {
	client curl-default "curl $(upstream curl) (OpenSSL $(upstream libssl3))" "default" \
		"curl libcurl4 libssl3" -- \
		curl -sS --cacert rsa.crt https://curl-default.example.test/hello.txt
}

cap_curl-tls10() {
	client curl-tls10 "curl $(upstream curl) (OpenSSL $(upstream libssl3))" \
		"--tlsv1.0 --tls-max 1.0 --ciphers $OLD" "curl libcurl4 libssl3" -- \
		curl -sS --cacert rsa.crt --tlsv1.0 --tls-max 1.0 --ciphers "$OLD" \
		https://curl-tls10.example.test/hello.txt
}

cap_python-default() {
	client python-default "Python $(upstream python3.11) urllib (OpenSSL $(upstream libssl3))" \
		"default: urlopen(url), no context" "python3 python3.11 libssl3" -- \
		env SSL_CERT_FILE=rsa.crt /usr/bin/python3 "$CLIENTS/https_get.py" \
		https://python-default.example.test/hello.txt
}

cap_python-tls10() {
	client python-tls10 "Python $(upstream python3.11) urllib (OpenSSL $(upstream libssl3))" \
		"context with minimum_version = maximum_version = TLSv1 and ciphers $OLD" \
		"python3 python3.11 libssl3" -- \
		env SSL_CERT_FILE=rsa.crt /usr/bin/python3 "$CLIENTS/https_get.py" --tls10 \
		https://python-tls10.example.test/hello.txt
}

cap_java-default() {
	client java-default "Java $(upstream openjdk-17-jre-headless) HttpsURLConnection (JSSE)" "default" \
		"default-jdk-headless openjdk-17-jre-headless" -- \
		java -Djavax.net.ssl.trustStore=trust.p12 -Djavax.net.ssl.trustStorePassword=tlscensus \
		-cp java HttpsGet https://java-default.example.test/hello.txt
}

cap_java-tls10() {
	client java-tls10 "Java $(upstream openjdk-17-jre-headless) HttpsURLConnection (JSSE)" \
		"jdk.tls.client.protocols=TLSv1, jdk.tls.disabledAlgorithms cleared" \
		"default-jdk-headless openjdk-17-jre-headless" -- \
		java -Djdk.tls.client.protocols=TLSv1 -Djava.security.properties=java-legacy.security \
		-Djavax.net.ssl.trustStore=trust.p12 -Djavax.net.ssl.trustStorePassword=tlscensus \
		-cp java HttpsGet https://java-tls10.example.test/hello.txt
}

cap_go-default() {
	client go-default "Go $(upstream golang-1.19-go) crypto/tls" "default: tls.Dial, zero tls.Config" \
		"golang-go golang-1.19-go" -- \
		env SSL_CERT_FILE=rsa.crt ./tls_get https://go-default.example.test/hello.txt
}

cap_go-tls10() {
	client go-tls10 "Go $(upstream golang-1.19-go) crypto/tls" "MinVersion = MaxVersion = tls.VersionTLS10" \
		"golang-go golang-1.19-go" -- \
		env SSL_CERT_FILE=rsa.crt ./tls_get -tls10 https://go-tls10.example.test/hello.txt
}

cap_go-http() {
	client go-http "Go $(upstream golang-1.19-go) net/http" "default: http.Get(url)" \
		"golang-go golang-1.19-go" -- \
		env SSL_CERT_FILE=rsa.crt ./tls_get -http https://go-http.example.test/hello.txt
}

cap_wget-default() {
	client wget-default "wget $(upstream wget) (GnuTLS $(upstream libgnutls30))" "default" \
		"wget libgnutls30" -- \
		wget -q -O - --no-hsts --ca-certificate=rsa.crt https://wget-default.example.test/hello.txt
}

# --- main -----------------------------------------------------------------------------------

declare -A MANIFEST_ROWS=()

# Reads the rows already in manifest.tsv, so recording a few captures keeps the others'.
manifest_load() {
	local line
	[ -f "$MANIFEST" ] || return 0
	while IFS= read -r line; do
		[ "$line" = "$MANIFEST_HEADER" ] && continue
		MANIFEST_ROWS[${line%%.pcap*}]=$line
	done <"$MANIFEST"
}

# Writes the manifest in CAPTURES order, leaving out rows whose pcap is gone.
manifest_save() {
	local name
	{
		echo "$MANIFEST_HEADER"
		for name in "${CAPTURES[@]}"; do
			[ -n "${MANIFEST_ROWS[$name]:-}" ] && [ -f "$CLIENTS/$name.pcap" ] &&
				echo "${MANIFEST_ROWS[$name]}"
		done
	} >"$MANIFEST.tmp"
	mv "$MANIFEST.tmp" "$MANIFEST"
}

hosts_up() {
	local name
	mkdir -p "$HOSTS_DIR"
	{
		printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n'
		for name in "${CAPTURES[@]}"; do
			printf '%s\t%s.example.test\n' "$SRV4" "$name"
		done
	} >"$HOSTS_DIR/hosts"
}

hosts_down() {
	rm -f "$HOSTS_DIR/hosts"
	rmdir "$HOSTS_DIR" /etc/netns 2>/dev/null || true
}

clients_cleanup() {
	hosts_down
	cleanup
}

clients_main() {
	local name todo=()
	if [ "${1:-}" = "--list" ]; then
		printf '%s\n' "${CAPTURES[@]}"
		return 0
	fi
	[ "$(id -u)" -eq 0 ] || die "needs root for network namespaces and tcpdump: sudo $0"
	todo=("$@")
	[ ${#todo[@]} -eq 0 ] && todo=("${CAPTURES[@]}")
	for name in "${todo[@]}"; do
		declare -F "cap_$name" >/dev/null || die "no capture '$name' (see $0 --list)"
	done
	# A proxy setting from the caller's environment would only send the clients astray.
	unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
	need_tools
	WORK=$(mktemp -d /tmp/tlscensus-clients.XXXXXX)
	trap clients_cleanup EXIT
	trap 'exit 130' INT TERM
	manifest_load
	net_up
	hosts_up
	make_certs
	echo 'hello from tlscensus' >"$WORK/hello.txt"
	for name in "${todo[@]}"; do
		if stack_ready "${name%%-*}"; then
			"cap_$name"
		else
			SKIPPED+=("$name")
		fi
	done
	manifest_save
	if [ ${#SKIPPED[@]} -gt 0 ]; then
		say "not recorded: ${SKIPPED[*]}"
	fi
	say "done; samples/clients/fingerprints.py --write turns the captures into data/fingerprints.tsv"
}

clients_main "$@"
