"""The limits of issue 9 through HTTP: each attempt counted before it is checked, a right
one given back (finding 2), and the limits findings 3, 6, 7 and 8 ask for."""

from support import TEST_PASSWORD, last_code, text_of

WRONG_PASSWORD = "Zle#Haslo1"


def test_the_right_code_is_refused_while_the_client_is_over_its_code_limit(app, wizard, customers):
    app.config["RATELIMIT_CODE_ATTEMPTS"] = "2/10 minutes"
    customer = customers["both"]
    wizard.to_code(customer)
    code = last_code(app, customer.phone)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(2):
        assert wizard.enter_code(wrong).status_code == 422
    response = wizard.enter_code(code)
    assert response.status_code == 429
    assert "Spróbuj ponownie za" in text_of(response)


def test_right_codes_and_passwords_do_not_use_up_the_limits(app, visitor, auth, customers):
    app.config["RATELIMIT_LOGIN_PER_ACCOUNT"] = "2/15 minutes"
    for _ in range(3):
        auth.log_in(customers["registered"].number, TEST_PASSWORD)
        auth.log_out()
    assert auth.post_login(customers["registered"].number, WRONG_PASSWORD).status_code == 422
