"""Security: passwords, server-side sessions, CSRF (later: MFA, audit, alerts, encryption)."""
