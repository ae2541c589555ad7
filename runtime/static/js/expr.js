// The browser twin of engines/expr: evaluates the JSON syntax tree that
// Expression.tree exports, with the value rules of engines/expr/values.py and the
// function library of engines/expr/functions.py. No parser lives here: the server
// parses and checks every expression; this file only runs the tree.
//
//   import { evaluate } from "/static/js/expr.js";
//   evaluate(tree, {紧急程度: "高"}, {now: "2026-11-23T08:00:00Z", tz: "Asia/Shanghai", user: {...}});
//
// tests/engines/expr/corpus.json runs here (in Chromium) and in Python with the
// same results. Errors are ExprError objects with the same `code` as in Python.

export const MAX_STRING = 100000;
export const MAX_COLLECTION = 10000;
export const MAX_SAFE_INT = 2 ** 53;
export const MAX_EXPONENT = 1000;

const US_PER_DAY = 86400e6;
const hasOwn = Object.prototype.hasOwnProperty;

export class ExprError extends Error {
  constructor(code, message, position = null) {
    super(message);
    this.name = "ExprError";
    this.code = code;
    this.position = position;
  }
}

const typeError = (msg) => new ExprError("expr.type", msg);
const limitError = (msg) => new ExprError("expr.limit", msg);
const evalError = (msg, code = "expr.eval") => new ExprError(code, msg);

// -- dates and datetimes ------------------------------------------------------------
// A date is a count of days since 1970-01-01; a datetime a count of microseconds since
// 1970-01-01T00:00Z (exact in a double for the years 1–9999). Datetimes are always UTC.

function daysFromCivil(y, m, d) {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(z) {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp + (mp < 10 ? 3 : -9);
  return [era * 400 + yoe + (m <= 2 ? 1 : 0), m, d];
}

const isLeap = (y) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const monthDays = (y, m) => [31, isLeap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1];
const MIN_DAY = daysFromCivil(1, 1, 1);
const MAX_DAY = daysFromCivil(9999, 12, 31);
const pad = (n, w = 2) => String(n).padStart(w, "0");

export class ExprDate {
  /** kind "date" (value = days since 1970-01-01) or "datetime" (value = µs since the epoch, UTC) */
  constructor(kind, value) {
    this.kind = kind;
    this.value = value;
  }

  static date(y, m, d) {
    return new ExprDate("date", daysFromCivil(y, m, d));
  }

  get isDate() {
    return this.kind === "date";
  }

  /** microseconds since the epoch; a date is its midnight UTC */
  get micros() {
    return this.kind === "date" ? this.value * US_PER_DAY : this.value;
  }

  toJSON() {
    if (this.kind === "date") {
      const [y, m, d] = civilFromDays(this.value);
      return `${pad(y, 4)}-${pad(m)}-${pad(d)}`;
    }
    const day = Math.floor(this.value / US_PER_DAY);
    let rest = this.value - day * US_PER_DAY;
    const [y, m, d] = civilFromDays(day);
    const hh = Math.floor(rest / 3600e6); rest -= hh * 3600e6;
    const mi = Math.floor(rest / 60e6); rest -= mi * 60e6;
    const ss = Math.floor(rest / 1e6); rest -= ss * 1e6;
    const frac = rest ? "." + pad(rest, 6) : "";
    return `${pad(y, 4)}-${pad(m)}-${pad(d)}T${pad(hh)}:${pad(mi)}:${pad(ss)}${frac}Z`;
  }

  toString() {
    return this.toJSON();
  }
}

const TEMPORAL = /^([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,6}))?)?(Z|[+-][0-9]{2}:?[0-9]{2})?)?$/;

/** An ISO date or datetime in exactly the forms values.parse_temporal accepts, else null. */
export function parseTemporal(text) {
  const m = TEMPORAL.exec(pyStrip(text));
  if (!m) return null;
  const [y, mo, d] = [+m[1], +m[2], +m[3]];
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > monthDays(y, mo)) return null;
  const days = daysFromCivil(y, mo, d);
  if (m[4] === undefined) return new ExprDate("date", days);
  const [hh, mi, ss] = [+m[4], +m[5], m[6] === undefined ? 0 : +m[6]];
  if (hh > 23 || mi > 59 || ss > 59) return null;
  let offset = 0;
  const off = m[8];
  if (off && off !== "Z") {
    const oh = +off.slice(1, 3);
    const om = +off.slice(-2);
    if (oh > 23 || om > 59) return null;
    offset = (off[0] === "-" ? -1 : 1) * (oh * 60 + om) * 60e6;
  }
  const frac = m[7] === undefined ? 0 : +m[7].padEnd(6, "0");
  const us = days * US_PER_DAY + ((hh * 60 + mi) * 60 + ss) * 1e6 + frac - offset;
  if (us < MIN_DAY * US_PER_DAY || us >= (MAX_DAY + 1) * US_PER_DAY) return null;
  return new ExprDate("datetime", us);
}

