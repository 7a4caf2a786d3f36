"""Rejestracja (SPEC §3): a customer without an online account creates one."""
