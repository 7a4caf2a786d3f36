"""Zapłać (SPEC §14): paying invoices online through the payment provider."""
