"""Calling outside services (the SMS gateway, the payment provider): one HTTP client."""
