"""Issue 15, hole 11: the password policy refuses common passwords (zxcvbn's list) and the user's own names."""

from __future__ import annotations

import pytest

from sarhad.accounts.domain import WeakPassword, check_password, common_passwords


@pytest.mark.parametrize(
    "password",
    [
        "1234567890",  # on the list, long enough for the length rule
        "qwertyuiop",
        "Password123",  # on the list in another case
        "baseball2026!",  # a common word with digits and a symbol added at its end
        "pass word 123",  # a common one with spaces in it
        "short",
        "x" * 1025,
        "nul\x00character-in-it",
    ],
)
def test_common_short_or_overlong_passwords_are_refused(password: str) -> None:
    with pytest.raises(WeakPassword):
        check_password(password)


def test_a_password_built_on_the_users_own_names_is_refused() -> None:
    with pytest.raises(WeakPassword, match="your username or your name"):
        check_password("farzana.kazmi-2026", ("fkazmi", "Farzana Kazmi"))
    with pytest.raises(WeakPassword, match="your username or your name"):
        check_password("i-am-liaison-pk-officer", ("liaison.pk", ""))


def test_a_passphrase_of_ones_own_is_accepted() -> None:
    assert check_password("correct horse battery", ("liaison", "Liaison Officer"))
    assert check_password("Exchange-Integration-Passw0rd", ("u.admin", "u.admin"))


def test_the_list_is_the_maintained_one_shipped_as_data() -> None:
    common = common_passwords()
    assert len(common) > 20_000 and "password" in common and "dragon" in common
