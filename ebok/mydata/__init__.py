"""Moje dane (SPEC §15): the customer keeps their own contact details, proving a new
e-mail address by a signed link and a new mobile number by an SMS code, as registration
does; billing learns of the changes from `flask contacts export`."""
