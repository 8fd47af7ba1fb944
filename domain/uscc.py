"""统一社会信用代码 (Unified Social Credit Code): validation, Tianjin check, synthetic codes.

Layout (GB 32100-2015): 1 registering authority, 2 entity type, 3-8 administrative division code,
9-17 organisation code (GB 11714, with its own check character), 18 check character.
"""

from __future__ import annotations

import random
import re
import unicodedata

from stdnum.cn import uscc as _stdnum_uscc
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError

_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_SEPARATORS = re.compile(r"[\s\-_‐‑–—]+")

TIANJIN_DIVISION_PREFIX = "12"

# GB 11714 organisation code check: weights over the first 8 characters.
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def normalize_uscc(code: str) -> str:
    """Full-width to half-width, drop spaces and dashes, uppercase."""
    text = unicodedata.normalize("NFKC", code or "")
    return _SEPARATORS.sub("", text).upper()


def validate_uscc(code: str) -> str | None:
    """Return a Chinese message saying what is wrong and how to fix it, or None when valid."""
    number = normalize_uscc(code)
    if not number:
        return "统一社会信用代码未填写，请按营业执照（或登记证书）填写18位统一社会信用代码"
    shown = f"“{number}”"
    if _valid_letter_authority(number):
        return None
    try:
        _stdnum_uscc.validate(number)
    except InvalidLength:
        return (
            f"统一社会信用代码{shown}为{len(number)}位，应为18位，"
            "请对照营业执照逐位核对，不要填写旧的组织机构代码或注册号"
        )
    except InvalidFormat:
        bad = _bad_characters(number)
        if bad:
            return (
                f"统一社会信用代码{shown}含有不允许的字符“{'、'.join(bad)}”："
                "第1位为登记管理部门代码（数字或A、N、Y），第2-8位只能是数字，第9-18位只能是数字或大写字母（不含I、O、Z、S、V），"
                "请对照营业执照核对，注意数字0与字母O、数字1与字母I的区别"
            )
        return f"统一社会信用代码{shown}格式不正确，请对照营业执照逐位核对"
    except InvalidChecksum:
        return (
            f"统一社会信用代码{shown}校验位（第18位）与前17位不符，通常是抄写错误，"
            "请对照营业执照逐位核对后重新填写"
        )
    except ValidationError:
        return f"统一社会信用代码{shown}无效，请对照营业执照逐位核对"
    return None


# GB 32100 also lets the registering authority (1st character) be A, N or Y (trade unions,
# agriculture, others); stdnum only accepts digits in the first 8 positions.
_LETTER_AUTHORITIES = "ANY"


def _valid_letter_authority(number: str) -> bool:
    return (
        len(number) == 18
        and number[0] in _LETTER_AUTHORITIES
        and all(ch in "0123456789" for ch in number[1:8])
        and all(ch in _ALPHABET for ch in number[8:])
        and number[-1] == _stdnum_uscc.calc_check_digit(number[:17])
    )


def _bad_characters(number: str) -> list[str]:
    bad: list[str] = []
    for i, ch in enumerate(number):
        if i == 0:
            ok = ch in "0123456789" + _LETTER_AUTHORITIES
        else:
            ok = ch in "0123456789" if i < 8 else ch in _ALPHABET
        if not ok and ch not in bad:
            bad.append(ch)
    return bad


def is_valid_uscc(code: str) -> bool:
    return validate_uscc(code) is None


def division_code(code: str) -> str:
    """Characters 3-8: the registering authority's administrative division code ('' if too short)."""
    number = normalize_uscc(code)
    return number[2:8] if len(number) >= 8 else ""


def is_tianjin(code: str) -> bool:
    """True when the division code (characters 3-8) is a Tianjin one (begins with 12)."""
    division = division_code(code)
    return (
        division.isascii() and division.isdigit() and division.startswith(TIANJIN_DIVISION_PREFIX)
    )


def _org_check_char(body: str) -> str:
    total = sum(_ALPHABET_VALUE[ch] * w for ch, w in zip(body, _ORG_WEIGHTS, strict=True))
    value = 11 - total % 11
    if value == 10:
        return "X"
    if value == 11:
        return "0"
    return str(value)


# GB 11714 values: digits as themselves, letters A=10 ... Z=35.
_ALPHABET_VALUE = {ch: int(ch, 36) for ch in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"}


def make_uscc(rng: random.Random, division: str = "120116", prefix: str = "91") -> str:
    """A valid synthetic code: `prefix` (authority + entity type, 91 = enterprise), `division`,
    an organisation code with a correct GB 11714 check character, and the USCC check character."""
    if len(prefix) != 2 or len(division) != 6 or not division.isdigit():
        raise ValueError("prefix must have 2 characters and division 6 digits")
    while True:
        body = "".join(rng.choice("0123456789") for _ in range(8))
        org = body + _org_check_char(body)
        if all(ch in _ALPHABET for ch in org):
            break
    first17 = prefix + division + org
    return first17 + _stdnum_uscc.calc_check_digit(first17)
