"""WAN links an intended config puts on another physical port than the one the appliance's
running config says carries them.

A store's WAN port holds its link's description (`WanLinkView.description`, its first word the
link's name) on every platform whose template renders one (`PlatformProfile.port_description`:
IOS-XE, VRP, FortiOS; FRR names its ports after their links). The running config so says which
port each link's cable is in; an intended config that puts the link on another port empties that
port and configures one the cable is not in. The push refuses that before any line unless the
inventory states the link's port (devices/push.py `_refuse_moved_ports`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from storestack.devices.configdiff.lines import normalise, with_paths
from storestack.devices.platforms import get_platform


@dataclass(frozen=True, slots=True)
class MovedLink:
    """A link on port `held` in the running config and on `intended` in the intended one; `number`:
    the WAN port number (`WanLink.port`) that keeps it on `held`, None where the platform gives
    `held` none."""

    link: str
    held: str
    intended: str
    number: int | None


def port_links(text: str, platform: str) -> dict[str, str]:
    """Each link a WAN port's description names in `text`, with that port (the first port naming
    it); a port the platform gives no WAN port number (VRP's LAN trunk) is none."""
    profile = get_platform(platform)
    if profile.port_description is None:
        return {}
    levels = [re.compile(pattern) for pattern in profile.port_description]
    found: dict[str, str] = {}
    for _, path in with_paths(normalise(text, profile.driver)):
        if len(path) != len(levels):
            continue
        matches = [level.fullmatch(part) for level, part in zip(levels, path, strict=True)]
        if not all(matches):
            continue
        groups = {key: value for match in matches if match is not None for key, value in match.groupdict().items()}
        if profile.wan_port_number(groups["port"], groups["link"]) is not None:  # not the LAN trunk
            found.setdefault(groups["link"], groups["port"])
    return found


def moved_links(running: str, intended: str, platform: str) -> list[MovedLink]:
    """The links whose port `running` and `intended` name differently, in the intended order."""
    profile = get_platform(platform)
    held = port_links(running, platform)
    return [
        MovedLink(link, held[link], port, profile.wan_port_number(held[link], link))
        for link, port in port_links(intended, platform).items()
        if link in held and held[link] != port
    ]
