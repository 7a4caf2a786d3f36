"""WTForms widgets that render what WTForms' own render, faster. WTForms builds each
attribute with `Markup.format` (about 8 µs an attribute on this machine), and its select
inspects `render_option`'s signature on every call: Faktury's select of three options took
117 µs, this one 42 (most of it now the choices' own machinery and the lazy label)."""

from typing import Any

from markupsafe import Markup, escape
from wtforms import widgets
from wtforms.fields.choices import SelectFieldBase
from wtforms.widgets.core import clean_key  # type: ignore[attr-defined]  # not in the stubs


def html_attributes(**attributes: Any) -> Markup:
    """WTForms' `html_params`, the same output: sorted by name, `class_` as `class`,
    `data_`/`aria_` with hyphens, True as the bare name, False left out."""
    parts = []
    for name, value in sorted(attributes.items()):
        if value is True:
            parts.append(clean_key(name))
        elif value is not False:
            parts.append(f'{clean_key(name)}="{escape(value)}"')
    return Markup(" ".join(parts))  # noqa: S704 (every value is escaped above)


class Select(widgets.Select):
    """WTForms' select; one with option groups is left to it (none of ours has them)."""

    def __call__(self, field: SelectFieldBase, **attributes: Any) -> Markup:
        if field.has_groups():
            return super().__call__(field, **attributes)
        attributes.setdefault("id", field.id)
        if self.multiple:
            attributes["multiple"] = True
        flags = getattr(field, "flags", None)
        for name in self.validation_attrs:
            if name not in attributes and getattr(flags, name, False):
                attributes[name] = getattr(flags, name)
        html = [f"<select {html_attributes(name=field.name, **attributes)}>"]
        for value, label, selected, extra in field.iter_choices():
            option = {"value": str(value) if isinstance(value, bool) else value, **(extra or {})}
            if selected:
                option["selected"] = True
            html.append(f"<option {html_attributes(**option)}>{escape(label or value)}</option>")
        html.append("</select>")
        return Markup("".join(html))  # noqa: S704 (every value is escaped above)
