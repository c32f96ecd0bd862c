"""Privacy centre: consent and cookies, usage data, my data, export, deletion, policy versions."""
