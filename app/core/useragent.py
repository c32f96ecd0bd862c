"""A small user-agent classifier: browser family, operating system and device type (shared by
usage analytics and the security pages)."""

from __future__ import annotations

import re

_BROWSERS = (
    ("Edge", re.compile(r"Edg(e|A|iOS)?/")),
    ("Opera", re.compile(r"OPR/|Opera")),
    ("Samsung Internet", re.compile(r"SamsungBrowser/")),
    ("Firefox", re.compile(r"Firefox/|FxiOS/")),
    ("Chrome", re.compile(r"Chrome/|CriOS/|Chromium/")),
    ("Safari", re.compile(r"Safari/")),
)
_OSES = (
    ("iOS", re.compile(r"iPhone|iPad|iPod")),
    ("Android", re.compile(r"Android")),
    ("Windows", re.compile(r"Windows")),
    ("macOS", re.compile(r"Mac OS X|Macintosh")),
    ("ChromeOS", re.compile(r"CrOS")),
    ("Linux", re.compile(r"Linux|X11")),
)
_BOT = re.compile(r"bot|crawl|spider|slurp|curl|wget|python|httpx|headless", re.IGNORECASE)


def classify(user_agent: str) -> tuple[str, str, str]:
    """(browser, os, device) for a User-Agent header; 'Other' when unknown."""
    browser = next((name for name, rx in _BROWSERS if rx.search(user_agent)), "Other")
    os_name = next((name for name, rx in _OSES if rx.search(user_agent)), "Other")
    if _BOT.search(user_agent):
        device = "Bot"
    elif "iPad" in user_agent or "Tablet" in user_agent:
        device = "Tablet"
    elif "Mobi" in user_agent or "iPhone" in user_agent or "Android" in user_agent:
        device = "Mobile"
    else:
        device = "Desktop"
    return browser, os_name, device
