"""Deals: pipelines with ordered stages, deals and the live kanban board."""
