"""Validation and normalisation of identifiers: credit codes, phones, e-mails, websites."""

from __future__ import annotations

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.utils.translation import gettext as _

from rapport.core import normalize

# GB 32100-2015: 18 characters from this alphabet; the last is a check character.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_char(first17: str) -> str:
    total = sum(
        USCC_ALPHABET.index(char) * weight
        for char, weight in zip(first17, USCC_WEIGHTS, strict=True)
    )
    return USCC_ALPHABET[(31 - total % 31) % 31]


def normalize_credit_code(value: str) -> str:
    """Upper-cased, trimmed unified social credit code, or a ValidationError saying what is wrong."""
    code = normalize.identifier(value).upper().replace(" ", "")
    if not code:
        return ""
    if len(code) != 18:
        raise ValidationError(
            _("A unified social credit code has 18 characters; this one has %(n)d.")
            % {"n": len(code)},
            code="credit_code_length",
        )
    bad = sorted({char for char in code if char not in USCC_ALPHABET})
    if bad:
        raise ValidationError(
            _("The unified social credit code contains characters it cannot have: %(chars)s.")
            % {"chars": " ".join(bad)},
            code="credit_code_characters",
        )
    if uscc_check_char(code[:17]) != code[17]:
        raise ValidationError(
            _(
                "The check digit of this unified social credit code is wrong; please check the code."
            ),
            code="credit_code_check_digit",
        )
    return code


def normalize_phone(value: str, region: str = "CN") -> str:
    """E.164 form (+8613812345678), or a ValidationError if the number cannot be understood."""
    text = normalize.identifier(value)
    if not text:
        return ""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as error:
        raise ValidationError(
            _("“%(value)s” is not a phone number we can understand.") % {"value": text},
            code="phone_invalid",
        ) from error
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(
            _("“%(value)s” is not a valid phone number.") % {"value": text}, code="phone_invalid"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(value: str) -> str:
    text = normalize.identifier(value)
    if not text:
        return ""
    try:
        validate_email(text)
    except ValidationError as error:
        raise ValidationError(
            _("“%(value)s” is not a valid e-mail address.") % {"value": text}, code="email_invalid"
        ) from error
    local, _at, domain = text.rpartition("@")
    return f"{local}@{domain.lower()}"


def normalize_website(value: str) -> str:
    text = normalize.identifier(value)
    if not text:
        return ""
    if "://" not in text:
        text = "https://" + text
    try:
        URLValidator(schemes=["http", "https"])(text)
    except ValidationError as error:
        raise ValidationError(
            _("“%(value)s” is not a valid web address.") % {"value": value}, code="website_invalid"
        ) from error
    return text


# GB 11643-1999: 17 digits (region, birth date, sequence) and a check character.
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


def id_check_char(first17: str) -> str:
    return ID_CHECK[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def normalize_id_number(value: str) -> str:
    """An 18-character resident identity card number, upper-cased, with its check character
    and birth date verified; or a ValidationError saying what is wrong."""
    import datetime

    text = normalize.identifier(value).upper().replace(" ", "")
    if not text:
        return ""
    if len(text) != 18 or not text[:17].isdigit() or not (text[17].isdigit() or text[17] == "X"):
        raise ValidationError(
            _("An ID number has 17 digits and a check digit or X (18 characters)."),
            code="id_number_format",
        )
    try:
        born = datetime.date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        born = None
    if born is None or not datetime.date(1900, 1, 1) <= born <= datetime.date.today():
        raise ValidationError(
            _("The birth date in this ID number is not a real date."), code="id_number_birth"
        )
    if id_check_char(text[:17]) != text[17]:
        raise ValidationError(
            _("The last character of this ID number does not match (check digit)."),
            code="id_number_check_digit",
        )
    return text


def identifier_blind(kind: str, value: str) -> str:
    """The blind index of a normalised phone, e-mail or ID number (e-mails in lower case)."""
    from rapport.core.blind import blind_index

    return blind_index(value.lower() if kind == "email" else value, purpose=kind)
