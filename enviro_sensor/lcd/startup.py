"""The start-up screen: the service's name and where to reach it.

Someone who just plugged the Pi in reads the address off the LCD instead of
hunting for it on the router.
"""

from __future__ import annotations

import fcntl
import socket
import struct

from enviro_sensor.version import SERVICE

# Linux ioctl that reads an interface's IPv4 address (<linux/sockios.h>).
_SIOCGIFADDR = 0x8915
_ANY_ADDRESS = ("", "0.0.0.0", "::", "[::]")


def interface_addresses() -> list[str]:
    """IPv4 addresses of this machine's network interfaces, loopback excluded.

    Read from the kernel (no packet is sent); empty where that is not possible.
    """
    addresses = []
    try:
        interfaces = socket.if_nameindex()
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    except OSError:
        return []
    with probe:
        for _index, name in interfaces:
            try:
                request = struct.pack("256s", name.encode()[:15])
                answer = fcntl.ioctl(probe.fileno(), _SIOCGIFADDR, request)
            except OSError:
                continue  # down, or no IPv4 address
            address = socket.inet_ntoa(answer[20:24])
            if not address.startswith("127."):
                addresses.append(address)
    return addresses


def reachable_host(listen_host: str) -> str:
    """What to show as the address: the listening address when it is a specific
    one, else the first interface address, else the host name."""
    if listen_host not in _ANY_ADDRESS:
        return listen_host
    return next(iter(interface_addresses()), None) or socket.gethostname()


def startup_message(listen_host: str, port: int) -> str:
    """The start-up screen's text: the service's name over ``host:port``."""
    host = reachable_host(listen_host)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address, as a URL writes it
    return f"{SERVICE}\n{host}:{port}"