function temporal(value, where = "value") {
  if (value instanceof ExprDate) return value;
  if (typeof value === "string") {
    const parsed = parseTemporal(value);
    if (parsed !== null) return parsed;
  }
  throw typeError(`${where} must be a date or datetime, not ${typeName(value)}`);
}

const toDateTime = (v) => (v.kind === "datetime" ? v : new ExprDate("datetime", v.value * US_PER_DAY));

const formatters = new Map();

function zoneFormatter(tz) {
  let fmt = formatters.get(tz);
  if (!fmt) {
    try {
      fmt = new Intl.DateTimeFormat("en-US", {
        timeZone: tz, year: "numeric", month: "numeric", day: "numeric", era: "short",
      });
    } catch (err) {
      throw evalError(`unknown time zone ${JSON.stringify(tz)}`);
    }
    formatters.set(tz, fmt);
  }
  return fmt;
}

/** The calendar day (days since 1970-01-01) of a datetime in the context's time zone. */
function localDay(ctx, dt) {
  const tz = ctx.tz;
  if (!tz || tz === "UTC") return Math.floor(dt.value / US_PER_DAY);
  const parts = {};
  for (const p of zoneFormatter(tz).formatToParts(new Date(Math.floor(dt.value / 1000)))) parts[p.type] = p.value;
  let year = +parts.year;
  if (parts.era === "BC" || parts.era === "B") year = 1 - year;
  return daysFromCivil(year, +parts.month, +parts.day);
}

/** _as_date: a datetime becomes its local date, a date stays. */
const asDay = (ctx, v) => (v.kind === "date" ? v.value : localDay(ctx, v));

function checkDay(day) {
  if (day < MIN_DAY || day > MAX_DAY) throw evalError("date value out of range");
  return day;
}

function checkMicros(us) {
  if (!Number.isFinite(us) || us < MIN_DAY * US_PER_DAY || us >= (MAX_DAY + 1) * US_PER_DAY) {
    throw evalError("date value out of range");
  }
  return us;
}

// -- value rules (values.py) ----------------------------------------------------------

const isNumber = (v) => typeof v === "number";
const isRecord = (v) => v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof ExprDate);
/** an integer as Python would hold it: every Python int in the language is within ±2**53 */
const isInt = (v) => Number.isInteger(v) && Math.abs(v) <= MAX_SAFE_INT;

export function typeName(v) {
  if (v === null || v === undefined) return "null";
  if (typeof v === "boolean") return "boolean";
  if (typeof v === "number") return "number";
  if (typeof v === "string") return "text";
  if (v instanceof ExprDate) return v.kind;
  if (Array.isArray(v)) return "list";
  if (typeof v === "object") return "record";
  return typeof v;
}

export function truthy(v) {
  if (v === null || v === undefined) return false;
  if (typeof v === "boolean") return v;
  if (typeof v === "number") return v !== 0 && !Number.isNaN(v);
  if (typeof v === "string") return v.length > 0;
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof ExprDate) return true;
  if (typeof v === "object") return Object.keys(v).length > 0;
  return Boolean(v);
}

// Python's str.isspace() characters (values.WHITESPACE)
const WS = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
  + "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000";
const STRIP = new RegExp(`^[${WS}]+|[${WS}]+$`, "g");
const pyStrip = (s) => s.replace(STRIP, "");

/** Length in code points, as Python counts. */
function pyLen(s) {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) { n--; i++; }
    }
  }
  return n;
}

/** Python orders text by code point; JS by UTF-16 unit. They differ only around surrogates. */
function cmpText(a, b) {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i);
    const y = b.codePointAt(i);
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length - b.length < 0 ? -1 : a.length === b.length ? 0 : 1;
}

function isIsoText(v) {
  return typeof v === "string";
}

