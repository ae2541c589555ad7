"""Contact widgets: e-mail, phone (mainland mobile or international E.164) and URL (http/https)."""
from __future__ import annotations

import random
import re
from urllib.parse import urlsplit

import sqlalchemy as sa

from ..widget import coerce_from, shared
from .text import TextWidget
from ._common import config_schema

_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
                    r"[A-Za-z]{2,63}$")
_CN_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_PHONE_JUNK = re.compile(r"[\s().\-]")
#: fast paths: strings that ``to_python`` returns unchanged
_EMAIL_EXACT = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}+@(?:[a-z0-9][a-z0-9-]{0,62}+(?<!-)\.)++[a-z]{2,63}")
_CN_EXACT = re.compile(r"1[3-9]\d{9}")
_E164_EXACT = re.compile(r"\+[1-9]\d{6,14}")
_URL_EXACT = re.compile(r"https?://[A-Za-z0-9.-]++(?::\d{1,5}+)?+(?:[/?#][!-~]*+)?+")


class EmailWidget(TextWidget):
    """An e-mail address; the domain is lower-cased."""

    type = "email"
    label = {"zh-CN": "邮箱", "en": "E-mail"}
    icon = "mail"
    group = "contact"
    value_kind = "text"
    macro = "email"
    config_schema = config_schema({}, examples=[{}], description="An e-mail address.")

    def sa_type(self):
        return sa.String(254)

    def to_python(self, raw):
        value = super().to_python(raw)
        if not value:
            return value
        local, at, domain = value.rpartition("@")
        if not at or len(value) > 254 or len(local) > 64 or not _EMAIL.match(value):
            raise self.error("form.invalid_email", "enter an e-mail address such as name@example.com / "
                                                   "请输入有效的邮箱地址")
        return f"{local}@{domain.lower()}"

    def validate(self, value):
        pass

    def compile_clean(self):
        if not self._stock(EmailWidget):
            return self.clean
        return _exact_fast(self.clean, _EMAIL_EXACT.fullmatch, 254)

    def compile_coerce(self):
        if not self._stock(EmailWidget, "compile_clean"):
            return super().compile_coerce()
        slow, exact, pattern = coerce_from(self.clean), _EMAIL_EXACT.fullmatch, _EMAIL.match
        invalid = self.shared_error("form.invalid_email", "enter an e-mail address such as name@example.com / "
                                                   "请输入有效的邮箱地址")

        def coerce(raw):
            if type(raw) is not str:
                return slow(raw)
            if len(raw) <= 254 and exact(raw):
                return raw
            value = raw.strip()
            if not value:
                return value
            local, at, domain = value.rpartition("@")
            if not at or len(value) > 254 or len(local) > 64 or not pattern(value):
                return invalid
            return f"{local}@{domain.lower()}"
        return coerce

    def inline_accept(self):
        if not self._stock(EmailWidget, "compile_clean", "compile_coerce"):
            return None
        return ("type({raw}) is str and len({raw}) <= {most} and {match}({raw})", "{raw}",
                {"most": 254, "match": _EMAIL_EXACT.fullmatch})

    def json_schema(self):
        # what ``to_python`` takes: _EMAIL with a local part of at most 64 characters
        return {"type": ["string", "null"], "maxLength": 254,
                "pattern": r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
                           r"[A-Za-z]{2,63}$"}

    def random_value(self, rng: random.Random):
        name = "".join(rng.choice("abcdefghij") for _ in range(rng.randint(3, 8)))
        return f"{name}.{rng.randint(1, 99)}@example.com"


