"""Support: the contact form (signed in or not), tickets, and the staff inbox."""
