"""Numeric widgets: number, money (Decimal), percentage and rating."""
from __future__ import annotations

import random
import re
from decimal import Decimal

import sqlalchemy as sa

from ..widget import Widget, coerce_from
from ._common import config_schema, quantize, to_decimal

#: a finite number has a digit (``\d`` is every Unicode decimal digit, as ``Decimal`` reads them)
_DIGIT = re.compile(r"\d")
#: numbers as plain text (a spreadsheet's cells, an HTML form's inputs) that the compiled coerce
#: reads without ``Decimal``: a whole number, or a decimal with a fraction
_PLAIN_INT = re.compile(r"-?[0-9]{1,15}")
_PLAIN_DECIMAL = re.compile(r"-?[0-9]{1,15}\.[0-9]{1,15}")

_BOUNDS = {
    "min": {"type": "number", "description": "Smallest value accepted."},
    "max": {"type": "number", "description": "Largest value accepted."},
}


class NumberWidget(Widget):
    """A number. ``decimals`` rounds half away from zero; ``integer`` refuses fractions."""

    type = "number"
    label = {"zh-CN": "数字", "en": "Number"}
    icon = "hash"
    group = "basic"
    value_kind = "number"
    macro = "number"
    config_schema = config_schema({
        **_BOUNDS,
        "decimals": {"type": "integer", "minimum": 0, "maximum": 10,
                     "description": "Decimal places kept; values are rounded half away from zero."},
        "integer": {"type": "boolean", "default": False,
                    "description": "Whole numbers only (stored in an integer column)."},
        "unit": {"type": "string", "maxLength": 20, "description": "Unit shown after the input, e.g. 件."},
        "step": {"type": "number", "exclusiveMinimum": 0, "description": "Step of the input's arrows."},
    }, examples=[{"min": 0, "max": 10000, "decimals": 2}], description="A number.")

    _invalid = ("form.invalid_number", "enter a number / 请输入数字")

    def sa_type(self):
        return sa.Integer() if self.config.get("decimals", 0) == 0 and self.config.get("integer") else sa.Float()

    def to_python(self, raw):
        if raw is None or raw == "":
            return None
        if isinstance(raw, int) and not isinstance(raw, bool):
            value = raw
        elif isinstance(raw, float) and raw == raw and raw not in (float("inf"), float("-inf")):
            value = raw
        else:
            d = to_decimal(raw)
            if d is None:
                raise self.error(*self._invalid)
            value = int(d) if d == d.to_integral_value() else float(d)
        if abs(value) >= 10 ** 15:
            raise self.error("form.out_of_range", "the number is too large / 数值过大")
        if isinstance(value, float):
            if self.config.get("integer"):
                if not value.is_integer():
                    raise self.error("form.not_integer", "enter a whole number / 请输入整数")
                return int(value)
            places = self.config.get("decimals")
            if places is not None:
                value = float(quantize(Decimal(repr(value)), places))
                if places == 0:
                    return int(value)
        return value

    def validate(self, value):
        lo, hi = self.config.get("min"), self.config.get("max")
        if lo is not None and value < lo:
            raise self.error("form.too_small", f"at least {lo} / 不能小于 {lo}", min=lo)
        if hi is not None and value > hi:
            raise self.error("form.too_large", f"at most {hi} / 不能大于 {hi}", max=hi)

    def compile_clean(self):
        if not self._stock(NumberWidget):
            return self.clean
        slow = self.clean
        limit = 10 ** 15 - 1
        lo = max(self.config["min"], -limit) if self.config.get("min") is not None else -limit
        hi = min(self.config["max"], limit) if self.config.get("max") is not None else limit
        floats = not self.config.get("integer") and self.config.get("decimals") is None

        def fast(raw):
            t = type(raw)
            if (t is int or floats and t is float) and lo <= raw <= hi:
                return raw
            return slow(raw)
        return fast

    def compile_coerce(self):
        if not self._stock(NumberWidget, "compile_clean"):
            return super().compile_coerce()
        slow = coerce_from(self.clean)
        limit = 10 ** 15
        lo, hi = self.config.get("min"), self.config.get("max")
        floor = lo if lo is not None else -limit
        ceiling = hi if hi is not None else limit
        too_small = self.shared_error("form.too_small", f"at least {lo} / 不能小于 {lo}", min=lo)
        too_large = self.shared_error("form.too_large", f"at most {hi} / 不能大于 {hi}", max=hi)
        out_of_range = self.shared_error("form.out_of_range", "the number is too large / 数值过大")
        floats = not self.config.get("integer") and self.config.get("decimals") is None

        def coerce(raw):
            t = type(raw)
            if t is str:   # plain text numbers as ``to_python`` reads them: ints, non-whole floats
                if _PLAIN_INT.fullmatch(raw):
                    raw, t = int(raw), int
                elif floats and _PLAIN_DECIMAL.fullmatch(raw):
                    number = float(raw)
                    if not number.is_integer():   # "12.0" is the int 12 there
                        raw, t = number, float
            if t is int or floats and t is float and raw == raw:
                if -limit < raw < limit:
                    if raw < floor:
                        return too_small
                    if raw > ceiling:
                        return too_large
                    return raw
                if t is int:
                    return out_of_range
            return slow(raw)
        return coerce

    def inline_accept(self):
        if not self._stock(NumberWidget, "compile_clean", "compile_coerce"):
            return None
        limit = 10 ** 15
        lo, hi = self.config.get("min"), self.config.get("max")
        floats = not self.config.get("integer") and self.config.get("decimals") is None
        return ("type({raw}) in {types} and {neg} < {raw} < {pos} and {lo} <= {raw} <= {hi}", "{raw}",
                {"types": (int, float) if floats else (int,), "neg": -limit, "pos": limit,
                 "lo": lo if lo is not None else -limit, "hi": hi if hi is not None else limit})

    def json_schema(self):
        # |value| < 10**15 (``to_python``) holds whatever min/max say
        out = {"type": ["integer", "null"] if self.config.get("integer") else ["number", "null"],
               "exclusiveMinimum": -10 ** 15, "exclusiveMaximum": 10 ** 15}
        if self.config.get("min") is not None:
            out["minimum"] = self.config["min"]
        if self.config.get("max") is not None:
            out["maximum"] = self.config["max"]
        return out

    def random_value(self, rng: random.Random):
        lo = self.config.get("min", 0)
        hi = self.config.get("max", lo + 1000)
        if self.config.get("integer") or self.config.get("decimals") == 0:
            import math
            return rng.randint(math.ceil(lo), math.floor(hi))
        value = rng.uniform(lo, hi)
        return self.to_python(round(value, self.config.get("decimals", 3)))


