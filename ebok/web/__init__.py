"""The web layer: pages or fragments (htmx), templates and their titles, shared form
parts, request bodies, security headers and the session's lifetime, static files, PDF fonts."""
