"""Zapomniałem hasła (SPEC §4): the same wizard, ending in a new password."""