class MoneyWidget(Widget):
    """An amount of money: a ``Decimal``, never a float, in a NUMERIC column.

    At most 15 significant digits, so the value is exact on PostgreSQL and
    on SQLite (whose NUMERIC keeps 15 digits).
    """

    type = "money"
    label = {"zh-CN": "金额", "en": "Money"}
    icon = "currency"
    group = "basic"
    value_kind = "money"
    macro = "money"
    PRECISION = 15
    config_schema = config_schema({
        **_BOUNDS,
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$", "default": "CNY",
                     "description": "ISO 4217 currency code, e.g. CNY, USD, EUR."},
        "decimals": {"type": "integer", "minimum": 0, "maximum": 4, "default": 2,
                     "description": "Decimal places (rounded half up)."},
    }, examples=[{"currency": "CNY", "decimals": 2, "min": 0}], description="An amount of money.")
    SYMBOLS = "¥￥$€£"

    @property
    def decimals(self) -> int:
        return int(self.config.get("decimals", 2))

    def sa_type(self):
        return sa.Numeric(self.PRECISION, self.decimals, asdecimal=True)

    def to_python(self, raw):
        if raw is None or raw == "":
            return None
        if isinstance(raw, str):
            raw = raw.strip().lstrip(self.SYMBOLS)
            code = self.config.get("currency", "CNY")
            if raw.upper().startswith(code) or raw.upper().endswith(code):
                raw = raw.upper().replace(code, "")
        d = to_decimal(raw)
        if d is None:
            raise self.error("form.invalid_money", "enter an amount / 请输入金额")
        if d.adjusted() >= self.PRECISION - self.decimals or (d := quantize(d, self.decimals)).adjusted() \
                >= self.PRECISION - self.decimals:
            raise self.error("form.out_of_range", "the amount is too large / 金额过大",
                             digits=self.PRECISION - self.decimals)
        return d

    def validate(self, value):
        lo, hi = self.config.get("min"), self.config.get("max")
        if lo is not None and value < to_decimal(lo):
            raise self.error("form.too_small", f"at least {lo} / 不能小于 {lo}", min=lo)
        if hi is not None and value > to_decimal(hi):
            raise self.error("form.too_large", f"at most {hi} / 不能大于 {hi}", max=hi)

    def compile_clean(self):
        if not self._stock(MoneyWidget):
            return self.clean
        from decimal import ROUND_HALF_UP
        slow = self.clean
        q = Decimal(1).scaleb(-self.decimals)
        limit = self.PRECISION - self.decimals
        lo = to_decimal(self.config["min"]) if self.config.get("min") is not None else None
        hi = to_decimal(self.config["max"]) if self.config.get("max") is not None else None

        def fast(raw):
            t = type(raw)
            if t is float or t is int:
                d = Decimal(repr(raw)) if t is float else Decimal(raw)
                if d.is_finite() and d.adjusted() < limit:
                    d = d.quantize(q, rounding=ROUND_HALF_UP)
                    if d.adjusted() < limit and (lo is None or d >= lo) and (hi is None or d <= hi):
                        return d
            return slow(raw)
        return fast

    def compile_coerce(self):
        if not self._stock(MoneyWidget, "compile_clean"):
            return super().compile_coerce()
        from decimal import ROUND_HALF_UP
        slow = coerce_from(self.clean)
        q = Decimal(1).scaleb(-self.decimals)
        limit = self.PRECISION - self.decimals
        lo, hi = self.config.get("min"), self.config.get("max")
        floor = to_decimal(lo) if lo is not None else None
        ceiling = to_decimal(hi) if hi is not None else None
        too_small = self.shared_error("form.too_small", f"at least {lo} / 不能小于 {lo}", min=lo)
        too_large = self.shared_error("form.too_large", f"at most {hi} / 不能大于 {hi}", max=hi)
        invalid = self.shared_error("form.invalid_money", "enter an amount / 请输入金额")
        has_digit = _DIGIT.search

        def coerce(raw):
            t = type(raw)
            if t is float or t is int:
                d = Decimal(repr(raw)) if t is float else Decimal(raw)
                if d.is_finite() and d.adjusted() < limit:
                    d = d.quantize(q, ROUND_HALF_UP)
                    if d.adjusted() < limit:
                        if floor is not None and d < floor:
                            return too_small
                        if ceiling is not None and d > ceiling:
                            return too_large
                        return d
            elif t is str and raw and not has_digit(raw):
                return invalid
            return slow(raw)
        return coerce

    def inline_accept(self):
        if not self._stock(MoneyWidget, "compile_clean", "compile_coerce"):
            return None
        from decimal import ROUND_HALF_UP
        limit = self.PRECISION - self.decimals
        lo, hi = self.config.get("min"), self.config.get("max")
        # a float below 10**limit has a finite repr of fewer digits; rounding may still carry it over
        test = ("type({raw}) is float and {neg} < {raw} < {pos}"
                " and ({tmp} := {make}(repr({raw})).quantize({q}, {up})).adjusted() < {limit}")
        constants = {"neg": -10 ** limit, "pos": 10 ** limit, "make": Decimal, "q": Decimal(1).scaleb(-self.decimals),
                     "up": ROUND_HALF_UP, "limit": limit}
        if lo is not None:
            test += " and {tmp} >= {floor}"
            constants["floor"] = to_decimal(lo)
        if hi is not None:
            test += " and {tmp} <= {ceiling}"
            constants["ceiling"] = to_decimal(hi)
        return test, "{tmp}", constants

    def export_value(self, value):
        return None if value is None else str(value)

    def json_schema(self):
        # at most PRECISION - decimals whole digits (``to_python``); more decimals could round up past them
        whole, d = self.PRECISION - self.decimals, self.decimals
        out = {"type": ["number", "string", "null"],
               "pattern": rf"^-?\d{{1,{whole}}}" + (rf"(\.\d{{1,{d}}})?$" if d else "$"),
               "exclusiveMinimum": -(10 ** whole - 1), "exclusiveMaximum": 10 ** whole - 1}
        if self.config.get("min") is not None:
            out["minimum"] = self.config["min"]
        if self.config.get("max") is not None:
            out["maximum"] = self.config["max"]
        return out

    def random_value(self, rng: random.Random):
        lo = int(self.config.get("min", 0))
        hi = int(self.config.get("max", lo + 100000))
        cents = rng.randint(lo * 10 ** self.decimals, hi * 10 ** self.decimals)
        return Decimal(cents).scaleb(-self.decimals)


