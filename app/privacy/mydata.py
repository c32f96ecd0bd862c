"""Right of access: everything Odex holds about the signed-in user, from the data map.

Each place on the map that has a reader contributes one section of the page; long sections
come a page at a time (PAGE rows) with a link to the next, and say how many there are in all,
so nothing is cut off silently.
"""

from __future__ import annotations

from app.accounts.schemas import Current
from app.core import datamap, sessions
from app.core.datamap import Place, Section, Viewer
from app.core.errors import RecordNotFound

PAGE = 25


def viewer_of(current: Current, sid: str | None, visitor_id: str | None) -> Viewer:
    """The reader of their own data, and the browser they read it in."""
    return Viewer(
        user_id=current.user_id,
        tenant_id=current.tenant_id,
        email=current.email,
        session_key=sessions.session_key(sid) if sid else None,
        visitor_id=visitor_id,
    )


def slug(place: Place) -> str:
    """The element id of a place's section."""
    return "md-" + place.name.replace(":", "-").replace("_", "-")


def readers() -> list[Place]:
    return sorted((p for p in datamap.places() if p.read), key=lambda p: (p.shown, p.name))


async def my_data(
    current: Current, sid: str | None, visitor_id: str | None
) -> list[tuple[Place, Section]]:
    """The first page of every section of the My data page."""
    viewer = viewer_of(current, sid, visitor_id)
    found = []
    for place in readers():
        assert place.read is not None
        found.append((place, await place.read(viewer, None, PAGE)))
    return found


async def my_data_section(
    current: Current, sid: str | None, visitor_id: str | None, name: str, after: str | None
) -> tuple[Place, Section]:
    """One section from `after` on (the "next page" link); 404 for a place without one."""
    place = next((p for p in readers() if p.name == name), None)
    if place is None or place.read is None:
        raise RecordNotFound()
    return place, await place.read(viewer_of(current, sid, visitor_id), after, PAGE)
