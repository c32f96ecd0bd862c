"""A small user-agent classifier: browser family, operating system and device type (shared by
usage analytics and the security pages)."""

from __future__ import annotations

import re

# (name, pattern) in the order they are tried: the first that matches names it
_BROWSERS = {
    "Edge": r"Edg(e|A|iOS)?/",
    "Opera": r"OPR/|Opera",
    "Samsung Internet": r"SamsungBrowser/",
    "Firefox": r"Firefox/|FxiOS/",
    "Chrome": r"Chrome/|CriOS/|Chromium/",
    "Safari": r"Safari/",
}
_OSES = {
    "iOS": r"iPhone|iPad|iPod",
    "Android": r"Android",
    "Windows": r"Windows",
    "macOS": r"Mac OS X|Macintosh",
    "ChromeOS": r"CrOS",
    "Linux": r"Linux|X11",
}
_BOT = re.compile(r"bot|crawl|spider|slurp|curl|wget|python|httpx|headless", re.IGNORECASE)


def classify(user_agent: str) -> tuple[str, str, str]:
    """(browser, os, device) for a User-Agent header; 'Other' when unknown."""
    browser = _first(_BROWSERS, user_agent)
    os_name = _first(_OSES, user_agent)
    if _BOT.search(user_agent):
        device = "Bot"
    elif "iPad" in user_agent or "Tablet" in user_agent:
        device = "Tablet"
    elif "Mobi" in user_agent or "iPhone" in user_agent or "Android" in user_agent:
        device = "Mobile"
    else:
        device = "Desktop"
    return browser, os_name, device


def _first(patterns: dict[str, str], user_agent: str) -> str:
    """The name of the first pattern that matches (re caches the compiled ones), else 'Other'."""
    return next((name for name, rx in patterns.items() if re.search(rx, user_agent)), "Other")
