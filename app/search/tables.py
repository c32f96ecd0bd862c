"""Piccolo table of the search domain (DDL, triggers and RLS live in migrations/search)."""

from piccolo.columns import UUID, Text
from piccolo.table import Table


class SearchGram(Table, tablename="search_grams"):
    """A three-character piece of a word of a record's searchable text, kept by triggers on
    contacts, companies and deals (the database's key is tenant_id, kind, gram, record_id;
    Piccolo is given `record_id` as its key: the app never writes this table through it)."""

    record_id = UUID(primary_key=True)
    tenant_id = UUID()
    kind = Text()
    gram = Text()
