#!/usr/bin/env bash
# Starts Janus (with the swarmdrop plugin from the build tree and the websockets transport) and
# nginx (the web app plus a same-origin proxy to the Janus WebSocket), in the foreground.
# Ctrl-C or SIGTERM stops both. Needs a finished build (scripts/setup.sh).
#
# Environment (defaults in brackets):
#   SWARMDROP_HTTP_BIND [127.0.0.1]  address nginx listens on (0.0.0.0 serves the LAN)
#   SWARMDROP_TLS       [0]          1 serves HTTPS with a self-signed certificate made on first
#                                    use: browsers only allow WebCrypto and storage on https or
#                                    on localhost, so any other address needs it
#   SWARMDROP_HTTP_PORT [8080]       port of the web app
#   SWARMDROP_WS_PORT   [8188]       port of Janus's WebSocket API, on 127.0.0.1 only
#   SWARMDROP_STATE_DIR [build/run]  rendered configs, logs, pid files
#   SWARMDROP_PLUGIN_JCFG [conf/janus.plugin.swarmdrop.jcfg]  the plugin's limits
#   SWARMDROP_DEBUG_LEVEL [4]        Janus log level (0-7)
#   SWARMDROP_MEDIA_FOLDER [none]    a folder whose files the operator may publish
#                                    (scripts/swarmdrop-publish). The operator's admin key (for
#                                    it and scripts/swarmdrop-stats) is made on first use and kept
#                                    in STATE_DIR/admin_key, unless the plugin's .jcfg sets one
#   SWARMDROP_ADMIN_WS_PORT [none]   Janus's Admin API (WebSocket, subprotocol janus-admin-protocol)
#                                    on 127.0.0.1 at this port, its admin_secret the key in
#                                    STATE_DIR/admin_key: handle_info shows each handle's members
#                                    and relay counters
#   SWARMDROP_ORIGINS   [this host]      space-separated origins whose pages may open the Janus
#                                    WebSocket (e.g. "https://share.example.org"); unset: the
#                                    origin the request itself names (scheme and Host). A page of
#                                    any other origin gets 403 (conf/nginx.conf.in)
#   SWARMDROP_WS_PER_ADDRESS [32]    Janus WebSockets one client address may hold at once
#   SWARMDROP_WS_PER_SECOND [1]      Janus WebSockets one client address may open a second ...
#   SWARMDROP_WS_BURST [40]          ... after a burst of this many; beyond: 429
#   SWARMDROP_PAGES_PER_SECOND [10]  page loads per second one client address may make ...
#   SWARMDROP_PAGE_BURST [40]        ... after a burst of this many; beyond: 429
#   SWARMDROP_EVENTS_URL [none]      an http(s) URL that gets the plugin's events (shares made
#                                    and closed, members joining and leaving, relay use, quota
#                                    hits: docs/protocol.md part 7) as JSON POSTs from Janus's
#                                    sample event handler (conf/janus.eventhandler.sampleevh.jcfg.in)
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

http_bind=${SWARMDROP_HTTP_BIND:-127.0.0.1}
http_port=${SWARMDROP_HTTP_PORT:-8080}
ws_port=${SWARMDROP_WS_PORT:-8188}
state=${SWARMDROP_STATE_DIR:-$top/build/run}
plugin_jcfg=${SWARMDROP_PLUGIN_JCFG:-$top/conf/janus.plugin.swarmdrop.jcfg}
debug_level=${SWARMDROP_DEBUG_LEVEL:-4}
media_folder=${SWARMDROP_MEDIA_FOLDER:-}
admin_ws_port=${SWARMDROP_ADMIN_WS_PORT:-}
tls=${SWARMDROP_TLS:-0}
origins=${SWARMDROP_ORIGINS:-}
ws_per_address=${SWARMDROP_WS_PER_ADDRESS:-32}
ws_per_second=${SWARMDROP_WS_PER_SECOND:-1}
ws_burst=${SWARMDROP_WS_BURST:-40}
pages_per_second=${SWARMDROP_PAGES_PER_SECOND:-10}
page_burst=${SWARMDROP_PAGE_BURST:-40}
events_url=${SWARMDROP_EVENTS_URL:-}

die() { echo "serve: $*" >&2; exit 1; }
[[ -f $top/plugins/.libs/libjanus_swarmdrop.so ]] || die "the plugin is not built: run scripts/setup.sh"
[[ -f $top/web/dist/index.html ]] || die "the web app is not built: run scripts/setup.sh"
[[ -f $plugin_jcfg ]] || die "no plugin configuration at $plugin_jcfg"
for limit in ws_per_address ws_per_second ws_burst pages_per_second page_burst; do
	[[ ${!limit} =~ ^[1-9][0-9]{0,5}$ ]] || die "SWARMDROP_${limit^^} must be a whole number from 1 to 999999, not '${!limit}'"
