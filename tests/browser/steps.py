"""Steps the browser tests share."""

from support import TEST_PASSWORD


def log_in(page, live, number: str = "200005", password: str = TEST_PASSWORD) -> None:
    page.goto(live.url + "/")
    page.get_by_label("Numer klienta lub login").fill(number)
    page.get_by_label("Hasło", exact=True).fill(password)
    page.get_by_role("button", name="Zaloguj").click()
    page.wait_for_url(live.url + "/strona-glowna")
