"""Odex CRM: a multi-tenant SaaS CRM whose privacy policy is its product spec."""
