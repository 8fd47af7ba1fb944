import random

import pytest

from domain.uscc import is_tianjin, make_uscc, normalize_uscc, validate_uscc

# A real, published code (stdnum's doctest) registered in Beijing (division 110000).
BEIJING = "91110000600037341L"


def test_generated_codes_are_valid_and_tianjin():
    rng = random.Random(2025)
    codes = {make_uscc(rng) for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) == 18
        assert validate_uscc(code) is None
        assert is_tianjin(code)
        assert code[2:8] == "120116"


def test_generated_codes_follow_division_and_prefix():
    rng = random.Random(1)
    code = make_uscc(rng, division="120104", prefix="12")
    assert code.startswith("12120104")
    assert validate_uscc(code) is None
    assert not is_tianjin(make_uscc(rng, division="110105"))


def test_same_seed_same_code():
    assert make_uscc(random.Random(5)) == make_uscc(random.Random(5))


def test_spaces_full_width_and_lower_case_are_tolerated():
    code = make_uscc(random.Random(3))
    messy = (
        " "
        + code[:6]
        + " "
        + code[6:12].translate(str.maketrans("0123456789", "０１２３４５６７８９"))
        + code[12:].lower()
        + " "
    )
    assert normalize_uscc(messy) == code
    assert validate_uscc(messy) is None


def test_empty_code_says_what_to_fill():
    message = validate_uscc("  ")
    assert message is not None and "未填写" in message and "18位" in message


def test_wrong_length_names_the_length():
    message = validate_uscc("9112011660000373")
    assert message is not None
    assert "16位" in message and "应为18位" in message


def test_wrong_check_character_is_explained():
    code = make_uscc(random.Random(9))
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    message = validate_uscc(wrong)
    assert message is not None
    assert "校验位" in message and "营业执照" in message


@pytest.mark.parametrize("bad", ["O", "I"])
def test_forbidden_letters_are_named(bad):
    code = make_uscc(random.Random(4))
    wrong = code[:10] + bad + code[11:]
    message = validate_uscc(wrong)
    assert message is not None
    assert f"“{bad}”" in message and "不含I、O、Z、S、V" in message


def test_real_beijing_code_is_valid_but_not_tianjin():
    assert validate_uscc(BEIJING) is None
    assert not is_tianjin(BEIJING)


def test_is_tianjin_on_short_or_garbage_input():
    assert not is_tianjin("")
    assert not is_tianjin("9112")
    assert is_tianjin("91120116XXXXXXXXXX")  # division only; validity is a separate check