/** _align: text meets a date as a date; a date meets a datetime at 00:00 UTC. */
function align(a, b) {
  let at = a instanceof ExprDate;
  let bt = b instanceof ExprDate;
  if (at && isIsoText(b)) { b = temporal(b); bt = true; } else if (bt && isIsoText(a)) { a = temporal(a); at = true; }
  if (at && bt) { a = toDateTime(a); b = toDateTime(b); }
  return [a, b];
}

export function equal(a, b) {
  if (typeof a === "boolean" || typeof b === "boolean") return a === b;
  if (a === null || a === undefined || b === null || b === undefined) {
    return (a === null || a === undefined) && (b === null || b === undefined);
  }
  if (typeof a === "number" && typeof b === "number") return a === b;
  if (typeof a === "string" && typeof b === "string") return a === b;
  try {
    [a, b] = align(a, b);
  } catch (err) {
    if (err instanceof ExprError) return false;
    throw err;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!equal(a[i], b[i])) return false;
    return true;
  }
  if (typeName(a) !== typeName(b)) return false;
  if (a instanceof ExprDate) return a.value === b.value;
  if (isRecord(a)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    for (const k of ka) if (!hasOwn.call(b, k) || !equal(a[k], b[k])) return false;
    return true;
  }
  return a === b;
}

export function order(op, a, b) {
  if (a === null || a === undefined || b === null || b === undefined) return false;
  [a, b] = align(a, b);
  const ta = typeName(a);
  const tb = typeName(b);
  if (ta !== tb || !(ta === "number" || ta === "text" || ta === "datetime")) {
    throw typeError(`cannot compare ${ta} with ${tb} using ${op}`);
  }
  let c;
  if (ta === "number") c = a < b ? -1 : a > b ? 1 : 0;
  else if (ta === "text") c = cmpText(a, b);
  else c = a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
  if (op === "<") return c < 0;
  if (op === "<=") return c <= 0;
  if (op === ">") return c > 0;
  return c >= 0;
}

export function member(item, container) {
  if (container === null || container === undefined) return false;
  if (typeof container === "string") {
    if (typeof item !== "string") throw typeError(`'in' on text needs text on the left, not ${typeName(item)}`);
    return container.includes(item);
  }
  if (Array.isArray(container)) return container.some((x) => equal(item, x));
  throw typeError(`'in' needs a list or text on the right, not ${typeName(container)}`);
}

/** values.check: the size bounds on a computed value. */
export function check(v) {
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw limitError("number is too large or not a number");
    return v;
  }
  if (typeof v === "string") {
    if (v.length > MAX_STRING && pyLen(v) > MAX_STRING) throw limitError(`text longer than ${MAX_STRING} characters`);
    return v;
  }
  if (Array.isArray(v) && v.length > MAX_COLLECTION) throw limitError(`list longer than ${MAX_COLLECTION} items`);
  return v;
}

/** An integer result of integers must stay within ±2**53 exactly (Python computes it exactly). */
function checkIntResult(result, exact) {
  const r = Math.abs(result);
  if (r > MAX_SAFE_INT || (r === MAX_SAFE_INT && exact() > 2n ** 53n)) {
    throw limitError("number is larger than 2**53");
  }
  return result;
}

const absBig = (x) => (x < 0n ? -x : x);

function needNumbers(op, a, b) {
  if (!(isNumber(a) && isNumber(b))) throw typeError(`${op} needs numbers, not ${typeName(a)} and ${typeName(b)}`);
}

function intPow(a, b) {
  // exact by squaring: callers keep the result within 2**54 (or |a| <= 1)
  let result = 1;
  let base = a;
  let e = b;
  while (e > 0) {
    if (e % 2 === 1) result *= base;
    e = Math.floor(e / 2);
    if (e > 0) base *= base;
  }
  return result;
}

