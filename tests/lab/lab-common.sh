# Shared by the lab scripts (nat-lab.sh, sites.sh), sourced once $lab is set: namespace names,
# running in one, and a veth pair between two.
ns() { echo "$lab-$1"; }
in_ns() { local node=$1; shift; ip netns exec "$(ns "$node")" "$@"; }

# veth between two namespaces: link NODE_A IF_A NODE_B IF_B
link() {
	ip link add "$lab$2" netns "$(ns "$1")" type veth peer name "$lab$4" netns "$(ns "$3")"
	in_ns "$1" ip link set "$lab$2" name "$2"
	in_ns "$3" ip link set "$lab$4" name "$4"
	in_ns "$1" ip link set "$2" up
	in_ns "$3" ip link set "$4" up
}
