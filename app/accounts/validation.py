"""Field rules shared by the account forms (one place for what a valid email or name is)."""

from __future__ import annotations

import re

from app.security.passwords import password_problem

EMAIL_RE = re.compile(r"^[^@\s<>\"]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}\.)+[A-Za-z]{2,63}$")


def clean_email(value: str, errors: dict[str, str], field: str = "email") -> str:
    email = value.strip()
    if not email:
        errors[field] = "Enter your email address."
    elif len(email) > 254 or not EMAIL_RE.match(email):
        errors[field] = "Enter a valid email address, like name@company.com."
    return email


def clean_text(value: str, errors: dict[str, str], field: str, label: str, limit: int = 200) -> str:
    text = " ".join(value.split())
    if not text:
        errors[field] = f"Enter {label}."
    elif len(text) > limit:
        errors[field] = f"{label.capitalize()} can be at most {limit} characters."
    return text


def check_new_password(
    password: str,
    errors: dict[str, str],
    *,
    email: str = "",
    name: str = "",
    field: str = "password",
) -> None:
    problem = password_problem(password, email=email, name=name)
    if problem:
        errors[field] = problem