export function arith(op, a, b) {
  if (a === null || a === undefined || b === null || b === undefined) return null;
  if (op === "+") {
    if (typeof a === "string" && typeof b === "string") {
      if (a.length + b.length > MAX_STRING && pyLen(a) + pyLen(b) > MAX_STRING) {
        throw limitError(`text longer than ${MAX_STRING} characters`);
      }
      return a + b;
    }
    if (Array.isArray(a) && Array.isArray(b)) {
      if (a.length + b.length > MAX_COLLECTION) throw limitError(`list longer than ${MAX_COLLECTION} items`);
      return a.concat(b);
    }
    needNumbers(op, a, b);
    if (isInt(a) && isInt(b)) return checkIntResult(a + b, () => absBig(BigInt(a) + BigInt(b)));
    return check(a + b);
  }
  needNumbers(op, a, b);
  const ints = isInt(a) && isInt(b);
  if (op === "-") return ints ? checkIntResult(a - b, () => absBig(BigInt(a) - BigInt(b))) : check(a - b);
  if (op === "*") return ints ? checkIntResult(a * b, () => absBig(BigInt(a) * BigInt(b))) : check(a * b);
  if ((op === "/" || op === "//" || op === "%") && b === 0) throw evalError("division by zero", "expr.zero_division");
  if (op === "/") return check(a / b);
  if (op === "//") {
    // Python's math.floor gives an int, so the integer bound applies
    const q = check(Math.floor(a / b));
    if (Math.abs(q) > MAX_SAFE_INT) throw limitError("number is larger than 2**53");
    return q;
  }
  if (op === "%") {
    if (ints) {
      let r = a % b;
      if (r !== 0 && (r < 0) !== (b < 0)) r += b;
      return r === 0 ? 0 : r;
    }
    return check(a - b * Math.floor(a / b));
  }
  if (op === "**") {
    if (Math.abs(b) > MAX_EXPONENT && !(Math.abs(a) === 0 || Math.abs(a) === 1)) {
      throw limitError(`exponent larger than ${MAX_EXPONENT}`);
    }
    if (ints && b >= 0 && Math.abs(a) > 1 && b * Math.log2(Math.abs(a)) > 54) {
      throw limitError("number is larger than 2**53");
    }
    if (a === 0 && b < 0) throw evalError("division by zero", "expr.zero_division");
    if (ints && b >= 0) return checkIntResult(intPow(a, b), () => absBig(BigInt(a) ** BigInt(b)));
    const result = Math.pow(a, b);
    if (Number.isNaN(result)) throw evalError("a negative number to a fractional power has no real value");
    if (!Number.isFinite(result)) throw limitError("number is too large");
    return result;
  }
  throw typeError(`unknown operator ${op}`);
}

export function negate(op, a) {
  if (op === "not") return !truthy(a);
  if (a === null || a === undefined) return null;
  if (!isNumber(a)) throw typeError(`unary ${op} needs a number, not ${typeName(a)}`);
  return op === "-" ? (a === 0 ? 0 : -a) : a;
}

// -- the function library (functions.py) -----------------------------------------------

const needText = (v, fn) => {
  if (typeof v !== "string") throw typeError(`${fn}() needs text, not ${typeName(v)}`);
  return v;
};
const needNumber = (v, fn) => {
  if (!isNumber(v)) throw typeError(`${fn}() needs a number, not ${typeName(v)}`);
  return v;
};

/** Python's repr of a float: shortest digits, fixed notation for exponents -4..15. */
function pyFloatRepr(x) {
  const [mant, expText] = x.toExponential().split("e");
  const exp = +expText;
  const neg = mant.startsWith("-");
  const digits = mant.replace("-", "").replace(".", "");
  let out;
  if (exp >= -4 && exp < 16) {
    if (exp < 0) out = "0." + "0".repeat(-exp - 1) + digits;
    else if (digits.length > exp + 1) out = digits.slice(0, exp + 1) + "." + digits.slice(exp + 1);
    else out = digits + "0".repeat(exp + 1 - digits.length) + ".0";
  } else {
    const m = digits.length > 1 ? digits[0] + "." + digits.slice(1) : digits;
    out = `${m}e${exp < 0 ? "-" : "+"}${pad(Math.abs(exp))}`;
  }
  return neg ? "-" + out : out;
}

function toText(v, fn = "text") {
  if (v === null || v === undefined) return "";
  if (typeof v === "string") return v;
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "number") return isInt(v) ? String(v === 0 ? 0 : v) : pyFloatRepr(v);
  if (v instanceof ExprDate) return v.toJSON();
  throw typeError(`${fn}() cannot turn ${typeName(v)} into text`);
}

const NUMBER = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;

function collect(args) {
  const items = args.length === 1 && Array.isArray(args[0]) ? args[0] : args;
  return items.filter((x) => x !== null && x !== undefined);
}

export function isEmpty(v) {
  if (v === null || v === undefined) return true;
  if (typeof v === "string") return pyStrip(v).length === 0;
  if (Array.isArray(v)) return v.length === 0;
  if (isRecord(v)) return Object.keys(v).length === 0;
  return false;
}

