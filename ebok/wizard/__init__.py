"""The wizard both registration and the forgotten-password flow walk through (SPEC §3, §4):
customer number, channel and matching contact datum, SMS code or e-mail link, password.
One implementation; each flow supplies its texts and what happens at the end."""
