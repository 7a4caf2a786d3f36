"""ebok.web.widgets renders what WTForms' own widgets render (it is only faster)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from wtforms import Form, SelectField, widgets
from wtforms.validators import InputRequired
from wtforms.widgets.core import html_params

from ebok.web.widgets import Select, html_attributes

pytestmark = pytest.mark.own_database

values = st.one_of(st.text(max_size=8), st.integers(), st.booleans(), st.none())
names = st.sampled_from(
    ["id", "name", "class_", "for_", "data_hx_get", "aria_describedby", "required", "value"]
)


@given(st.dictionaries(names, values, max_size=6))
def test_html_attributes_are_wtforms_html_params(attributes):
    assert html_attributes(**attributes) == html_params(**attributes)


def select_field(widget, choices, data, required):
    class Chooser(Form):
        choice = SelectField("Rok", widget=widget, validators=[InputRequired()] if required else [])

    field = Chooser(MultiDict({"choice": data} if data is not None else {})).choice
    field.choices = choices  # as the app's forms set them (tuples)
    return field


@given(
    choices=st.lists(
        st.tuples(st.text(max_size=6), st.one_of(st.text(max_size=6), st.none())), max_size=4
    ),
    data=st.one_of(st.none(), st.text(max_size=6)),
    required=st.booleans(),
    attributes=st.dictionaries(names.filter(lambda name: name != "name"), values, max_size=3),
)
def test_the_select_is_wtforms_select(choices, data, required, attributes):
    ours = select_field(Select(), choices, data, required)
    theirs = select_field(widgets.Select(), choices, data, required)
    assert ours(**attributes) == theirs(**attributes)


def test_an_option_with_attributes_and_a_selected_one():
    choices = [("", "Wszystkie lata"), ("2026", "2026", {"lang": "pl"}), ("2025", '<"2025">')]
    ours = select_field(Select(), choices, "2026", True)
    theirs = select_field(widgets.Select(), choices, "2026", True)
    html = ours(class_="select", aria_describedby="rok-hint")
    assert html == theirs(class_="select", aria_describedby="rok-hint")
    assert '<option lang="pl" selected value="2026">2026</option>' in html
    assert "&lt;&#34;2025&#34;&gt;" in html