function nowOf(ctx) {
  const now = ctx.now;
  if (now instanceof ExprDate) return toDateTime(now);
  if (typeof now === "string" && now) {
    const parsed = parseTemporal(now);
    if (parsed === null) throw evalError(`context.now is not an ISO datetime: ${now}`);
    return toDateTime(parsed);
  }
  return new ExprDate("datetime", Date.now() * 1000);
}

function countWeekdays(from, to) {
  // days after `from` up to and including `to` that fall Monday–Friday (1970-01-01 was a Thursday)
  let sign = 1;
  if (to < from) { [from, to] = [to, from]; sign = -1; }
  if (to - from > 366 * 100) throw limitError("workdays_between() spans more than 100 years");
  let n = 0;
  for (let d = from + 1; d <= to; d++) if (isoWeekday(d) <= 5) n++;
  return sign * n;
}

const isoWeekday = (day) => ((((day + 3) % 7) + 7) % 7) + 1;

const UNIT_US = { minutes: 60e6, hours: 3600e6, days: US_PER_DAY, weeks: 7 * US_PER_DAY };
const UNITS = ["minutes", "hours", "days", "weeks", "months", "years"];

function roundHalfEven(x) {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function dateAdd(ctx, value, amount, unit = "days") {
  if (value === null || value === undefined || amount === null || amount === undefined) return null;
  value = temporal(value, "date_add()");
  amount = needNumber(amount, "date_add");
  if (!(typeof unit === "string" && (UNITS.includes(unit) || unit === "workdays"))) {
    throw evalError(`date_add() unit must be one of ${UNITS.join(", ")}, workdays; not ${JSON.stringify(unit)}`);
  }
  if (Math.abs(amount) > 100000) throw limitError("date_add() amount is too large");
  if (unit === "months" || unit === "years") {
    const months = Math.trunc(amount) * (unit === "years" ? 12 : 1);
    const day = value.kind === "date" ? value.value : Math.floor(value.value / US_PER_DAY);
    const [y0, m0, d0] = civilFromDays(day);
    const total = m0 - 1 + months;
    const year = y0 + Math.floor(total / 12);
    const month = total - Math.floor(total / 12) * 12 + 1;
    if (year < 1 || year > 9999) throw evalError(`year ${year} is out of range`);
    const newDay = daysFromCivil(year, month, Math.min(d0, monthDays(year, month)));
    if (value.kind === "date") return new ExprDate("date", newDay);
    return new ExprDate("datetime", newDay * US_PER_DAY + (value.value - day * US_PER_DAY));
  }
  if (unit === "workdays") {
    const step = amount >= 0 ? 1 : -1;
    let left = Math.abs(Math.trunc(amount));
    let cur = value;
    while (left) {
      cur = cur.kind === "date"
        ? new ExprDate("date", checkDay(cur.value + step))
        : new ExprDate("datetime", checkMicros(cur.value + step * US_PER_DAY));
      if (isoWeekday(asDay(ctx, cur)) <= 5) left -= 1;
    }
    return cur;
  }
  const delta = roundHalfEven(amount * UNIT_US[unit]);
  if (value.kind === "datetime") return new ExprDate("datetime", checkMicros(value.value + delta));
  if ((unit === "days" || unit === "weeks") && Number.isInteger(amount)) {
    return new ExprDate("date", checkDay(value.value + delta / US_PER_DAY));
  }
  return new ExprDate("datetime", checkMicros(value.value * US_PER_DAY + delta));
}

/** count_records / sum_records: only where the context can count records (rule conditions on the server). */
function aggregate(ctx, fn, form, field, filters, days) {
  if (typeof ctx.aggregate !== "function") {
    throw evalError(`${fn}() is only available where records can be counted (rule conditions)`);
  }
  if (typeof form !== "string") throw typeError(`${fn}() needs a form key as text, not ${typeName(form)}`);
  if (filters !== null && filters !== undefined && !Array.isArray(filters)) {
    throw typeError(`${fn}() needs filters as a list of [field, op, value] lists`);
  }
  if (days !== null && days !== undefined && !isNumber(days)) {
    throw typeError(`${fn}() needs the window in days as a number, not ${typeName(days)}`);
  }
  return ctx.aggregate(fn, form, field, filters || [], days ?? null);
}

/** context.user is {id, roles}; a bare id (text or number) is accepted too, as in Python. */
function userOf(ctx) {
  const user = ctx.user;
  if (user === null || user === undefined) return {};
  if (typeof user === "string" || typeof user === "number") return { id: user };
  if (isRecord(user)) return user;
  throw evalError(`the evaluation context has a user of type ${typeName(user)}`);
}

function extreme(op, args) {
  const items = collect(args);
  if (!items.length) return null;
  let best = items[0];
  for (let i = 1; i < items.length; i++) if (order(op, items[i], best)) best = items[i];
  return best;
}

/** name → [min args, max args (null: any), implementation(ctx, ...args)] */
export const FUNCTIONS = {
  now: [0, 0, (ctx) => nowOf(ctx)],
  today: [0, 0, (ctx) => new ExprDate("date", localDay(ctx, nowOf(ctx)))],
  hours_between: [2, 2, (ctx, a, b) => {
    if (a === null || a === undefined || b === null || b === undefined) return null;
    const ta = toDateTime(temporal(a, "hours_between()"));
    const tb = toDateTime(temporal(b, "hours_between()"));
    return (tb.value - ta.value) / 1e6 / 3600;
  }],
  days_between: [2, 2, (ctx, a, b) => {
    if (a === null || a === undefined || b === null || b === undefined) return null;
    const da = asDay(ctx, temporal(a, "days_between()"));
    const db = asDay(ctx, temporal(b, "days_between()"));
    return db - da;
  }],
  workdays_between: [2, 2, (ctx, a, b) => {
    if (a === null || a === undefined || b === null || b === undefined) return null;
    const da = asDay(ctx, temporal(a, "workdays_between()"));
    const db = asDay(ctx, temporal(b, "workdays_between()"));
    return countWeekdays(da, db);
  }],
  date_add: [2, 3, dateAdd],
  year: [1, 1, (ctx, v) => (v === null || v === undefined ? null : civilFromDays(asDay(ctx, temporal(v, "year()")))[0])],
  month: [1, 1, (ctx, v) => (v === null || v === undefined ? null : civilFromDays(asDay(ctx, temporal(v, "month()")))[1])],
  weekday: [1, 1, (ctx, v) => (v === null || v === undefined ? null : isoWeekday(asDay(ctx, temporal(v, "weekday()"))))],
  contains: [2, 2, (ctx, hay, needle) => {
    if (hay === null || hay === undefined || needle === null || needle === undefined) return false;
    if (typeof hay === "string") return hay.includes(needText(needle, "contains"));
    if (Array.isArray(hay)) return hay.some((x) => equal(needle, x));
    throw typeError(`contains() needs text or a list, not ${typeName(hay)}`);
  }],
  startswith: [2, 2, (ctx, t, p) => {
    if (t === null || t === undefined || p === null || p === undefined) return false;
    return needText(t, "startswith").startsWith(needText(p, "startswith"));
  }],
  endswith: [2, 2, (ctx, t, s) => {
    if (t === null || t === undefined || s === null || s === undefined) return false;
    return needText(t, "endswith").endsWith(needText(s, "endswith"));
  }],
  len: [1, 1, (ctx, v) => {
    if (v === null || v === undefined) return 0;
    if (typeof v === "string") return pyLen(v);
    if (Array.isArray(v)) return v.length;
    throw typeError(`len() needs text or a list, not ${typeName(v)}`);
  }],
  lower: [1, 1, (ctx, v) => (v === null || v === undefined ? null : needText(v, "lower").toLowerCase())],
  upper: [1, 1, (ctx, v) => (v === null || v === undefined ? null : needText(v, "upper").toUpperCase())],
  trim: [1, 1, (ctx, v) => (v === null || v === undefined ? null : pyStrip(needText(v, "trim")))],
  concat: [1, null, (ctx, ...parts) => {
    const out = parts.map((p) => toText(p, "concat")).join("");
    if (out.length > MAX_STRING && pyLen(out) > MAX_STRING) throw limitError(`text longer than ${MAX_STRING} characters`);
    return out;
  }],
  text: [1, 1, (ctx, v) => toText(v, "text")],
  number: [1, 1, (ctx, v) => {
    if (v === null || v === undefined || isNumber(v)) return v ?? null;
    if (typeof v === "string") {
      const t = pyStrip(v);
      if (!NUMBER.test(t)) return null;
      const num = Number(t);
      return Number.isFinite(num) ? num : null;
    }
    throw typeError(`number() cannot convert ${typeName(v)}`);
  }],
  round: [1, 2, (ctx, v, digits = 0) => {
    if (v === null || v === undefined) return null;
    needNumber(v, "round");
    needNumber(digits, "round");
    if (!Number.isInteger(digits) || digits < 0 || digits > 10) {
      throw evalError("round() digits must be an integer from 0 to 10");
    }
    const scale = 10 ** digits;
    const scaled = Math.abs(v) * scale + 0.5;
    if (!Number.isFinite(scaled)) throw limitError("number is too large to round");
    const r = Math.floor(scaled);
    const result = (v < 0 || Object.is(v, -0) ? -r : r) / scale;
    if (digits === 0) {
      if (Math.abs(result) > MAX_SAFE_INT) throw limitError("number is larger than 2**53");
      return result === 0 ? 0 : result;
    }
    return check(result);
  }],
  min: [1, null, (ctx, ...args) => extreme("<", args)],
  max: [1, null, (ctx, ...args) => extreme(">", args)],
  sum: [1, null, (ctx, ...args) => {
    let total = 0;
    for (const x of collect(args)) total = arith("+", total, needNumber(x, "sum"));
    return total;
  }],
  abs: [1, 1, (ctx, v) => (v === null || v === undefined ? null : Math.abs(needNumber(v, "abs")))],
  coalesce: [1, null, (ctx, ...args) => {
    for (const a of args) if (!isEmpty(a)) return a;
    return null;
  }],
  is_empty: [1, 1, (ctx, v) => isEmpty(v)],
  hours_since: [1, 1, (ctx, v) => {
    if (v === null || v === undefined) return null;
    return (nowOf(ctx).value - toDateTime(temporal(v, "hours_since()")).value) / 1e6 / 3600;
  }],
  working_minutes: [2, 3, (ctx, a, b) => {
    if (a === null || a === undefined || b === null || b === undefined) return null;
    // business calendars live on the server: the browser never previews working time
    throw evalError("working_minutes() needs a business calendar, which only the server has", "expr.unknown_calendar");
  }],
  count_records: [1, 3, (ctx, form, filters = null, days = null) => aggregate(ctx, "count", form, null, filters, days)],
  sum_records: [2, 4, (ctx, form, field, filters = null, days = null) => {
    if (typeof field !== "string") throw typeError(`sum_records() needs a field key as text, not ${typeName(field)}`);
    return aggregate(ctx, "sum", form, field, filters, days);
  }],
  current_user: [0, 0, (ctx) => {
    const user = userOf(ctx);
    return hasOwn.call(user, "id") && user.id !== undefined ? user.id : null;
  }],
  has_role: [1, 1, (ctx, role) => {
    let roles = userOf(ctx).roles;
    if (typeof roles === "string") roles = [roles];
    return Array.isArray(roles) ? roles.some((r) => equal(role, r)) : false;
  }],
};

// -- the tree walker ---------------------------------------------------------------------

function located(err, node) {
  if (err instanceof ExprError && (err.position === null || err.position === undefined)) {
    err.position = node.pos ?? null;
  }
  return err;
}

function getKey(value, key) {
  if (value === null || value === undefined) return null;
  if (isRecord(value)) return hasOwn.call(value, key) && value[key] !== undefined ? value[key] : null;
  // a sub-table (or several linked records): the column, as in Python
  if (Array.isArray(value)) return value.map((row) => getKey(row, key));
  throw typeError(`cannot read .${key} of ${typeName(value)}`);
}

/** `name.key` where `name` holds a linked record's id: read the record the context supplies in `links`. */
function readPath(node, vars, ctx) {
  let value = run(node.e, vars, ctx);
  const links = ctx.links;
  if (node.e.t === "name" && value !== null && value !== undefined && !isRecord(value) && !Array.isArray(value)
      && links && hasOwn.call(links, node.e.n)) {
    value = links[node.e.n];
  }
  return getKey(value, node.n);
}

function index(value, i) {
  if (value === null || value === undefined || i === null || i === undefined) return null;
  if (isRecord(value)) {
    if (typeof i !== "string") throw typeError(`a record is indexed by text, not ${typeName(i)}`);
    return hasOwn.call(value, i) && value[i] !== undefined ? value[i] : null;
  }
  if (Array.isArray(value) || typeof value === "string") {
    if (!isInt(i)) throw typeError(`a ${typeName(value)} is indexed by an integer, not ${typeName(i)}`);
    const items = typeof value === "string" ? Array.from(value) : value;
    const n = items.length;
    if (i >= -n && i < n) {
      const item = items[i < 0 ? n + i : i];
      return item === undefined ? null : item;
    }
    return null;
  }
  throw typeError(`cannot index ${typeName(value)}`);
}

function compareOne(op, a, b) {
  if (op === "==") return equal(a, b);
  if (op === "!=") return !equal(a, b);
  if (op === "in") return member(a, b);
  if (op === "not in") return !member(a, b);
  return order(op, a, b);
}

function run(node, vars, ctx) {
  switch (node.t) {
    case "lit":
      return node.v;
    case "name": {
      const v = hasOwn.call(vars, node.n) ? vars[node.n] : null;
      return v === undefined ? null : v;
    }
    case "list":
      return node.items.map((item) => run(item, vars, ctx));
    case "bool": {
      let value = null;
      for (const part of node.vs) {
        value = run(part, vars, ctx);
        if (truthy(value) === (node.op === "or")) return value;
      }
      return value;
    }
    case "if":
      return truthy(run(node.c, vars, ctx)) ? run(node.a, vars, ctx) : run(node.b, vars, ctx);
    case "un":
      if (node.op === "not") return !truthy(run(node.e, vars, ctx));
      try {
        return negate(node.op, run(node.e, vars, ctx));
      } catch (err) {
        throw located(err, node);
      }
    default:
      break;
  }
  try {
    switch (node.t) {
      case "bin":
        return arith(node.op, run(node.l, vars, ctx), run(node.r, vars, ctx));
      case "cmp": {
        let a = run(node.l, vars, ctx);
        for (let i = 0; i < node.ops.length; i++) {
          const b = run(node.cs[i], vars, ctx);
          if (!compareOne(node.ops[i], a, b)) return false;
          a = b;
        }
        return true;
      }
      case "call": {
        const fn = FUNCTIONS[node.f];
        if (!fn || !hasOwn.call(FUNCTIONS, node.f)) throw new ExprError("expr.unknown_function", `unknown function ${node.f}()`);
        const args = node.args.map((a) => run(a, vars, ctx));
        if (args.length < fn[0] || (fn[1] !== null && args.length > fn[1])) {
          throw new ExprError("expr.unknown_function", `${node.f}() takes ${fn[0]}–${fn[1] ?? "…"} argument(s)`);
        }
        return fn[2](ctx, ...args);
      }
      case "attr":
        return readPath(node, vars, ctx);
      case "idx":
        return index(run(node.e, vars, ctx), run(node.i, vars, ctx));
      default:
        throw new ExprError("expr.not_allowed", `unknown node ${JSON.stringify(node.t)}`);
    }
  } catch (err) {
    throw located(err, node);
  }
}

/**
 * Evaluate an Expression.tree. `variables` maps field keys to values (JSON values,
 * ExprDate, or ISO strings, which compare with dates as dates); `context` is
 * {now: ISO datetime, tz: IANA zone (default UTC), user: {id, roles}}.
 * Throws ExprError with the same `code` as the Python evaluator.
 */
export function evaluate(tree, variables = {}, context = {}) {
  const ctx = context || {};
  const vars = variables || {};
  try {
    return check(run(tree, vars, ctx));
  } catch (err) {
    if (err instanceof ExprError) throw err;
    if (err instanceof RangeError) throw new ExprError("expr.limit", "expression is nested too deeply");
    throw new ExprError("expr.eval", `cannot evaluate: ${err && err.message}`);
  }
}

/** JSON with tagged dates ({"$date": …}, {"$datetime": …}) → values, as the corpus writes them. */
export function fromTagged(v) {
  if (Array.isArray(v)) return v.map(fromTagged);
  if (v !== null && typeof v === "object") {
    const keys = Object.keys(v);
    if (keys.length === 1 && (keys[0] === "$date" || keys[0] === "$datetime")) {
      const parsed = parseTemporal(v[keys[0]]);
      if (parsed === null) throw new Error(`bad ${keys[0]}: ${v[keys[0]]}`);
      return keys[0] === "$date" ? parsed : toDateTime(parsed);
    }
    const out = {};
    for (const k of keys) out[k] = fromTagged(v[k]);
    return out;
  }
  return v;
}

/** values → JSON with tagged dates (the inverse of fromTagged). */
export function toTagged(v) {
  if (v instanceof ExprDate) return { [v.kind === "date" ? "$date" : "$datetime"]: v.toJSON() };
  if (Array.isArray(v)) return v.map(toTagged);
  if (v !== null && typeof v === "object") {
    const out = {};
    for (const k of Object.keys(v)) out[k] = toTagged(v[k]);
    return out;
  }
  return v === undefined ? null : v;
}
