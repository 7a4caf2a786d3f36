"""The language switcher in the header and footer of every page (SPEC §12)."""