done
# The Origin allow-list as nginx map entries; without a list, an origin naming this host passes.
origin_entries="" origin_default='$origin_same_host'
for origin in $origins; do
	[[ $origin =~ ^https?://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$ ]] ||
		die "SWARMDROP_ORIGINS: '$origin' is not an origin such as https://share.example.org or http://192.168.1.5:8080"
	origin_entries+="\"$origin\" 1; "
	origin_default=0
done
# Goes into a libconfig string and a sed replacement: no quote, backslash, | or blank.
events_url_re='^https?://[^[:space:]"\|]+$'
[[ -z $events_url || $events_url =~ $events_url_re ]] ||
	die "SWARMDROP_EVENTS_URL must be an http:// or https:// URL without blanks, quotes, backslashes or |"
events_broadcast=false
[[ -z $events_url ]] || events_broadcast=true
janus_lib=$(dirname "$(dirname "$(ls /usr/lib/*/janus/transports/libjanus_websockets.so /usr/lib/janus/transports/libjanus_websockets.so 2>/dev/null | head -n 1)")")
[[ -d $janus_lib/transports ]] || die "Janus's websockets transport is not installed"

mkdir -p "$state/janus" "$state/plugins" "$state/nginx-tmp"
state=$(cd "$state" && pwd)
# Janus loads every .so of its plugins folder: give it a folder holding only ours.
ln -sf "$top/plugins/.libs/libjanus_swarmdrop.so" "$state/plugins/libjanus_swarmdrop.so"
# Private from the start: the admin key goes into it.
install -m 600 "$plugin_jcfg" "$state/janus/janus.plugin.swarmdrop.jcfg"
# The operator's key (scripts/swarmdrop-stats, swarmdrop-publish), unless the file sets its own,
# and the publishing settings go first in the general category; the rest is the operator's.
if [[ ! -s $state/admin_key ]]; then
	(umask 077 && openssl rand -hex 24 >"$state/admin_key") || die "could not make an admin key with openssl"
fi
operator=
grep -Eq '^[[:space:]]*admin_key[[:space:]]*=' "$state/janus/janus.plugin.swarmdrop.jcfg" ||
	operator="\\n\\tadmin_key = \"$(cat "$state/admin_key")\""
if [[ -n $media_folder ]]; then
	[[ -d $media_folder ]] || die "no media folder $media_folder"
	media_folder=$(cd "$media_folder" && pwd)
	[[ $media_folder != *[\"\|\&\\]* ]] || die "the media folder's path must not hold \", |, & or a backslash"
	operator="\\n\\tmedia_folder = \"$media_folder\"$operator\\n\\tcache_folder = \"$state/cache\""
fi
sed -i "0,/^general: {/s||general: {$operator|" "$state/janus/janus.plugin.swarmdrop.jcfg"
chmod 600 "$state/janus/janus.plugin.swarmdrop.jcfg"

scheme=http listen_ssl=""
: >"$state/tls.conf"
if [[ $tls == 1 ]]; then
	scheme=https listen_ssl=ssl
	if [[ ! -f $state/tls/cert.pem ]]; then
		mkdir -p "$state/tls"
		san="DNS:localhost,IP:127.0.0.1"
		for ip in $(hostname -I 2>/dev/null); do [[ $ip == *:* ]] || san+=",IP:$ip"; done
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 -subj /CN=swarmdrop \
			-addext "subjectAltName=$san" -keyout "$state/tls/key.pem" -out "$state/tls/cert.pem" 2>/dev/null ||
			die "could not make a TLS certificate with openssl"
	fi
	printf 'ssl_certificate %s;\nssl_certificate_key %s;\n' "$state/tls/cert.pem" "$state/tls/key.pem" >"$state/tls.conf"
fi

# Janus and nginx may use every descriptor the hard limit allows (the soft one is often 1024):
# each WebSocket costs nginx two and Janus one, each media handle Janus several more.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 65536 2>/dev/null || true
nofile=$(ulimit -n)
[[ $nofile =~ ^[0-9]+$ ]] && ((nofile <= 16384)) || nofile=16384
worker_connections=$((nofile / 2))

render() {
	sed -e "s|@STATE_DIR@|$state|g" -e "s|@PLUGINS_DIR@|$state/plugins|g" -e "s|@JANUS_LIB_DIR@|$janus_lib|g" \
		-e "s|@DEBUG_LEVEL@|$debug_level|g" -e "s|@WS_PORT@|$ws_port|g" -e "s|@HTTP_BIND@|$http_bind|g" \
		-e "s|@HTTP_PORT@|$http_port|g" -e "s|@WEB_ROOT@|$top/web/dist|g" -e "s|@USER@|$(id -un)|g" \
		-e "s|@LISTEN_SSL@|$listen_ssl|g" -e "s|@WORKER_NOFILE@|$nofile|g" -e "s|@WORKER_CONNECTIONS@|$worker_connections|g" \
		-e "s|@WS_PER_ADDRESS@|$ws_per_address|g" -e "s|@WS_PER_SECOND@|$ws_per_second|g" \
		-e "s|@WS_BURST@|$ws_burst|g" -e "s|@PAGES_PER_SECOND@|$pages_per_second|g" \
		-e "s|@PAGE_BURST@|$page_burst|g" -e "s|@ORIGIN_ENTRIES@|$origin_entries|g" \
		-e "s|@ORIGIN_DEFAULT@|$origin_default|g" -e "s|@EVENTS_BROADCAST@|$events_broadcast|g" \
		-e "s|@EVENTS_URL@|${events_url//&/\\&}|g" "$1" >"$2"
}
render "$top/conf/janus.jcfg.in" "$state/janus/janus.jcfg"
rm -f "$state/janus/janus.eventhandler.sampleevh.jcfg"
if [[ -n $events_url ]]; then
	# The URL may hold a password: the file is the user's only.
	(umask 077 && render "$top/conf/janus.eventhandler.sampleevh.jcfg.in" "$state/janus/janus.eventhandler.sampleevh.jcfg")
fi
render "$top/conf/janus.transport.websockets.jcfg.in" "$state/janus/janus.transport.websockets.jcfg"
render "$top/conf/nginx.conf.in" "$state/nginx.conf"
if [[ -n $admin_ws_port ]]; then
	[[ $admin_ws_port =~ ^[0-9]+$ ]] || die "SWARMDROP_ADMIN_WS_PORT must be a port number"
	sed -i "0,/^general: {/s||general: {\n\tadmin_secret = \"$(cat "$state/admin_key")\"|" "$state/janus/janus.jcfg"
	sed -i "s|^\([[:space:]]*\)admin_ws = false.*|\1admin_ws = true\n\1admin_ws_port = $admin_ws_port\n\1admin_ws_ip = \"127.0.0.1\"|" \
		"$state/janus/janus.transport.websockets.jcfg"
	chmod 600 "$state/janus/janus.jcfg"
fi

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
for port in "$ws_port" "$http_port"; do
	! port_open 127.0.0.1 "$port" || die "port $port is already in use (set SWARMDROP_HTTP_PORT / SWARMDROP_WS_PORT)"
done

pids=()
stop() {
	trap - INT TERM EXIT
	((${#pids[@]})) && kill "${pids[@]}" 2>/dev/null
	wait 2>/dev/null
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

janus -C "$state/janus/janus.jcfg" -F "$state/janus" -P "$state/plugins" -o -L "$state/janus.log" -N >"$state/janus.stdout" 2>&1 &
pids+=($!)
echo "$!" >"$state/janus.pid"
nginx -p "$state" -e "$state/nginx-error.log" -c "$state/nginx.conf" &
pids+=($!)

wait_port() {
	local host=$1 port=$2 name=$3 log=$4
	for _ in $(seq 1 150); do
		port_open "$host" "$port" && return 0
		for pid in "${pids[@]}"; do
			kill -0 "$pid" 2>/dev/null || { tail -n 20 "$log" >&2; die "$name exited while starting (log: $log)"; }
		done
		sleep 0.2
	done
	die "$name did not open port $port within 30 s (log: $log)"
}
wait_port 127.0.0.1 "$ws_port" Janus "$state/janus.log"
wait_port "$([[ $http_bind == 0.0.0.0 ]] && echo 127.0.0.1 || echo "$http_bind")" "$http_port" nginx "$state/nginx-error.log"

host=$http_bind
[[ $host == 127.0.0.1 ]] && host=localhost
[[ $host == 0.0.0.0 ]] && host=$(hostname -I 2>/dev/null | awk '{print $1}')
echo "swarmdrop is running: open $scheme://${host:-localhost}:$http_port/  (logs in $state; Ctrl-C stops)"
[[ -z $media_folder ]] || echo "publishing from $media_folder: scripts/swarmdrop-publish --web $scheme://${host:-localhost}:$http_port FILE"

# Either process ending ends both.
wait -n "${pids[@]}"
die "a server process stopped unexpectedly; see $state/janus.log and $state/nginx-error.log"
