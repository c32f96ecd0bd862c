"""Billing: plans, Stripe Checkout and Customer Portal, webhooks through arq, plan limits."""
