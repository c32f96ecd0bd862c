"""Erase one contact's personal data on request (a data subject's right to erasure).

Every place on the data map with an ``erase`` handler takes part, in the map's order: notes
about the contact go and other notes lose its mentions, tasks and deal links go, its timeline
entries are blanked, notifications about it, failed import rows and uploaded files that hold it
go, page paths stop naming it, and the contact row goes last, so an erasure that failed half
way (each place commits on its own) is simply run again. Invoices name companies, not
contacts, so they keep their legal content.
"""

from __future__ import annotations

from uuid import UUID

from app.accounts.roles import require_admin
from app.accounts.schemas import Current
from app.core import datamap
from app.core.datamap import ContactRef
from app.core.errors import RecordNotFound
from app.privacy import hooks


async def _identify(tenant_id: UUID, contact_id: UUID) -> ContactRef:
    for place in datamap.places():
        if place.identify is not None:
            found = await place.identify(tenant_id, contact_id)
            if found is not None:
                return found
    raise RecordNotFound()


async def contact_summary(current: Current, contact_id: UUID) -> dict[str, object]:
    """What will be erased (the confirmation page lists what each place does)."""
    contact = await _identify(current.tenant_id, contact_id)
    treatments = [
        {"place": place.name.split(":", 1)[1].replace("_", " "), "does": place.erasure}
        for place in datamap.places()
        if place.erase is not None
    ]
    return {
        "contact": {
            "id": contact.contact_id,
            "first_name": contact.first_name,
            "last_name": contact.last_name,
        },
        "treatments": treatments,
    }


async def erase_contact(current: Current, contact_id: UUID) -> dict[str, int]:
    """Erase a contact and its personal data in this workspace (admins); counts per place."""
    require_admin(current, "Only admins can erase a contact's personal data.")
    contact = await _identify(current.tenant_id, contact_id)
    done: dict[str, int] = {}
    for place in datamap.places():
        if place.erase is not None:
            done[place.name] = await place.erase(contact)
    await hooks.audit(
        current.tenant_id, current.user_id, "privacy.contact_erased", f"contact {contact_id}"
    )
    return done
