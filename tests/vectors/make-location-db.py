#!/usr/bin/python3
"""make-location-db.py OUT.db: writes the fixture location database (libloc format) that the unit
tests and the network lab look addresses up in. Debian's python3-location writes it; the system
python3 is named because that package installs only for it.

Country codes are ISO 3166 user-assigned ones: libloc refuses X? codes, so QM and QN stand
for made-up countries. The networks (documentation and benchmark ranges only):
  198.18.0.11/32   AS64501 QM  the lab's site A router (its operator)
  198.18.0.12/32   AS64502 QN  the lab's site B router
  198.18.1.0/24    AS64501 QM  site A's operator, another address (same operator, not same network)
  198.18.2.0/24    AS64503 QM  another operator in site A's country
  2001:db8:a::/48  AS64501 QM  site A's operator over IPv6
  2001:db8:b::/48  AS64502 QN  site B's operator over IPv6
"""
import sys

import location

NETWORKS = [
    ("198.18.0.11/32", 64501, "QM"),
    ("198.18.0.12/32", 64502, "QN"),
    ("198.18.1.0/24", 64501, "QM"),
    ("198.18.2.0/24", 64503, "QM"),
    ("2001:db8:a::/48", 64501, "QM"),
    ("2001:db8:b::/48", 64502, "QN"),
]
OPERATORS = {64501: "site A operator", 64502: "site B operator", 64503: "site A's other operator"}


def main(argv):
    if len(argv) != 2:
        sys.exit("usage: make-location-db.py OUT.db")
    writer = location.Writer()
    writer.vendor = "swarmdrop tests"
    writer.description = "fixture: made-up operators and countries over test address ranges"
    writer.license = "CC0"
    for number, name in OPERATORS.items():
        writer.add_as(number).name = name
    for cidr, asn, country in NETWORKS:
        network = writer.add_network(cidr)
        network.asn = asn
        network.country_code = country
    writer.write(argv[1])


if __name__ == "__main__":
    main(sys.argv)
