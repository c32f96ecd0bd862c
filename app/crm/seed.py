"""Demo CRM records for `make run`: companies, contacts, notes and tasks."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID

from app.accounts.schemas import Current
from app.core.forms import parse
from app.crm import companies, contacts, notes
from app.crm.schemas import CompanyForm, ContactForm, TaskForm

DEMO_COMPANIES = (
    # (name, domain, industry, size, address)
    (
        "Northwind Logistics",
        "northwind.example",
        "Logistics",
        "201-1000",
        "Hafenstraße 12\n20457 Hamburg",
    ),
    (
        "Brightline Foods",
        "brightline.example",
        "Food & beverage",
        "51-200",
        "12 Mill Lane\nLeeds LS1 4AB",
    ),
    ("Helios Medical", "helios-med.example", "Healthcare", "1001-5000", "Via Roma 8\n20121 Milano"),
    ("Quarry & Stone", "quarrystone.example", "Construction", "11-50", "4 Rue du Port\n69002 Lyon"),
    (
        "Polar Pharma",
        "polarpharma.example",
        "Pharmaceuticals",
        "5000+",
        "Sveavägen 44\n111 34 Stockholm",
    ),
)
DEMO_CONTACTS = (
    # (first, last, email, phone, title, company index, tags)
    (
        "Mara",
        "Lindqvist",
        "mara.lindqvist@northwind.example",
        "+49 40 555 0101",
        "Head of Operations",
        0,
        "decision maker",
    ),
    (
        "Tobias",
        "Kern",
        "t.kern@northwind.example",
        "+49 40 555 0102",
        "Automation Engineer",
        0,
        "technical",
    ),
    (
        "Priya",
        "Raman",
        "priya@brightline.example",
        "+44 113 555 0199",
        "COO",
        1,
        "decision maker, vip",
    ),
    ("Owen", "Hughes", "owen.hughes@brightline.example", "", "Plant Manager", 1, ""),
    (
        "Giulia",
        "Bianchi",
        "g.bianchi@helios-med.example",
        "+39 02 555 0142",
        "Procurement Lead",
        2,
        "procurement",
    ),
    ("Luca", "Ferri", "luca.ferri@helios-med.example", "", "Biomedical Engineer", 2, "technical"),
    ("Camille", "Durand", "camille@quarrystone.example", "+33 4 55 50 12 34", "Founder", 3, "vip"),
    (
        "Erik",
        "Nyström",
        "erik.nystrom@polarpharma.example",
        "+46 8 555 010 20",
        "VP Manufacturing",
        4,
        "decision maker",
    ),
    ("Sofia", "Berg", "sofia.berg@polarpharma.example", "", "Quality Manager", 4, ""),
    (
        "Sam",
        "Okafor",
        "sam.okafor@gmail.example",
        "+1 415 555 0175",
        "Independent consultant",
        -1,
        "partner",
    ),
)


async def seed_crm(current: Current) -> list[UUID]:
    """Create the demo records through the real services; returns the companies' ids (the
    demo invoices and deals link to them)."""
    user_id = current.user_id
    company_ids = []
    for name, domain, industry, size, address in DEMO_COMPANIES:
        values = {"name": name, "domain": domain, "industry": industry, "size": size}
        values |= {"address": address, "owner_id": str(user_id)}
        company_ids.append(await companies.create_company(current, parse(CompanyForm, values)))
    contact_ids = []
    for first, last, email, phone, title, company, tags in DEMO_CONTACTS:
        values = {"first_name": first, "last_name": last, "emails": email, "phones": phone}
        values |= {"title": title, "tags": tags, "owner_id": str(user_id)}
        values["company_id"] = str(company_ids[company]) if company >= 0 else ""
        contact_ids.append(await contacts.create_contact(current, parse(ContactForm, values)))
    await notes.add_note(
        current,
        "company",
        company_ids[0],
        "Met Mara at LogiMAT. They want to automate two warehouses next year;"
        " budget approved in Q1.",
    )
    await notes.add_note(
        current,
        "contact",
        contact_ids[2],
        "Priya prefers a short call on Tuesdays. Send the case study from the bakery pilot first.",
    )
    today = date.today()
    tasks = (
        ("company", company_ids[0], "Send the automation proposal", 3),
        ("contact", contact_ids[2], "Book a call with Priya", 1),
        ("company", company_ids[2], "Check the tender deadline", -2),
        ("contact", contact_ids[7], "Share the validation documents", 10),
    )
    for subject_type, subject_id, title, days in tasks:
        task = TaskForm(title=title, due_date=today + timedelta(days=days), assignee_id=user_id)
        await notes.add_task(current, subject_type, subject_id, task)
    return company_ids