class PhoneWidget(TextWidget):
    """A phone number. ``region``: ``cn`` mainland mobile (1[3-9] and 9 digits), ``intl`` E.164
    (``+8613812345678``), ``any`` either. Spaces, dashes and a ``+86`` prefix on mainland numbers are removed."""

    type = "phone"
    label = {"zh-CN": "手机号", "en": "Phone"}
    icon = "phone"
    group = "contact"
    macro = "phone"
    config_schema = config_schema({
        "region": {"enum": ["cn", "intl", "any"], "default": "cn",
                   "description": "cn: mainland mobile; intl: international E.164 (+country code); any: either."},
    }, examples=[{"region": "cn"}, {"region": "intl"}], description="A phone number.")

    def sa_type(self):
        return sa.String(20)

    def to_python(self, raw):
        if isinstance(raw, int) and not isinstance(raw, bool):
            raw = str(raw)
        value = super().to_python(raw)
        if not value:
            return value
        number = self._number(value)
        if number is None:
            raise self._invalid()
        return number

    def _number(self, value: str) -> str | None:
        """The stored form of a stripped, non-empty ``value``; None when it is no number of ``region``."""
        region = self.config.get("region", "cn")
        if value.isascii() and value.isdigit() and not value.startswith("00"):
            # nothing to remove and no country code: a mainland mobile number or no number at all
            return value if region != "intl" and _CN_MOBILE.match(value) else None
        digits = _PHONE_JUNK.sub("", value)
        if digits.startswith("00"):
            digits = "+" + digits[2:]
        if region in ("cn", "any"):
            local = digits[3:] if digits.startswith("+86") else digits
            if _CN_MOBILE.match(local):
                return local if region == "cn" else f"+86{local}" if digits.startswith("+") else local
            if region == "cn":
                return None
        return digits if _E164.match(digits) else None

    def _invalid(self):
        region = self.config.get("region", "cn")
        if region == "cn":
            return self.error("form.invalid_phone", "enter a mainland mobile number such as 13812345678 / "
                                                    "请输入有效的手机号码", region=region)
        return self.error("form.invalid_phone", "enter an international number such as +8613812345678 / "
                                                "请输入带国家代码的电话号码，如 +8613812345678", region=region)

    def validate(self, value):
        pass

    def compile_clean(self):
        if not self._stock(PhoneWidget):
            return self.clean
        region = self.config.get("region", "cn")
        return _exact_fast(self.clean, (_E164_EXACT if region == "intl" else _CN_EXACT).fullmatch, 20)

    def compile_coerce(self):
        if not self._stock(PhoneWidget, "compile_clean"):
            return super().compile_coerce()
        region = self.config.get("region", "cn")
        return _exact_coerce(self, (_E164_EXACT if region == "intl" else _CN_EXACT).fullmatch, 20, self._number)

    def inline_accept(self):
        if not self._stock(PhoneWidget, "compile_clean", "compile_coerce"):
            return None
        if self.config.get("region", "cn") == "intl":
            return ("type({raw}) is str and len({raw}) <= {most} and {match}({raw})", "{raw}",
                    {"most": 20, "match": _E164_EXACT.fullmatch})
        # a mainland mobile number as the fast path's pattern 1[3-9]\d{9} reads it, in ASCII digits
        return ('type({raw}) is str and len({raw}) == 11 and {raw}.isdigit() and {raw}.isascii()'
                ' and {raw}[0] == "1" and {raw}[1] in {second}', "{raw}", {"second": frozenset("3456789")})

    def json_schema(self):
        region = self.config.get("region", "cn")
        pattern = {"cn": r"^(\+86)?1[3-9]\d{9}$", "intl": r"^\+[1-9]\d{6,14}$"}.get(
            region, r"^((\+86)?1[3-9]\d{9}|\+[1-9]\d{6,14})$")
        return {"type": ["string", "null"], "pattern": pattern}

    def random_value(self, rng: random.Random):
        mobile = f"1{rng.choice('3456789')}{rng.randint(0, 10 ** 9 - 1):09d}"
        return f"+86{mobile}" if self.config.get("region") == "intl" else mobile


class UrlWidget(TextWidget):
    """A web address; only http and https, with a host."""

    type = "url"
    label = {"zh-CN": "网址", "en": "URL"}
    icon = "globe"
    group = "contact"
    macro = "url"
    config_schema = config_schema({}, examples=[{}], description="An http or https URL.")
    MAX = 2048

    def sa_type(self):
        return sa.String(self.MAX)

    def to_python(self, raw):
        value = super().to_python(raw)
        if not value:
            return value
        if self._address(value) is None:
            raise self._invalid()
        return value

    def _address(self, value: str) -> str | None:
        """``value`` (stripped, non-empty) when it is an http(s) address with a host, else None."""
        if value[:4].lower() != "http" and value[:1] >= " ":  # a control character first: urlsplit drops it
            return None
        try:
            parts = urlsplit(value)
        except ValueError:
            return None
        if (parts.scheme.lower() not in ("http", "https") or not parts.hostname
                or len(value) > self.MAX or any(c.isspace() or ord(c) < 32 for c in value)):
            return None
        return value

    def _invalid(self):
        return self.error("form.invalid_url", "enter a web address starting with http:// or https:// / "
                                              "请输入以 http:// 或 https:// 开头的网址")

    def validate(self, value):
        pass

    def compile_clean(self):
        if not self._stock(UrlWidget):
            return self.clean
        return _exact_fast(self.clean, _URL_EXACT.fullmatch, self.MAX)

    def compile_coerce(self):
        if not self._stock(UrlWidget, "compile_clean"):
            return super().compile_coerce()
        return _exact_coerce(self, _URL_EXACT.fullmatch, self.MAX, self._address)

    def inline_accept(self):
        if not self._stock(UrlWidget, "compile_clean", "compile_coerce"):
            return None
        return ("type({raw}) is str and len({raw}) <= {most} and {match}({raw})", "{raw}",
                {"most": self.MAX, "match": _URL_EXACT.fullmatch})

    def json_schema(self):
        return {"type": ["string", "null"], "maxLength": self.MAX, "pattern": r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/]+"}

    def random_value(self, rng: random.Random):
        return f"https://example.com/{rng.choice(['a', 'b', '知识库'])}/{rng.randint(1, 9999)}"


def _exact_fast(slow, fullmatch, max_len: int):
    """A clean that returns a string unchanged when ``fullmatch`` accepts it, else defers to ``slow``."""
    def fast(raw):
        if type(raw) is str and len(raw) <= max_len and fullmatch(raw):
            return raw
        return slow(raw)
    return fast


def _exact_coerce(widget: TextWidget, fullmatch, max_len: int, parse):
    """``compile_coerce`` of a text-based widget: a string ``fullmatch`` accepts comes back unchanged;
    other strings go through ``parse(stripped)`` (None means the widget's ``_invalid()`` error)."""
    slow = coerce_from(widget.clean)
    invalid = shared(widget._invalid())

    def coerce(raw):
        if type(raw) is not str:
            return slow(raw)
        if len(raw) <= max_len and fullmatch(raw):
            return raw
        value = raw.strip()
        if not value:
            return value
        value = parse(value)
        return invalid if value is None else value
    return coerce
