"""The operator's settings have one definition (ebok/config.py's SETTINGS): production
refuses to start while one still has its placeholder, naming it, and the README's
"Configuration" tables and deploy/strefa-klienta.env.example are rendered from it
(issue 28, 15b)."""

import shlex

import pytest
from support import PRODUCTION_ENVIRONMENT

from ebok.config import DEFAULTS, PLACEHOLDER_MARK, SETTINGS, required_settings
from scripts import settings_docs

# The same on every database (no database): make test-postgres leaves it out.
pytestmark = pytest.mark.own_database


def test_the_readme_and_the_environment_example_are_rendered_from_the_settings():
    assert settings_docs.main(["--check"]) == 0, "run .venv/bin/python scripts/settings_docs.py"


def test_every_documented_setting_exists():
    documented = [name for group in SETTINGS for s in group.settings for name in s.names]
    assert len(documented) == len(set(documented))
    assert set(documented) - set(DEFAULTS) == {"DEBUG"}  # Flask's own


def test_the_tests_production_environment_sets_every_required_setting():
    assert {f"FLASK_{name}" for name in required_settings()} <= set(PRODUCTION_ENVIRONMENT)


@pytest.mark.parametrize(
    "setting", [name for name in required_settings() if name not in ("SECRET_KEY", "SERVER_NAME")]
)
def test_production_refuses_a_required_setting_left_at_its_placeholder(
    environment, production_app, setting
):
    complete = {k: v for k, v in PRODUCTION_ENVIRONMENT.items() if k != f"FLASK_{setting}"}
    environment(**complete)
    with pytest.raises(RuntimeError, match=rf"^FLASK_{setting} still has its placeholder"):
        production_app()
    # Set to nothing is no better than unset.
    environment(**{f"FLASK_{setting}": '""'})
    with pytest.raises(RuntimeError, match=f"FLASK_{setting} still has its placeholder"):
        production_app()


def test_the_centres_placeholder_phone_is_refused_by_name(environment, production_app):
    environment(**{**PRODUCTION_ENVIRONMENT, "FLASK_CUSTOMER_SERVICE_PHONE": '"22 123 45 67"'})
    with pytest.raises(RuntimeError, match="FLASK_CUSTOMER_SERVICE_PHONE still has"):
        production_app()


def test_any_setting_still_marked_change_me_is_refused(environment, production_app):
    environment(
        **PRODUCTION_ENVIRONMENT,
        FLASK_MAIL_USERNAME="change-me",
        FLASK_MAIL_PASSWORD="Change-Me-2026",
    )
    with pytest.raises(RuntimeError) as refused:
        production_app()
    assert str(refused.value).startswith(
        "FLASK_MAIL_USERNAME, FLASK_MAIL_PASSWORD still have their placeholder"
    )


def environment_example() -> dict[str, str]:
    """The environment example's variables, as the shell reads them."""
    values = {}
    for line in settings_docs.ENV_EXAMPLE.read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = shlex.split(value)[0] if value else ""
    return values


def test_the_environment_example_as_it_comes_is_refused_naming_every_placeholder(
    environment, production_app
):
    example = environment_example()
    required = {f"FLASK_{name}" for name in required_settings()}
    assert required <= set(example)  # every setting an operator must set is listed
    assert all(PLACEHOLDER_MARK in example[name] for name in required - {"FLASK_INVOICE_STORAGE"})
    environment(**{**example, "FLASK_SECRET_KEY": PRODUCTION_ENVIRONMENT["FLASK_SECRET_KEY"]})
    with pytest.raises(RuntimeError) as refused:
        production_app()
    named = str(refused.value).split(" still ")[0].split(", ")
    assert {
        "FLASK_SERVER_NAME",
        "FLASK_CUSTOMER_SERVICE_PHONE",
        "FLASK_OPERATOR_NAME",
        "FLASK_MAIL_PASSWORD",
    } <= set(named)


def test_a_complete_environment_starts_and_shows_the_operators_own_values(
    environment, production_app
):
    environment(**PRODUCTION_ENVIRONMENT)
    page = production_app().test_client().get("/", base_url="https://ebok.example.pl")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'href="tel:225550123"' in text and "tel:221234567" not in text
