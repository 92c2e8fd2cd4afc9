"""Identity document numbers of persons in intelligence reports: pure checks, no I/O (issue 18, entities).

The first building block of entities (persons): a number is kept in one canonical form, so the same person
written on either node, with or without separators, in Western or Persian/Arabic-Indic digits, is the same
identifier.

- **Iranian national code** (کد ملی): 10 digits, the last a check digit. With the first nine digits
  ``d1..d9``, ``s = Σ d_i × (11 − i)`` (weights 10 down to 2), ``r = s mod 11``; the check digit is ``r`` when
  ``r < 2``, else ``11 − r``. Ten equal digits are refused (they pass the sum but are never issued).
- **Pakistani CNIC**: 13 digits, written ``DDDDD-DDDDDDD-D``. NADRA publishes no check digit; the first digit
  is the province or area of issue (1 Khyber Pakhtunkhwa, 2 former FATA, 3 Punjab, 4 Sindh, 5 Balochistan,
  6 Islamabad, 7 Gilgit-Baltistan), so 0, 8 and 9 are refused; the last digit is odd for men, even for women.
"""

from __future__ import annotations

import re

from sarhad.core.errors import ErrorCode, RuleError

# Persian (U+06F0..) and Arabic-Indic (U+0660..) digits as Western digits
_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
_SEPARATORS = re.compile(r"[\s\-‐‑–.]")
CNIC_PROVINCES = frozenset("1234567")


def _digits_only(value: str) -> str:
    return _SEPARATORS.sub("", value.translate(_DIGITS))


def iran_check_digit(first_nine: str) -> int:
    """The check digit of an Iranian national code from its first nine digits."""
    total = sum(int(d) * (10 - i) for i, d in enumerate(first_nine))
    rest = total % 11
    return rest if rest < 2 else 11 - rest


def check_iran_national_code(value: str, field: str = "national_code") -> str:
    """The code as 10 Western digits, or RuleError (``bad_identifier``) saying what is wrong."""
    code = _digits_only(value)
    if not re.fullmatch(r"\d{10}", code):
        raise RuleError(field, "an Iranian national code has 10 digits", code=ErrorCode.BAD_IDENTIFIER)
    if len(set(code)) == 1:
        raise RuleError(field, f"{code} is not an issued national code", code=ErrorCode.BAD_IDENTIFIER)
    if iran_check_digit(code[:9]) != int(code[9]):
        raise RuleError(
            field,
            f"the check digit of national code {code} is wrong: mistyped?",
            code=ErrorCode.BAD_IDENTIFIER,
        )
    return code


def check_cnic(value: str, field: str = "cnic") -> str:
    """The CNIC as ``DDDDD-DDDDDDD-D``, or RuleError (``bad_identifier``) saying what is wrong."""
    digits = _digits_only(value)
    if not re.fullmatch(r"\d{13}", digits):
        raise RuleError(field, "a CNIC has 13 digits (DDDDD-DDDDDDD-D)", code=ErrorCode.BAD_IDENTIFIER)
    if digits[0] not in CNIC_PROVINCES:
        raise RuleError(
            field,
            f"a CNIC starts with the digit of its province (1 to 7), not {digits[0]}",
            code=ErrorCode.BAD_IDENTIFIER,
        )
    return f"{digits[:5]}-{digits[5:12]}-{digits[12]}"
