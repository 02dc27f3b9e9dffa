"""Which client addresses may read ``/metrics``: the setting MAUS_WEB_METRICS_ALLOWED.

A comma-separated list of addresses and networks, ``127.0.0.1,::1`` by default (this machine
only: a Prometheus server elsewhere is named explicitly, e.g. ``127.0.0.1,::1,10.1.0.9`` or a
subnet ``10.1.0.0/24``). The address judged is the connection's (``REMOTE_ADDR``), never a
header such as X-Forwarded-For, which any client can write::

    allowed = parse_networks("127.0.0.1, 10.1.0.0/24")
    is_allowed("10.1.0.7", allowed), is_allowed("10.2.0.7", allowed)     # True, False

No Django: plain Python.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_ALLOWED = ("127.0.0.1", "::1")


def parse_networks(entries: str | Iterable[str]) -> tuple[Network, ...]:
    """The networks of a comma-separated text or a list of entries; a bare address is a
    network of one. Raises ValueError naming the first entry that is neither."""
    items = entries.split(",") if isinstance(entries, str) else list(entries)
    networks = []
    for entry in (str(item).strip() for item in items):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"{entry!r:.60} is not an IP address or network (write e.g. "
                             "127.0.0.1, ::1 or 10.1.0.0/24)") from None
    return tuple(networks)


def is_allowed(address: str | None, networks: Iterable[Network]) -> bool:
    """True when ``address`` lies in one of ``networks``; an address that is not one (empty,
    a Unix socket's) is refused. An IPv4 client seen through an IPv6 socket
    (``::ffff:127.0.0.1``) is judged by its IPv4 address."""
    try:
        client = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return False
    if isinstance(client, ipaddress.IPv6Address) and client.ipv4_mapped is not None:
        client = client.ipv4_mapped
    return any(client.version == network.version and client in network
               for network in networks)
