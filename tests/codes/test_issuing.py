from backend.codes.codegen import (
    ALPHABET,
    CODE_LENGTH,
    check_character,
    generate_code,
    generate_codes,
    is_well_formed,
    normalise,
)
from backend.codes.gs1 import gs1_check_digit, is_valid_gtin14, to_gtin14


def test_codes_have_sixteen_random_characters_and_a_check_character():
    code = generate_code()
    assert len(code) == CODE_LENGTH == 17
    assert set(code) <= set(ALPHABET)
    assert is_well_formed(code)
    assert check_character(code[:-1]) == code[-1]


def test_many_codes_are_distinct():
    codes = generate_codes(5000)
    assert len(set(codes)) == 5000
    # Every position takes many values: the codes are not sequential or patterned.
    for position in range(16):
        assert len({c[position] for c in codes}) == 32


def test_every_single_character_typo_is_caught():
    for code in generate_codes(20):
        for i in range(CODE_LENGTH):
            for ch in ALPHABET:
                if ch != code[i]:
                    typo = code[:i] + ch + code[i + 1 :]
                    assert not is_well_formed(typo), (code, typo)


def test_every_swap_of_neighbours_is_caught():
    for code in generate_codes(50):
        for i in range(CODE_LENGTH - 1):
            if code[i] != code[i + 1]:
                swapped = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
                assert not is_well_formed(swapped), (code, swapped)


def test_normalise_reads_what_people_type():
    code = generate_code()
    typed = "-".join([code[:4], code[4:8], code[8:12], code[12:]]).lower()
    assert normalise(typed) == code
    assert normalise(" o1l i ") == "0111"


def test_malformed_codes_are_refused():
    code = generate_code()
    assert not is_well_formed(code[:-1])
    assert not is_well_formed(code + "0")
    assert not is_well_formed(code[:-1] + "U")  # U is not in the alphabet
    assert not is_well_formed("")


def test_gs1_check_digits():
    # GS1's own example GTIN and a well-known retail barcode.
    assert is_valid_gtin14("09506000134352")
    assert gs1_check_digit("400638133393") == "1"
    assert is_valid_gtin14(to_gtin14("4006381333931"))
    assert not is_valid_gtin14("09506000134353")
    assert not is_valid_gtin14("0950600013435")
    assert not is_valid_gtin14("0950600013435X")
