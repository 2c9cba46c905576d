#!/usr/bin/env bash
# The sites lab: network namespaces on one machine, all on 198.18.0.0/15 (the benchmarking range),
# for measuring what crosses between networks (tests/lab/proximity.test.mjs, bench/swarm.mjs).
# Needs root. Unlike nat-lab.sh, every browser host is a namespace of its own: two browsers in one
# namespace would talk over lo and never touch the links being measured.
#
#   <lab>-wan   the "internet": bridge sdbr 198.18.0.1/24 (Janus, nginx, coturn, a tracker run here)
#   <lab>-rX    router of site X (X = a, b, c, d: site number k = 1..4): 198.18.0.1k on the bridge
#               (interface wan0, the site's public address), a LAN bridge "lan" 198.19.k.1/24 inside,
#               NAT (plain MASQUERADE) between them. The link wan0 <-> bridge can be capped (tbf,
#               both directions): the site's uplink.
#   <lab>-xN    host N of site X: 198.19.k.(10+N) on the site's LAN, default route via the router.
#               Unshaped: a site is fast inside.
#   <lab>-pN    host N on the internet side: 198.18.0.(100+N), no NAT; its link to the bridge can
#               be capped (tbf, both directions) so that a browser's own link, not the CPU, limits it.
#
# Usage:
#   sites.sh up LAB [--site-mbit R] [--host-mbit R] SPEC...   SPEC: a=N b=N c=N d=N pub=N
#   sites.sh down LAB
#   sites.sh exec LAB NODE CMD...                              NODE: wan, ra, a1, p3, ...
# Counters: the bytes into site X are `sites.sh exec LAB rX cat /sys/class/net/wan0/statistics/rx_bytes`;
# the bytes a pub host uploaded, `... pN cat /sys/class/net/eth0/statistics/tx_bytes`.
# Nothing routes beyond the lab: the namespaces have no link to the machine's own network.
set -euo pipefail

die() { echo "sites: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || die "needs root (network namespaces)"
[[ $# -ge 2 ]] || die "usage: sites.sh up LAB [--site-mbit R] [--host-mbit R] SPEC... | down LAB | exec LAB NODE CMD..."
action=$1 lab=$2
shift 2
[[ $lab =~ ^[a-z0-9]{1,8}$ ]] || die "LAB must be 1-8 lowercase letters or digits"
# shellcheck source=lab-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab-common.sh"

# Caps what leaves NODE through IF at MBIT Mbit/s. tbf: netem and fq are not in this kernel; the
# bucket holds a few full packets, the queue 50 ms (congestion control sees drops, not a huge delay).
shape() {
	local node=$1 dev=$2 mbit=$3
	in_ns "$node" tc qdisc add dev "$dev" root tbf rate "${mbit}mbit" burst 64kb latency 50ms
}

add_node() {
	ip netns add "$(ns "$1")"
	in_ns "$1" ip link set lo up
}

up() {
	local site_mbit="" host_mbit="" specs=()
	while [[ $# -gt 0 ]]; do
		case $1 in
			--site-mbit) site_mbit=$2; shift 2 ;;
			--host-mbit) host_mbit=$2; shift 2 ;;
			*) specs+=("$1"); shift ;;
		esac
	done
	for mbit in $site_mbit $host_mbit; do [[ $mbit =~ ^[0-9]+$ && $mbit -gt 0 ]] || die "a rate is a positive number of Mbit/s"; done
	((${#specs[@]})) || die "no hosts: give SPECs such as a=3 b=3 or pub=5"

	add_node wan
	in_ns wan ip link add sdbr type bridge
	in_ns wan ip addr add 198.18.0.1/24 dev sdbr
	in_ns wan ip link set sdbr up
	# Chromium gathers no ICE candidates without a default route; on the wan side it leads nowhere.
	in_ns wan ip route add default dev sdbr

	for spec in "${specs[@]}"; do
		[[ $spec =~ ^(a|b|c|d|pub)=([0-9]+)$ ]] || die "bad SPEC $spec (a=N b=N c=N d=N pub=N)"
		local site=${BASH_REMATCH[1]} count=${BASH_REMATCH[2]}
		((count >= 1 && count <= 60)) || die "1 to 60 hosts per SPEC"
		if [[ $site == pub ]]; then
			for ((n = 1; n <= count; n++)); do
				add_node "p$n"
				link "p$n" eth0 wan "p$n"
				in_ns wan ip link set "p$n" master sdbr
				in_ns "p$n" ip addr add "198.18.0.$((100 + n))/24" dev eth0
				in_ns "p$n" ip route add default via 198.18.0.1
				if [[ -n $host_mbit ]]; then
					shape "p$n" eth0 "$host_mbit"
					shape wan "p$n" "$host_mbit"
				fi
			done
			continue
		fi
		local k=$(($(printf '%d' "'$site") - 96)) router="r$site"
		add_node "$router"
		link "$router" wan0 wan "${router}0"
		in_ns wan ip link set "${router}0" master sdbr
		in_ns "$router" ip addr add "198.18.0.1$k/24" dev wan0
		in_ns "$router" ip route add default via 198.18.0.1
		in_ns "$router" ip link add lan type bridge
		in_ns "$router" ip addr add "198.19.$k.1/24" dev lan
		in_ns "$router" ip link set lan up
		in_ns "$router" sysctl -qw net.ipv4.ip_forward=1
		in_ns "$router" iptables -t nat -A POSTROUTING -o wan0 -j MASQUERADE
		if [[ -n $site_mbit ]]; then
			shape "$router" wan0 "$site_mbit"    # the site's upload
			shape wan "${router}0" "$site_mbit"  # the site's download
		fi
		for ((n = 1; n <= count; n++)); do
			add_node "$site$n"
			link "$site$n" eth0 "$router" "$site$n"
			in_ns "$router" ip link set "$site$n" master lan
			in_ns "$site$n" ip addr add "198.19.$k.$((10 + n))/24" dev eth0
			in_ns "$site$n" ip route add default via "198.19.$k.1"
		done
	done
}

down() {
	local node
	for node in $(ip netns list | awk '{print $1}' | grep "^$lab-" || true); do
		ip netns del "$node" 2>/dev/null || true
	done
}

case $action in
	# A failing step ends the script (set -e): the half-built lab goes with it.
	up) down; trap 'down; echo "sites: setting up lab $lab failed" >&2' EXIT; up "$@"; trap - EXIT ;;
	down) down ;;
	exec) [[ $# -ge 2 ]] || die "usage: sites.sh exec LAB NODE CMD..."; node=$1; shift; in_ns "$node" "$@" ;;
	*) die "unknown action $action" ;;
esac
