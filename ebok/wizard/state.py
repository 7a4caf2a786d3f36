"""Where the customer is in the wizard, kept in the signed session cookie.

It holds ids and the chosen channel only, never a contact datum, code or link.
"""

from typing import Any

from flask import session

KEY = "wizard"


def load(flow_name: str) -> dict:
    state = session.get(KEY) or {}
    return dict(state) if state.get("flow") == flow_name else {}


def save(flow_name: str, **values: Any) -> None:
    session[KEY] = {**load(flow_name), **values, "flow": flow_name}


def replace(flow_name: str, **values: Any) -> None:
    session[KEY] = {**values, "flow": flow_name}


def clear() -> None:
    session.pop(KEY, None)
