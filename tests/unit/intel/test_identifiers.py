"""Identity numbers of persons: the Iranian national code's check digit, the CNIC's shape and province."""

from __future__ import annotations

import pytest

from sarhad.core.errors import ErrorCode, RuleError
from sarhad.intel.identifiers import check_cnic, check_iran_national_code, iran_check_digit


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("0499370899", "0499370899"),
        ("049-937089-9", "0499370899"),
        ("۰۴۹۹۳۷۰۸۹۹", "0499370899"),  # Persian digits
        ("٠٤٩٩٣٧٠٨٩٩", "0499370899"),  # Arabic-Indic digits
        ("1234567891", "1234567891"),
    ],
)
def test_a_national_code_with_the_right_check_digit_is_kept_in_western_digits(typed: str, kept: str) -> None:
    assert check_iran_national_code(typed) == kept


def test_the_check_digit_follows_the_weighted_sum_mod_11() -> None:
    # 0·10+4·9+9·8+9·7+3·6+7·5+0·4+8·3+9·2 = 266; 266 mod 11 = 2 → 11 − 2 = 9
    assert iran_check_digit("049937089") == 9
    assert iran_check_digit("000000001") == 9  # 1·2 = 2 → 11 − 2
    assert iran_check_digit("000000005") == 1  # 5·2 = 10 → 11 − 10
    assert iran_check_digit("000000300") == 1  # 3·4 = 12, 12 mod 11 = 1: below 2, the check digit itself
    assert iran_check_digit("000000000") == 0


@pytest.mark.parametrize("typed", ["0499370898", "049937089", "04993708990", "abcdefghij", "1111111111", ""])
def test_a_wrong_national_code_is_refused(typed: str) -> None:
    with pytest.raises(RuleError) as caught:
        check_iran_national_code(typed)
    assert caught.value.code == ErrorCode.BAD_IDENTIFIER and caught.value.field == "national_code"


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("35202-1234567-1", "35202-1234567-1"),
        ("3520212345671", "35202-1234567-1"),
        ("۴۲۱۰۱ ۱۲۳۴۵۶۷ ۲", "42101-1234567-2"),
    ],
)
def test_a_cnic_is_kept_in_its_written_form(typed: str, kept: str) -> None:
    assert check_cnic(typed) == kept


@pytest.mark.parametrize(
    "typed", ["05202-1234567-1", "95202-1234567-1", "35202-123456-1", "35202-12345678-1", "x"]
)
def test_a_wrong_cnic_is_refused(typed: str) -> None:
    with pytest.raises(RuleError) as caught:
        check_cnic(typed)
    assert caught.value.code == ErrorCode.BAD_IDENTIFIER
