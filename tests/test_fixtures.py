"""The suite's own machinery: the `config` marker the `app` fixture reads."""

import pytest

pytestmark = pytest.mark.config(CUSTOMER_SERVICE_PHONE="22 111 11 11", SMS_CODE_LENGTH=8)


@pytest.mark.config(CUSTOMER_SERVICE_PHONE="22 999 99 99")
def test_the_marker_nearest_the_test_wins_and_the_others_still_count(app):
    assert app.config["CUSTOMER_SERVICE_PHONE"] == "22 999 99 99"
    assert app.config["SMS_CODE_LENGTH"] == 8


def test_a_module_marker_reaches_the_app(app):
    assert app.config["CUSTOMER_SERVICE_PHONE"] == "22 111 11 11"
    assert app.config["SMS_CODE_LENGTH"] == 8
