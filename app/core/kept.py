"""Rendered markup kept per web process under a key of everything it shows depends on (the
versions read in the page's own transaction, the reader's role, locale and zone): the oldest
used dropped first, bounded by count and size. The reader's CSRF token is never kept: kept
markup holds CSRF_MARK where it goes, and `with_csrf` puts the request's token in."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

from markupsafe import escape

# where the reader's CSRF token goes in kept markup: no text from the database can hold it
# (PostgreSQL text has no NUL), and autoescaping leaves it as it is
CSRF_MARK = "\x00odex-csrf\x00"
_CSRF_BYTES = CSRF_MARK.encode()

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Kept(Generic[K, V]):
    """Values by key, at most `most` entries and about `size` bytes in all (each value's size
    given when it is kept), the oldest used dropped first."""

    def __init__(self, most: int, size: int) -> None:
        self.most = most
        self.size = size
        self._kept: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._kept)

    @property
    def bytes(self) -> int:
        """The kept values' size in all, as given."""
        return self._bytes

    def get(self, key: K) -> V | None:
        """The value kept under `key` (now the most recently used), or None."""
        found = self._kept.get(key)
        if found is None:
            return None
        self._kept.move_to_end(key)
        return found[0]

    def put(self, key: K, value: V, size: int) -> None:
        """Keep `value` (about `size` bytes) under `key`, dropping the oldest used past the
        bounds (a value larger than all of them is not kept)."""
        if size > self.size:
            return
        old = self._kept.pop(key, None)
        if old is not None:
            self._bytes -= old[1]
        self._kept[key] = (value, size)
        self._bytes += size
        while len(self._kept) > self.most or self._bytes > self.size:
            _, (_, dropped) = self._kept.popitem(last=False)
            self._bytes -= dropped

    def clear(self) -> None:
        """Drop everything kept (tests)."""
        self._kept.clear()
        self._bytes = 0


class KeptMarkup(Kept[K, bytes]):
    """UTF-8 markup by key, at most `most` entries and about `size` bytes in all."""

    def keep(self, key: K, content: bytes) -> None:
        """Keep `content` under `key`, dropping the oldest used past the bounds."""
        self.put(key, content, len(content))


def with_csrf(content: bytes, csrf: str) -> bytes:
    """Kept markup with the request's CSRF token (escaped) where CSRF_MARK is."""
    return content.replace(_CSRF_BYTES, str(escape(csrf)).encode())


def csrf_split(content: bytes) -> tuple[bytes, ...]:
    """Kept markup cut at each CSRF_MARK, for `csrf_joined`: done once when it is kept, so a
    request joins the pieces around its token (one copy) instead of searching the whole text
    (~40 µs for a 50 kB list, a 1.5 µs join)."""
    return tuple(content.split(_CSRF_BYTES))


def csrf_joined(pieces: tuple[bytes, ...], csrf: str) -> bytes:
    """The markup `csrf_split` cut, with the request's CSRF token (escaped) where each mark was
    (what `with_csrf` gives)."""
    return str(escape(csrf)).encode().join(pieces)
