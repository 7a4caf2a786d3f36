"""Faktury (SPEC §11): the invoices the billing system issues, imported from a folder,
kept as PDFs in storage, listed and served to their customer, announced by e-mail."""
