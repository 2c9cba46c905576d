#!/usr/bin/env bash
# Runs a command inside a new network namespace whose only non-loopback link is a veth pair on
# 198.18.0.0/15 (198.18.0.1 and .2), so WebRTC between local browsers and Janus stays inside it.
# Afterwards, also when the command fails or this script is stopped by a signal, whatever still
# runs in the namespace (a Janus or Chromium the command left) is killed and the namespace
# removed. Without root it runs the command as it is.
set -uo pipefail
if [[ $(id -u) -ne 0 ]]; then
	echo "(not root: no network namespace; WebRTC uses this machine's own interfaces)" >&2
	exec "$@"
fi
ns=sd-lab-$$
child=
cleanup() {
	local pids
	pids=$(ip netns pids "$ns" 2>/dev/null)
	[[ -n $pids ]] && kill -KILL $pids 2>/dev/null
	ip netns del "$ns" 2>/dev/null
}
stop() {
	[[ -n $child ]] && kill -TERM "$child" 2>/dev/null && wait "$child"
	exit "$1"
}
trap cleanup EXIT
trap 'stop 130' INT
trap 'stop 143' TERM
trap 'stop 129' HUP
ip netns add "$ns" || exit 1
lab() { ip -n "$ns" "$@" || { echo "in-netns: ip $* failed" >&2; exit 1; }; }
lab link add sdlab0 type veth peer name sdlab1
lab addr add 198.18.0.1/24 dev sdlab0
lab addr add 198.18.0.2/24 dev sdlab1
for dev in lo sdlab0 sdlab1; do lab link set "$dev" up; done
# Chromium gathers no ICE candidates without a default route; this one leads nowhere outside.
lab route add default dev sdlab0
# In the background so that a signal reaches the traps at once rather than after the command.
ip netns exec "$ns" "$@" &
child=$!
wait "$child"
status=$?
child=
exit "$status"
