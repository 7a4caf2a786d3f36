"""Bezpieczeństwo (SPEC §16): the customer's sessions, logins and remembered devices."""
