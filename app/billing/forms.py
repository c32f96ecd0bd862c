"""What the billing pages accept: the plan to buy, test-mode actions, the return from Stripe."""

from __future__ import annotations

from typing import Annotated

import msgspec

from app.billing.simulate import ACTIONS
from app.core.forms import Choice, Form, Text


class PlanForm(Form):
    """The plan to buy (the service checks it is a paid one)."""

    plan: Annotated[str, Text("the plan", 50, required=True, message="Choose a plan.")]


class PortalAction(Form):
    action: Annotated[str, Choice("an action", ACTIONS, message="Unknown action.")]


class BillingQuery(Form):
    """`?checkout=success|cancelled&from=<plan>` when Stripe sends the user back."""

    checkout: Annotated[str, Text("the checkout", 20, lenient=True)] = ""
    from_plan: Annotated[str, Text("the plan", 50, lenient=True)] = msgspec.field(
        default="", name="from"
    )


class PlanQuery(Form):
    plan: Annotated[str, Text("the plan", 50, lenient=True)] = "pro"
