"""Customers from the billing system: the CSV import (importing.py) and the demo customers
(demo.py)."""
