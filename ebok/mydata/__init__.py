"""Moje dane (SPEC §15): the customer keeps their own contact details (a new e-mail
address proved by a signed link, a new mobile number by an SMS code, as registration
does; billing learns of them from `flask contacts export`), gives or withdraws marketing
consents (Zgody), recovers a forgotten customer number, and gets (Pobierz moje dane) or
deletes (Usuń konto) what the portal keeps about them."""
