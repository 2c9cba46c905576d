#!/usr/bin/env bash
# Starts Janus (with the swarmdrop plugin from the build tree and the websockets transport) and
# nginx (the web app plus a same-origin proxy to the Janus WebSocket), in the foreground.
# Ctrl-C or SIGTERM stops both. Needs a finished build (scripts/setup.sh). With SWARMDROP_NODES=N,
# N Janus nodes behind nginx that share their shares through NATS, and nats-server.
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
#   SWARMDROP_NODES     [1]          Janus nodes (1-26). With more than one, node i (ids a, b, c ...)
#                                    lives in STATE_DIR/node-<id>/: its configs, janus.log, janus.pid
#                                    and start.sh, which starts it again (after a crash, or a kill
#                                    -9 in a test). nginx sends each new WebSocket to the node with
#                                    the fewest and skips a node that is down; a node that stops
#                                    stops neither the others nor this script (nginx does). Not with
#                                    SWARMDROP_ADMIN_WS_PORT
#   SWARMDROP_WS_PORTS  [none]       the nodes' WebSocket ports, one per node ("8188 8189"); unset:
#                                    SWARMDROP_WS_PORT, SWARMDROP_WS_PORT + 1, ...
#   SWARMDROP_NATS_URL  [none]       the NATS server of the nodes (nats://host:4222, with user:pass@
#                                    if it needs them); unset: this script starts nats-server on
#   SWARMDROP_NATS_PORT [4222]       this port of 127.0.0.1 (log STATE_DIR/nats.log, pid nats.pid;
#                                    nats-start.sh starts it again, and the nodes reconnect)
#   SWARMDROP_NODE_COOKIE [0]        1 (tests): a WebSocket with the cookie swarmdrop_node=<id> goes
#                                    to that node, or to the others while it is down
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
nodes=${SWARMDROP_NODES:-1}
ws_ports=${SWARMDROP_WS_PORTS:-}
nats_url=${SWARMDROP_NATS_URL:-}
nats_port=${SWARMDROP_NATS_PORT:-4222}
node_cookie=${SWARMDROP_NODE_COOKIE:-0}

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
[[ $nodes =~ ^([1-9]|1[0-9]|2[0-6])$ ]] || die "SWARMDROP_NODES must be a number of nodes from 1 to 26, not '$nodes'"
node_ids=() node_ports=() start_nats=false
if ((nodes > 1)); then
	[[ -z $admin_ws_port ]] || die "SWARMDROP_ADMIN_WS_PORT is for one node only"
	ids=(a b c d e f g h i j k l m n o p q r s t u v w x y z)
	node_ids=("${ids[@]:0:nodes}")
	read -ra node_ports <<<"$ws_ports"
	if ((${#node_ports[@]} == 0)); then
		for ((i = 0; i < nodes; i++)); do node_ports+=($((ws_port + i))); done
	fi
	((${#node_ports[@]} == nodes)) || die "SWARMDROP_WS_PORTS must name $nodes ports, one per node, not '$ws_ports'"
	for port in "${node_ports[@]}"; do
		[[ $port =~ ^[1-9][0-9]{0,4}$ ]] || die "SWARMDROP_WS_PORTS: '$port' is not a port number"
	done
	if [[ -z $nats_url ]]; then
		[[ $nats_port =~ ^[1-9][0-9]{0,4}$ ]] || die "SWARMDROP_NATS_PORT must be a port number, not '$nats_port'"
		command -v nats-server >/dev/null || die "nats-server is not installed: run scripts/setup.sh"
		start_nats=true nats_url=nats://127.0.0.1:$nats_port
	fi
	# Goes into a libconfig string and a sed replacement, as the events URL does.
	nats_url_re='^(nats|tls)://[^[:space:]"\|]+$'
	[[ -z $nats_url || $nats_url =~ $nats_url_re ]] ||
		die "SWARMDROP_NATS_URL must be a nats:// or tls:// URL without blanks, quotes, backslashes or |"
fi
janus_lib=$(dirname "$(dirname "$(ls /usr/lib/*/janus/transports/libjanus_websockets.so /usr/lib/janus/transports/libjanus_websockets.so 2>/dev/null | head -n 1)")")
[[ -d $janus_lib/transports ]] || die "Janus's websockets transport is not installed"

mkdir -p "$state/plugins" "$state/nginx-tmp"
state=$(cd "$state" && pwd)
plugins_dir=$state/plugins
# Janus loads every .so of its plugins folder: give it a folder holding only ours.
ln -sf "$top/plugins/.libs/libjanus_swarmdrop.so" "$plugins_dir/libjanus_swarmdrop.so"
# The operator's key (scripts/swarmdrop-stats, swarmdrop-publish), unless the file sets its own.
if [[ ! -s $state/admin_key ]]; then
	(umask 077 && openssl rand -hex 24 >"$state/admin_key") || die "could not make an admin key with openssl"
fi
operator=
grep -Eq '^[[:space:]]*admin_key[[:space:]]*=' "$plugin_jcfg" ||
	operator="\\n\\tadmin_key = \"$(cat "$state/admin_key")\""
if [[ -n $media_folder ]]; then
	[[ -d $media_folder ]] || die "no media folder $media_folder"
	media_folder=$(cd "$media_folder" && pwd)
	[[ $media_folder != *[\"\|\&\\]* ]] || die "the media folder's path must not hold \", |, & or a backslash"
fi

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

# nginx's way to Janus: one node's port, or an upstream of the nodes. With several, a node that
# refuses a connection or does not answer within 2 s is skipped for 5 s and the next one tried;
# with the test cookie, upstreams that put one node first and the others behind it.
janus_upstream=127.0.0.1:$ws_port janus_upstreams="" janus_failover=""
if ((nodes > 1)); then
	upstream_server() { printf '\\n\\t\\tserver 127.0.0.1:%s max_fails=1 fail_timeout=5s%s;' "$1" "${2:-}"; }
	servers=""
	for port in "${node_ports[@]}"; do servers+=$(upstream_server "$port"); done
	janus_upstreams="# The Janus nodes (SWARMDROP_NODES): a new WebSocket goes to the one with the fewest.\\n\\tupstream janus_nodes {\\n\\t\\tleast_conn;$servers\\n\\t}"
	janus_upstream=janus_nodes
	janus_failover="proxy_next_upstream error timeout;\\n\\t\\t\\tproxy_connect_timeout 2s;"
	if [[ $node_cookie == 1 ]]; then
		pinned="\\n\\t# Tests only (SWARMDROP_NODE_COOKIE): the cookie swarmdrop_node=<id> picks that node first.\\n\\tmap \$cookie_swarmdrop_node \$janus_upstream {\\n\\t\\tdefault janus_nodes;"
		for ((i = 0; i < nodes; i++)); do
			servers=$(upstream_server "${node_ports[i]}")
			for ((j = 0; j < nodes; j++)); do ((j == i)) || servers+=$(upstream_server "${node_ports[j]}" " backup"); done
			janus_upstreams+="\\n\\tupstream janus_pin_${node_ids[i]} {$servers\\n\\t}"
			pinned+="\\n\\t\\t${node_ids[i]} janus_pin_${node_ids[i]};"
		done
		janus_upstreams+="$pinned\\n\\t}"
		janus_upstream=\$janus_upstream
	fi
fi

render() {
	sed -e "s|@STATE_DIR@|$state|g" -e "s|@PLUGINS_DIR@|$plugins_dir|g" -e "s|@JANUS_LIB_DIR@|$janus_lib|g" \
		-e "s|@DEBUG_LEVEL@|$debug_level|g" -e "s|@WS_PORT@|$ws_port|g" -e "s|@HTTP_BIND@|$http_bind|g" \
		-e "s|@HTTP_PORT@|$http_port|g" -e "s|@WEB_ROOT@|$top/web/dist|g" -e "s|@USER@|$(id -un)|g" \
		-e "s|@LISTEN_SSL@|$listen_ssl|g" -e "s|@WORKER_NOFILE@|$nofile|g" -e "s|@WORKER_CONNECTIONS@|$worker_connections|g" \
		-e "s|@WS_PER_ADDRESS@|$ws_per_address|g" -e "s|@WS_PER_SECOND@|$ws_per_second|g" \
		-e "s|@WS_BURST@|$ws_burst|g" -e "s|@PAGES_PER_SECOND@|$pages_per_second|g" \
		-e "s|@PAGE_BURST@|$page_burst|g" -e "s|@ORIGIN_ENTRIES@|$origin_entries|g" \
		-e "s|@ORIGIN_DEFAULT@|$origin_default|g" -e "s|@EVENTS_BROADCAST@|$events_broadcast|g" \
		-e "s|@EVENTS_URL@|${events_url//&/\\&}|g" -e "s|@JANUS_UPSTREAM@|$janus_upstream|g" \
		-e "/@JANUS_UPSTREAMS@/{s||$janus_upstreams|;/^[[:space:]]*$/d}" \
		-e "/@JANUS_FAILOVER@/{s||$janus_failover|;/^[[:space:]]*$/d}" "$1" >"$2"
}

# The configuration of one Janus in $1/janus, its WebSocket on port $2 (render's @STATE_DIR@ and
# @WS_PORT@ are this Janus's); $3: its node id when there are several. The plugin's .jcfg is
# private from the start (the admin key goes into it); the operator's key and publishing
# settings, then the cluster's, go first in its general category; the rest is the operator's.
janus_config() {
	local state=$1 ws_port=$2 node=${3:-} settings=$operator
	mkdir -p "$state/janus"
	install -m 600 "$plugin_jcfg" "$state/janus/janus.plugin.swarmdrop.jcfg"
	[[ -z $media_folder ]] || settings="\\n\\tmedia_folder = \"$media_folder\"$settings\\n\\tcache_folder = \"$state/cache\""
	[[ -z $node ]] || settings+="\\n\\tcluster_url = \"${nats_url//&/\\&}\"\\n\\tcluster_node = \"$node\""
	sed -i "0,/^general: {/s||general: {$settings|" "$state/janus/janus.plugin.swarmdrop.jcfg"
	chmod 600 "$state/janus/janus.plugin.swarmdrop.jcfg"
	render "$top/conf/janus.jcfg.in" "$state/janus/janus.jcfg"
	if [[ -n $node ]]; then
		sed -i "s|^\([[:space:]]*server_name = \)\"swarmdrop\"|\1\"swarmdrop-$node\"|" "$state/janus/janus.jcfg"
		grep -q "server_name = \"swarmdrop-$node\"" "$state/janus/janus.jcfg" || die "conf/janus.jcfg.in has no server_name to name node $node by"
	fi
	rm -f "$state/janus/janus.eventhandler.sampleevh.jcfg"
	if [[ -n $events_url ]]; then
		# The URL may hold a password: the file is the user's only.
		(umask 077 && render "$top/conf/janus.eventhandler.sampleevh.jcfg.in" "$state/janus/janus.eventhandler.sampleevh.jcfg")
	fi
	render "$top/conf/janus.transport.websockets.jcfg.in" "$state/janus/janus.transport.websockets.jcfg"
}
# Sets janus_args: the command of the Janus configured in $1/janus, logging into $1.
janus_command() {
	janus_args=(janus -C "$1/janus/janus.jcfg" -F "$1/janus" -P "$plugins_dir" -o -L "$1/janus.log" -N)
}
# Writes the script $1 that starts the command $4... in the background, its output into $2 and its
# pid into $3, and runs it: a node or the engine killed (a crash, a test) is started again with it.
start_script() {
	local script=$1 output=$2 pid_file=$3
	shift 3
	{
		echo '#!/usr/bin/env bash'
		echo "# Written by scripts/serve.sh: starts $1 again (its pid into $pid_file)."
		printf 'ulimit -n %s 2>/dev/null || true\n' "$(ulimit -n)"
		printf '%q ' "$@"
		printf '>%q 2>&1 </dev/null &\necho "$!" >%q\n' "$output" "$pid_file"
	} >"$script"
	chmod 755 "$script"
	"$script"
}

if ((nodes == 1)); then
	janus_config "$state" "$ws_port"
	janus_ports=("$ws_port")
else
	for ((i = 0; i < nodes; i++)); do
		janus_config "$state/node-${node_ids[i]}" "${node_ports[i]}" "${node_ids[i]}"
	done
	janus_ports=("${node_ports[@]}")
fi
render "$top/conf/nginx.conf.in" "$state/nginx.conf"
if [[ -n $admin_ws_port ]]; then
	[[ $admin_ws_port =~ ^[0-9]+$ ]] || die "SWARMDROP_ADMIN_WS_PORT must be a port number"
	sed -i "0,/^general: {/s||general: {\n\tadmin_secret = \"$(cat "$state/admin_key")\"|" "$state/janus/janus.jcfg"
	sed -i "s|^\([[:space:]]*\)admin_ws = false.*|\1admin_ws = true\n\1admin_ws_port = $admin_ws_port\n\1admin_ws_ip = \"127.0.0.1\"|" \
		"$state/janus/janus.transport.websockets.jcfg"
	chmod 600 "$state/janus/janus.jcfg"
fi

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
for port in "${janus_ports[@]}" "$http_port"; do
	! port_open 127.0.0.1 "$port" || die "port $port is already in use (set SWARMDROP_HTTP_PORT / SWARMDROP_WS_PORT)"
done
if [[ $start_nats == true ]]; then
	! port_open 127.0.0.1 "$nats_port" || die "port $nats_port is already in use (set SWARMDROP_NATS_PORT or SWARMDROP_NATS_URL)"
fi

# The nodes and nats-server run on their own (start_script): their pid files, and the name each
# pid must have to be theirs still when it is stopped.
declare -A daemons=()
daemon_pid() {
	local pid
	pid=$(cat "$1" 2>/dev/null) || return 0
	[[ $pid =~ ^[0-9]+$ && $(cat "/proc/$pid/comm" 2>/dev/null) == "${daemons[$1]}" ]] && echo "$pid"
	return 0
}
pids=()
stop() {
	trap - INT TERM EXIT
	((${#pids[@]})) && { kill "${pids[@]}" 2>/dev/null || true; }
	# Then the nodes and nats-server, for at most 10 s.
	local pid_file pid running=() alive _
	for pid_file in "${!daemons[@]}"; do running+=($(daemon_pid "$pid_file")); done
	if ((${#running[@]})); then
		kill "${running[@]}" 2>/dev/null || true
		for _ in $(seq 1 50); do
			alive=0
			for pid in "${running[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
			((alive)) || break
			sleep 0.2
		done
		kill -KILL "${running[@]}" 2>/dev/null || true
	fi
	wait 2>/dev/null
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ((nodes == 1)); then
	janus_command "$state"
	"${janus_args[@]}" >"$state/janus.stdout" 2>&1 &
	pids+=($!)
	echo "$!" >"$state/janus.pid"
else
	if [[ $start_nats == true ]]; then
		daemons[$state/nats.pid]=nats-server
		start_script "$state/nats-start.sh" "$state/nats.log" "$state/nats.pid" nats-server -a 127.0.0.1 -p "$nats_port"
	fi
	for ((i = 0; i < nodes; i++)); do
		node_dir=$state/node-${node_ids[i]}
		daemons[$node_dir/janus.pid]=janus
		janus_command "$node_dir"
		start_script "$node_dir/start.sh" "$node_dir/janus.stdout" "$node_dir/janus.pid" "${janus_args[@]}"
	done
fi
nginx -p "$state" -e "$state/nginx-error.log" -c "$state/nginx.conf" &
pids+=($!)

# Waits until $1:$2 accepts connections; fails when one of the pids $5... ends before.
wait_port() {
	local host=$1 port=$2 name=$3 log=$4
	shift 4
	for _ in $(seq 1 150); do
		port_open "$host" "$port" && return 0
		for pid in "$@"; do
			kill -0 "$pid" 2>/dev/null || { tail -n 20 "$log" >&2; die "$name exited while starting (log: $log)"; }
		done
		sleep 0.2
	done
	die "$name did not open port $port within 30 s (log: $log)"
}
if ((nodes == 1)); then
	wait_port 127.0.0.1 "$ws_port" Janus "$state/janus.log" "${pids[@]}"
else
	[[ $start_nats == false ]] ||
		wait_port 127.0.0.1 "$nats_port" nats-server "$state/nats.log" "$(cat "$state/nats.pid")" "${pids[@]}"
	for ((i = 0; i < nodes; i++)); do
		node_dir=$state/node-${node_ids[i]}
		wait_port 127.0.0.1 "${node_ports[i]}" "Janus node ${node_ids[i]}" "$node_dir/janus.log" "$(cat "$node_dir/janus.pid")" "${pids[@]}"
	done
fi
wait_port "$([[ $http_bind == 0.0.0.0 ]] && echo 127.0.0.1 || echo "$http_bind")" "$http_port" nginx "$state/nginx-error.log" "${pids[@]}"

host=$http_bind
[[ $host == 127.0.0.1 ]] && host=localhost
[[ $host == 0.0.0.0 ]] && host=$(hostname -I 2>/dev/null | awk '{print $1}')
if ((nodes > 1)); then
	for ((i = 0; i < nodes; i++)); do echo "node ${node_ids[i]}: Janus on port ${node_ports[i]}, log $state/node-${node_ids[i]}/janus.log"; done
	echo "the nodes share through NATS at ${nats_url#*@}"
fi
echo "swarmdrop is running: open $scheme://${host:-localhost}:$http_port/  (logs in $state; Ctrl-C stops)"
[[ -z $media_folder ]] || echo "publishing from $media_folder: scripts/swarmdrop-publish --web $scheme://${host:-localhost}:$http_port FILE"

if ((nodes == 1)); then
	# Either process ending ends both.
	wait -n "${pids[@]}"
	die "a server process stopped unexpectedly; see $state/janus.log and $state/nginx-error.log"
fi
# Only nginx's end ends them all: a node or nats-server may stop and start again (start.sh,
# nats-start.sh), as after a crash.
wait -n "${pids[@]}"
die "nginx stopped unexpectedly; see $state/nginx-error.log"