class PercentWidget(NumberWidget):
    """A percentage: ``12.5`` means 12.5 %; ``"12.5%"`` is accepted."""

    type = "percent"
    label = {"zh-CN": "百分比", "en": "Percentage"}
    icon = "percent"
    value_kind = "number"
    macro = "percent"
    config_schema = config_schema({
        **_BOUNDS,
        "decimals": {"type": "integer", "minimum": 0, "maximum": 6, "default": 2,
                     "description": "Decimal places of the percentage."},
    }, examples=[{"min": 0, "max": 100, "decimals": 1}], description="A percentage (12.5 means 12.5 %).")
    _invalid = ("form.invalid_percent", "enter a percentage / 请输入百分比")

    def __init__(self, config=None):
        super().__init__(config)
        self.config.setdefault("decimals", 2)

    def sa_type(self):
        return sa.Float()

    def to_python(self, raw):
        if isinstance(raw, str):
            raw = raw.strip().rstrip("%％").strip()
        value = super().to_python(raw)
        return float(value) if value is not None else None

    def random_value(self, rng: random.Random):
        lo, hi = self.config.get("min", 0), self.config.get("max", 100)
        return self.to_python(round(rng.uniform(lo, hi), self.config["decimals"]))


class RatingWidget(Widget):
    """A star rating, a whole number from 1 to ``max``."""

    type = "rating"
    label = {"zh-CN": "评分", "en": "Rating"}
    icon = "star"
    group = "choice"
    value_kind = "number"
    macro = "rating"
    config_schema = config_schema({
        "max": {"type": "integer", "minimum": 1, "maximum": 10, "default": 5, "description": "Highest rating."},
    }, examples=[{"max": 5}], description="A rating from 1 to max.")

    @property
    def max(self) -> int:
        return int(self.config.get("max", 5))

    def sa_type(self):
        return sa.SmallInteger()

    def to_python(self, raw):
        if raw is None or raw == "" or raw == 0 or raw == "0":
            return None
        d = to_decimal(raw)
        if d is None or d != d.to_integral_value():
            raise self.error("form.invalid_rating", f"choose 1 to {self.max} / 请选择 1 到 {self.max}", max=self.max)
        return int(d)

    def validate(self, value):
        if not 1 <= value <= self.max:
            raise self.error("form.invalid_rating", f"choose 1 to {self.max} / 请选择 1 到 {self.max}", max=self.max)

    def compile_clean(self):
        if not self._stock(RatingWidget):
            return self.clean
        slow, top = self.clean, self.max

        def fast(raw):
            if type(raw) is int and 1 <= raw <= top:
                return raw
            return slow(raw)
        return fast

    def compile_coerce(self):
        if not self._stock(RatingWidget, "compile_clean"):
            return super().compile_coerce()
        slow, top = coerce_from(self.clean), self.max
        invalid = self.shared_error("form.invalid_rating", f"choose 1 to {top} / 请选择 1 到 {top}", max=top)

        def coerce(raw):
            if type(raw) is int:
                if 1 <= raw <= top:
                    return raw
                return None if raw == 0 else invalid
            return slow(raw)
        return coerce

    def inline_accept(self):
        if not self._stock(RatingWidget, "compile_clean", "compile_coerce"):
            return None
        return "type({raw}) is int and 1 <= {raw} <= {top}", "{raw}", {"top": self.max}

    def json_schema(self):
        return {"type": ["integer", "null"], "minimum": 1, "maximum": self.max}

    def random_value(self, rng: random.Random):
        return rng.randint(1, self.max)
