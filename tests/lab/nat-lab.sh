#!/usr/bin/env bash
# The NAT lab: network namespaces on one machine, all on 198.18.0.0/15 (the benchmarking range),
# for tests of what crosses networks. Needs root. Topology (field notes, "The NAT lab"):
#
#   <lab>-wan   the "internet": bridge sdbr 198.18.0.1/24 (Janus, nginx, coturn run here)
#   <lab>-pub   a host on the internet side, 198.18.0.21
#   <lab>-rA    router of network A: 198.18.0.11 on the bridge, 198.19.1.1/24 inside,
#               symmetric NAT (MASQUERADE --random-fully)
#   <lab>-hA    a host behind rA: 198.19.1.2, default route via rA
#   <lab>-rB / <lab>-hB   the same for network B: 198.18.0.12, 198.19.2.0/24
#
# Usage: nat-lab.sh up LAB | down LAB | exec LAB NODE CMD...   (NODE: wan pub hA hB rA rB)
# Nothing routes beyond the lab: the namespaces have no link to the machine's own network.
set -euo pipefail

die() { echo "nat-lab: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || die "needs root (network namespaces)"
[[ $# -ge 2 ]] || die "usage: nat-lab.sh up LAB | down LAB | exec LAB NODE CMD..."
action=$1 lab=$2
[[ $lab =~ ^[a-z0-9]{1,8}$ ]] || die "LAB must be 1-8 lowercase letters or digits"
# shellcheck source=lab-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab-common.sh"

up() {
	for node in wan pub rA hA rB hB; do
		ip netns add "$(ns "$node")"
		in_ns "$node" ip link set lo up
	done
	in_ns wan ip link add sdbr type bridge
	in_ns wan ip addr add 198.18.0.1/24 dev sdbr
	in_ns wan ip link set sdbr up
	# Chromium gathers no ICE candidates without a default route; on the wan side it leads nowhere.
	in_ns wan ip route add default dev sdbr

	link pub eth0 wan pub0
	in_ns wan ip link set pub0 master sdbr
	in_ns pub ip addr add 198.18.0.21/24 dev eth0
	in_ns pub ip route add default via 198.18.0.1

	local n=1
	for net in A B; do
		link "r$net" wan0 wan "r$net"0
		in_ns wan ip link set "r$net"0 master sdbr
		in_ns "r$net" ip addr add "198.18.0.1$n/24" dev wan0
		in_ns "r$net" ip route add default via 198.18.0.1
		link "r$net" lan0 "h$net" eth0
		in_ns "r$net" ip addr add "198.19.$n.1/24" dev lan0
		in_ns "h$net" ip addr add "198.19.$n.2/24" dev eth0
		in_ns "h$net" ip route add default via "198.19.$n.1"
		in_ns "r$net" sysctl -qw net.ipv4.ip_forward=1
		# A new random source port per destination: a symmetric NAT, where hole punching fails.
		in_ns "r$net" iptables -t nat -A POSTROUTING -o wan0 -j MASQUERADE --random-fully
		n=$((n + 1))
	done
}

down() {
	for node in hB rB hA rA pub wan; do
		ip netns del "$(ns "$node")" 2>/dev/null || true
	done
}

case $action in
	up) down; up || { down; die "setting up lab $lab failed"; } ;;
	down) down ;;
	exec) [[ $# -ge 4 ]] || die "usage: nat-lab.sh exec LAB NODE CMD..."; node=$3; shift 3; in_ns "$node" "$@" ;;
	*) die "unknown action $action" ;;
esac
