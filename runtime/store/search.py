"""Full-text search over a form's records: the one search of lists, the API's ``q=``, the
knowledge-base suggestions and the public portal.

Chinese has no spaces between words, so text is segmented by jieba before either database sees it:

* every record keeps a *search document* in its ``search_doc`` column: the words of its searchable
  fields (text and single-choice fields, a choice with its labels too), each word once as jieba's
  search mode cuts it and once more for every dictionary word inside the text (full mode), joined
  by spaces. The records store writes it in the same INSERT/UPDATE statement as the values.
* SQLite indexes the documents in an FTS5 table (``<table>_fts``, external content) that triggers
  keep in step with the form table, so a create costs no extra statement.
* PostgreSQL indexes a stored generated ``tsvector`` column (``search_vector``, the ``simple``
  configuration: the words are already cut) with a GIN index whose pending list is small
  (``PENDING_LIST_KB``).

A query is cut the same way. Each run of text between spaces must match: every word jieba's precise
mode finds in it (question and function words such as 如何, 的 dropped), where a word matches
through any dictionary word inside it; the other dictionary words of the query only rank. So
"如何重开发票" finds the articles about 发票 and ranks the ones that also say 重开 first, and
"重开 发票" needs both. A quoted "phrase" must appear as written. Results are ranked by relevance
(FTS5 ``bm25``, PostgreSQL ``ts_rank``); the page and the total come from one statement.

A broad query (a common word matches a third of a million records) must answer as fast as a narrow
one, and ranking or counting every match reads every match. So a search looks at no more than
``COUNT_CAP`` matches, the newest first (both indexes hand them out in id order without sorting):

* the total is exact up to the cap; beyond it the answer says "more than ``COUNT_CAP``" (``capped``,
  shown as "10,000+" and ``total_capped`` in the REST answer), and the pages end at the cap, as a
  search engine's do;
* ranked by relevance, the page is the best of those candidates (all of them below the cap, so a
  small result is ranked exactly);
* in an order asked for (``order_by``), the page is the true page of every match, only its total is
  capped.

Exports (``ids_clause``) read every match: no cap.

Fields hidden from the reader (``hidden``) never decide a match: the index hits are re-checked
against the visible fields only and ranked by those, so a query cannot probe a hidden value.
"""
from __future__ import annotations

import functools
import math
import re
import threading
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from ..memo import once
from .mapping import SEARCH_COLUMN as DOC, FormTable

#: PostgreSQL's generated tsvector column over ``DOC``
VECTOR = "search_vector"
#: the GIN index's pending list, in kB (PostgreSQL's least; its default is 4 MB). New entries wait in the list
#: until it is full, then the write that fills it moves them all into the index: with 4 MB, one write in
#: thousands (a single create, a bulk write's batch) stalls for the entries of the thousands before it, and
#: every search reads the whole list. With 64 kB the same work comes in small steps, that a bulk write's
#: server does while the client still makes its rows, at the same total cost (measured: 10 batches of 10,000
#: documents take as long either way; fastupdate off takes half as long again)
PENDING_LIST_KB = 64
#: the longest query looked at
MAX_QUERY = 200
#: at most this many words of a query are used
MAX_TERMS = 16
#: a search counts (and ranks) at most this many matches; more is answered as "10,000+"
COUNT_CAP = 10_000

_WORD = re.compile(r"[^\W_]+")
#: how jieba cuts an ASCII run holding no dictionary word (``jieba.finalseg.re_skip``): a run of
#: letters and digits with the decimal after it, two words
_ASCII_PIECE = re.compile(r"([a-z0-9]+)(?:\.([0-9]+))?")
#: how jieba's full mode cuts such a run: letters and digits together, everything else apart
_ASCII_RUN = re.compile(r"[a-z0-9]+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_PHRASE = re.compile(r"[\"“”「」『』]([^\"“”「」『』]+)[\"“”「」『』]")
#: question and function words that say nothing about what is looked for
STOP_WORDS = frozenset("""
如何 怎么 怎样 怎么样 怎么办 为什么 为何 什么 哪些 哪个 哪里 是否 能否 可以 能 请问 请 我 我们 你 你们 他 她 它
的 了 吗 呢 吧 啊 和 与 及 或 在 是 有 把 被 对 从 到 给 要 想 需要 一下 一个 这个 那个 这 那 就 都 也 还 又 该 应该 时
a an and are be can do does for how i in is it of on or the to what when where which who why with you
""".split())

_jieba_lock = threading.Lock()
_jieba = None


def _segmenter():
    global _jieba
    if _jieba is None:
        with _jieba_lock:
            if _jieba is None:
                import logging

                import jieba
                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba = jieba
    return _jieba


def warm() -> None:
    """Load the segmenter's dictionary in the background (once per process, about a second), so the
    first write or search after a start does not wait for it."""
    global _warming
    with _jieba_lock:
        if _jieba is not None or _warming:
            return
        _warming = True
    threading.Thread(target=_segmenter, name="jimu-jieba-warm", daemon=True).start()


_warming = False


def ready() -> None:
    """Wait until the segmenter's dictionary is loaded (loading it now if no ``warm`` is under way)."""
    _segmenter()


def _norm(words: Iterable[str]) -> list[str]:
    """The letter-and-digit runs of ``words``, lower case, each word's in turn: one pass over the words
    joined by spaces (no run crosses a space, and lowering a word needs no context past one)."""
    return _WORD.findall(" ".join(words).lower())


def index_words(text: str) -> list[str]:
    """The words a text is found by: jieba's search-mode cut plus every dictionary word in it.

    Writes call this for every searchable value, so shortcuts keep jieba out of the common cases
    without changing the words:

    * an ASCII text holding none of jieba's few ASCII dictionary words (``C++``, ``AT&T``) is cut as
      jieba's HMM step cuts a word it does not know (``_ASCII_PIECE``: runs of letters and digits,
      a decimal kept with the run before it);
    * a text ending in ASCII that starts with a digit right after a Chinese character (客户123,
      订单20240001, 客户3-1042, 张伟 2#u7@example.com) is cut as its head followed by one digit,
      whose cut is cached, plus the ASCII tail cut as above: no dictionary word joins a Chinese
      character to a digit (checked on the loaded dictionary), so jieba never cuts across that
      boundary, and its HMM step splits Chinese from other characters before it looks at either;
    * a text seen lately (a city, an option's label, a repeated remark) is cut once (``_cut``, a
      bounded LRU cache)."""
    text = str(text)
    ascii_words, han_digit = _DICTIONARY or _dictionary()
    if text.isascii():
        if ascii_words is None or not ascii_words.search(text):
            return _ascii_cut(text.lower())
        return list(_cut(text))
    m = _HAN_DIGITS.search(text)
    if m is not None and not han_digit and (ascii_words is None or not ascii_words.search(m.group(1))):
        precise, extra = _head(text[:m.start(1)])
        tail = m.group(1).lower()
        runs = _ASCII_RUN.findall(tail)   # jieba's full mode makes runs of letters and digits of the tail
        tail_words = _ascii_cut(tail, runs)
        if not extra and tail_words is runs:   # most names and codes: nothing more to add
            return [*precise, *runs]
        seen = set(tail_words)
        words = [*precise, *tail_words, *[w for w in extra if w not in seen]]
        seen.update(precise)
        return words + [w for w in runs if w not in seen]
    return list(_cut(text))


#: a decimal run followed by a letter (``a.5b``): the one place where jieba's HMM cut (``_ASCII_PIECE``) of an
#: ASCII text differs from its runs of letters and digits (``_ASCII_RUN``)
_DECIMAL_THEN_LETTER = re.compile(r"\.[0-9]+[a-z]")


def _ascii_cut(lowered: str, runs: list[str] | None = None) -> list[str]:
    """How jieba cuts a lower-case ASCII text holding no dictionary word (``_ASCII_PIECE``: runs of
    letters and digits, a decimal kept with the run before it, two words): its runs of letters and
    digits (one pass, nothing to flatten; ``runs`` when the caller has them) unless a decimal runs
    into a letter."""
    if "." in lowered and _DECIMAL_THEN_LETTER.search(lowered):
        return [w for piece in _ASCII_PIECE.findall(lowered) for w in piece if w]
    return _ASCII_RUN.findall(lowered) if runs is None else runs


@functools.lru_cache(maxsize=4096)
def _head(head: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The words of a Chinese ``head`` that a run of ASCII from a digit on follows (客户 of 客户3-1042),
    as ``index_words`` puts them before and after the tail's: jieba's search-mode words, and its
    full-mode words not among them. Cut with a digit after it (its cut is cached for every such
    tail), which is the last word of either cut."""
    precise, full = _cuts(head + _SENTINEL)
    precise = precise[:-1]
    seen = set(precise)
    return precise, tuple(w for w in full[:-1] if w not in seen)


@functools.lru_cache(maxsize=16384)
def _joined(text: str) -> str:
    """``index_words`` of a text joined by spaces (its part of a search document), remembered for the
    texts a column repeats (a city, an option, a stock remark: most values of a bulk write); a text
    seen once costs a cache entry."""
    return " ".join(index_words(text))


def _ascii_joined(text: str) -> str:
    """``_joined`` of an ASCII text, worked out each time instead of cached where jieba's dictionary has
    nothing to say (no ASCII dictionary word in it: ``index_words``' own shortcut, ``_ascii_cut``). A code,
    an address or a number is seldom seen twice, and a cache entry cost each of them a third of its time
    (10,000 rows of a bulk write make 20,000 such texts)."""
    ascii_words = (_DICTIONARY or _dictionary())[0]
    if ascii_words is not None and ascii_words.search(text):
        return _joined(text)
    return " ".join(_ascii_cut(text.lower()))


#: a digit whose cut stands for a run of digits after a Chinese character
_SENTINEL = "0"
#: an ASCII tail starting with a digit, right after a character jieba cuts with its dictionary
_HAN_DIGITS = re.compile(r"(?<=[\u4e00-\u9fd5])([0-9][\x00-\x7f]*)$")


@functools.lru_cache(maxsize=8192)
def _cut(text: str) -> tuple[str, ...]:
    precise, full = _cuts(text)
    if not _CJK.search(text):
        return precise
    seen = set(precise)
    return precise + tuple(w for w in full if w not in seen)


@functools.lru_cache(maxsize=8192)
def _cuts(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """jieba's search-mode words and full-mode words of ``text`` (the latter only for Chinese text):
    ``jieba.cut_for_search(text)`` and ``jieba.cut(text, cut_all=True)``. Both modes split the text
    into the same blocks (``re_han_default``) and cut each block on its own, so a block's words are
    worked out once (``_block``) and remembered: a text seen for the first time is mostly made of
    blocks seen before when it comes from a template (an automatic reply, a notice: only the blocks
    holding a name or a number are new), and those cost a lookup, not a cut."""
    jieba = _segmenter()
    han, skip = jieba.re_han_default, jieba.re_skip_default
    with_full = _CJK.search(text) is not None
    precise: list[str] = []
    full: list[str] = []
    for block in han.split(text):
        if not block:
            continue
        if not han.match(block):
            pieces = [piece for piece in skip.split(block) if piece]
            precise += _norm(w for piece in pieces for w in ((piece,) if skip.match(piece) else piece))
            if with_full:
                full += _norm(pieces)
            continue
        p, f = _block(block, with_full)
        precise += p
        full += f
    return tuple(precise), tuple(full) if with_full else ()


@functools.lru_cache(maxsize=16384)
def _block(block: str, with_full: bool) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The words of one block of a text (``_cuts``), normalised (``_norm``: a word's letter-and-digit
    runs, lower case, which no block boundary splits): jieba's search-mode words, and its full-mode
    words if ``with_full``. Each block's graph of dictionary words (``_graph``, jieba's ``get_DAG``, the
    dearest step) is built once for both modes; the walks are jieba's ``__cut_DAG`` and ``__cut_all``
    over it. An ASCII block holding none of the dictionary's ASCII words (a serial number, a code: ``GD-20261207-0021``)
    is no graph walk: both cuts are its runs of letters and digits, as ``index_words`` cuts such a
    text (``_ascii_cut``; the full mode keeps a decimal's digits apart). A block of letters and digits
    (``isalnum``: what ``_norm``'s pattern keeps) in lower case, most Chinese blocks, needs no normalising:
    its words are pieces of it, each already one run."""
    if block.isascii():
        ascii_words = (_DICTIONARY or _dictionary())[0]
        if ascii_words is None or not ascii_words.search(block):
            lowered = block.lower()
            return tuple(_ascii_cut(lowered)), tuple(_ASCII_RUN.findall(lowered)) if with_full else ()
    dt = _segmenter().dt
    dag, freqs = _graph(dt.FREQ, block)
    precise: list[str] = []
    at = 0   # where the word starts in the block: the precise cut's words follow each other
    for word in _precise(dt, block, dag, freqs):
        n = len(word)
        if n > 2:   # jieba's search mode: the word's two- and three-character dictionary words first
            precise += [word[i:i + 2] for i in range(n - 1) if at + i + 1 in dag[at + i]]
        if n > 3:
            precise += [word[i:i + 3] for i in range(n - 2) if at + i + 2 in dag[at + i]]
        precise.append(word)
        at += n
    if block.isalnum() and block.lower() == block:
        return tuple(precise), tuple(_full(block, dag)) if with_full else ()
    return tuple(_norm(precise)), tuple(_norm(_full(block, dag))) if with_full else ()


def _graph(freq: Mapping[str, int], block: str) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    """jieba's graph of dictionary words (``Tokenizer.get_DAG``: from each position, the ends of the words
    starting there, or the position itself when none does) and each word's frequency, looked up once.

    The walks after it ask nothing more of the dictionary: the likeliest path takes the frequencies
    from here (``_route``), and whether a piece of the block is a word (a run of single characters,
    a search-mode two- or three-character word) is whether its end is in the graph, since the
    dictionary holds every prefix of every word (with frequency 0), so the walk from a position
    reaches each word there. A lookup in the dictionary of some 350,000 words misses the processor's
    caches in a server busy with other work: the second and later lookups of the same piece cost as
    much as the first."""
    n = len(block)
    dag: dict[int, list[int]] = {}
    freqs: dict[int, list[int]] = {}
    get = freq.get
    for k in range(n):
        ends: list[int] = []
        counts: list[int] = []
        i = k
        f = get(block[k])
        while f is not None:
            if f:
                ends.append(i)
                counts.append(f)
            i += 1
            if i == n:
                break
            f = get(block[k:i + 1])
        if not ends:   # no word starts here: the character alone, whose frequency jieba counts as 1
            ends.append(k)
            counts.append(1)
        dag[k] = ends
        freqs[k] = counts
    return dag, freqs


def _precise(dt, block: str, dag: dict[int, list[int]], freqs: dict[int, list[int]]) -> list[str]:
    """jieba's precise cut (HMM on) of a block from its graph (``Tokenizer.__cut_DAG``): the likeliest
    path of dictionary words; a run of single characters that is no word goes to the HMM. The run is
    kept as where it starts, and cut out of the block once it ends (not grown a character at a time)."""
    ends = _route(dt, block, dag, freqs)
    out: list[str] = []
    n = len(block)
    x = 0
    run = -1   # where the run of single characters under way starts, or -1
    while x < n:
        y = ends[x] + 1
        if y - x == 1:
            if run < 0:
                run = x
        else:
            if run >= 0:
                _single_run(out, block, dag, run, x)
                run = -1
            out.append(block[x:y])
        x = y
    if run >= 0:
        _single_run(out, block, dag, run, n)
    return out


def _single_run(out: list[str], block: str, dag: dict[int, list[int]], start: int, end: int) -> None:
    """A run of single characters on the likeliest path (``_precise``), as jieba puts it out: one character
    alone; the run whole, character by character, when it is a dictionary word; else the HMM's words."""
    if end - start == 1:
        out.append(block[start])
    elif end - 1 in dag[start]:
        out += block[start:end]
    else:
        out += _hmm(block[start:end])


def _hmm(run: str) -> list[str]:
    """jieba's HMM cut of a run of characters no dictionary word covers (``finalseg.cut``), block by block
    as it cuts: a block of one Chinese character comes out as it is (the HMM's only path through one
    character ends in a state that emits it whole), without the walk; longer blocks take the HMM."""
    finalseg = _segmenter().finalseg
    han = finalseg.re_han
    out: list[str] = []
    for piece in han.split(run):
        if len(piece) == 1 and han.match(piece):
            out.append(piece)
        elif piece:
            out += finalseg.cut(piece)
    return out


def _route(dt, block: str, dag: dict[int, list[int]], freqs: dict[int, list[int]]) -> list[int]:
    """jieba's ``Tokenizer.calc``: from each position, the end of the first word of the likeliest path on,
    from the frequencies ``_graph`` found. The log-probabilities are jieba's very sums (``log(f) - log(total)``
    plus the rest's, the end's being 0), compared as its ``max`` over (sum, end) pairs compares them: the
    greater sum, then the greater end. They are kept in a list apart from the ends, with no pair built
    per position and no ``max`` over a generator where several words start (a third of the walk's time)."""
    n = len(block)
    log = math.log
    logtotal = log(dt.total)
    score = [0.0] * (n + 1)
    ends = [0] * n
    for idx in range(n - 1, -1, -1):
        words = dag[idx]
        if len(words) == 1:
            x = words[0]
            score[idx] = log(freqs[idx][0]) - logtotal + score[x + 1]
            ends[idx] = x
            continue
        best = None
        for x, f in zip(words, freqs[idx]):
            v = log(f) - logtotal + score[x + 1]
            if best is None or v > best or (v == best and x > ends[idx]):
                best = v
                ends[idx] = x
        score[idx] = best
    return ends


#: what ``jieba.re_eng`` matches at the start of a word: an ASCII letter or digit
_ENG = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def _full(block: str, dag: dict[int, list[int]]) -> list[str]:
    """jieba's full cut of a block from its graph (``Tokenizer.__cut_all``): every dictionary word in
    it, a run of Latin letters and digits kept whole."""
    out: list[str] = []
    old_j = -1
    eng = None
    for k, ends in dag.items():
        if eng is not None and block[k] not in _ENG:
            out.append(eng)
            eng = None
        if len(ends) == 1 and k > old_j:
            word = block[k:ends[0] + 1]
            if word[0] in _ENG:
                eng = word if eng is None else eng + word
            if eng is None:
                out.append(word)
            old_j = ends[0]
        else:
            for j in ends:
                if j > k:
                    out.append(block[k:j + 1])
                    old_j = j
    if eng is not None:
        out.append(eng)
    return out


def _dictionary() -> tuple[re.Pattern | None, bool]:
    """What the shortcuts of ``index_words`` rely on, read from the loaded dictionary (once): its
    words written in ASCII, as one pattern (five in jieba's: ``AT&T``, ``C#``, ``C++``…; a text
    holding none of them has no dictionary word inside), and whether any word joins a Chinese
    character to a digit (none)."""
    global _DICTIONARY
    if _DICTIONARY is None:
        freq = _segmenter().dt.FREQ
        odd = [w for w, n in freq.items() if n and (w.isascii() or not w.isalpha())]  # Chinese words are alpha
        ascii_words = sorted({w for w in odd if len(w) > 1 and w.isascii()}, key=len, reverse=True)
        _DICTIONARY = (re.compile("|".join(map(re.escape, ascii_words))) if ascii_words else None,
                       any(_HAN_DIGIT_PAIR.search(w) for w in odd))
    return _DICTIONARY


_DICTIONARY: tuple[re.Pattern | None, bool] | None = None


_HAN_DIGIT_PAIR = re.compile(r"[\u4e00-\u9fd5][0-9]")


# -- the documents --------------------------------------------------------------------------------
def fields(ft: FormTable) -> list:
    """The searchable fields: text and single-choice values kept in the form's own table."""
    return [f for f in ft.spec.fields if f.key in ft.columns and f.widget.value_kind in ("text", "choice")]


def _texts(f, value: Any) -> list[str]:
    if value in (None, ""):
        return []
    out = [str(value)]
    choices = getattr(f.widget, "choices", None)
    option = getattr(choices, "by_value", {}).get(value) if choices is not None else None
    if option is not None:
        label = option.get("label")
        out += [str(v) for v in label.values()] if isinstance(label, Mapping) else [str(label)]
    return out


def _plan(ft: FormTable) -> tuple[tuple[str, Any], ...]:
    """(key, the field when its value's option labels are searched too, else None) of each searchable
    field of ``ft``, for ``document`` (worked out once per form table)."""
    return tuple((f.key, None if getattr(f.widget, "choices", None) is None else f) for f in fields(ft))


def _keys(ft: FormTable) -> frozenset[str]:
    return frozenset(key for key, _ in once(ft, _plan))


def touches(ft: FormTable, values: Mapping[str, Any]) -> bool:
    """Whether ``values`` (field key → value) set a searchable field of ``ft``, so the document changes
    (looked up in the form table's keys, worked out once)."""
    return not once(ft, _keys).isdisjoint(values)


def document(ft: FormTable, values: Mapping[str, Any]) -> str | None:
    """The search document of a record with ``values`` (field key → value): the words of each
    searchable field's text (and a choice's labels), joined by spaces. A bulk write makes one per
    row, so the fields are listed once per form table (``_plan``), each value's part is one cached
    lookup (``_joined``; an ASCII text's, ``_ascii_joined``) and the parts are joined once, instead of
    its words gathered into a list."""
    parts = []
    for key, choice in once(ft, _plan):
        value = values.get(key)
        if value is None or value == "":
            continue
        if choice is None:   # a text: its own words only
            text = value if type(value) is str else str(value)
            part = _ascii_joined(text) if text.isascii() else _joined(text)
            if part:
                parts.append(part)
            continue
        for text in _texts(choice, value):
            part = _joined(text)
            if part:
                parts.append(part)
    return " ".join(parts) or None


def signature(spec) -> list:
    """What a form's documents are made of (its searchable fields and their options); when it
    changes on a publish, the documents are written again (``reindex``)."""
    return [[f.key, f.widget.type, list(getattr(getattr(f.widget, "choices", None), "options", []))]
            for f in spec.fields if f.storage == "column" and f.widget.value_kind in ("text", "choice")]


# -- queries --------------------------------------------------------------------------------------
@dataclass
class Query:
    """A parsed query: ``required`` groups (each matches through any of its words), ``boosts`` that
    only rank, ``phrases`` that must appear as written, ``scan`` texts with no indexable word."""

    required: list[tuple[str, ...]] = field(default_factory=list)
    boosts: list[str] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)
    scan: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.required or self.phrases or self.scan)

    def words(self) -> list[str]:
        seen: list[str] = []
        for w in [w for group in self.required for w in group] + self.boosts:
            if w not in seen:
                seen.append(w)
        return seen


def parse(q: str) -> Query:
    jieba = _segmenter()
    q = (q or "").strip()[:MAX_QUERY]
    out = Query()
    phrases = [p.strip() for p in _PHRASE.findall(q) if p.strip()]
    rest = _PHRASE.sub(" ", q)
    for phrase in phrases:
        words = [w for w in _dict_words(phrase)]
        out.required += [(w,) for w in words if (w,) not in out.required]
        out.phrases.append(phrase.lower())
    for chunk in rest.split():
        precise = [w for w in _norm(jieba.cut(chunk)) if w not in STOP_WORDS]
        if len(precise) > 1:  # a lone CJK character next to words is a function word or a cut's leftover
            precise = [w for w in precise if len(w) > 1 or not _CJK.match(w)] or precise
        if not precise:
            continue
        if len(precise) == 1 and len(precise[0]) == 1 and _CJK.match(precise[0]):
            out.scan.append(precise[0])   # one character: no word to look up, a substring scan
            continue
        for word in precise:
            group = tuple(dict.fromkeys([word, *(w for w in _dict_words(word) if len(w) > 1)]))
            if group not in out.required:
                out.required.append(group)
        inside = {w for g in out.required for w in g}
        out.boosts += [w for w in _dict_words(chunk) if len(w) > 1 and w not in inside and w not in STOP_WORDS
                       and w not in out.boosts]
    out.required = out.required[:MAX_TERMS]
    out.boosts = out.boosts[:MAX_TERMS]
    return out


def _dict_words(text: str) -> list[str]:
    jieba = _segmenter()
    words = _norm(jieba.cut(text, cut_all=True)) if _CJK.search(text) else _norm([text])
    multi = [w for w in words if len(w) > 1 or not _CJK.match(w)]
    return list(dict.fromkeys(multi or words))


def _fts_expr(query: Query, *, any_word: bool) -> str:
    """An FTS5 MATCH expression; words are letters and digits only, each quoted as a string. Latin
    words and numbers match as prefixes (客户1 finds 客户10, "inv" finds "invoice")."""
    def quoted(w):
        return f'"{w}"' if _CJK.match(w) else f'"{w}"*'
    if any_word:
        return " OR ".join(quoted(w) for w in query.words())
    must = " AND ".join("(" + " OR ".join(quoted(w) for w in group) + ")" for group in query.required)
    if query.boosts:  # rows matching ``must`` only; the boost words then count in bm25
        return f"({must}) OR (({must}) AND ({' OR '.join(quoted(w) for w in query.boosts)}))"
    return must


def _ts_expr(query: Query, *, any_word: bool, rank: bool = False) -> str:
    """A to_tsquery('simple', …) text; words are letters and digits only, each quoted; Latin words
    and numbers match as prefixes."""
    def quoted(w):
        return f"'{w}'" if _CJK.match(w) else f"'{w}':*"
    if any_word or rank:
        return " | ".join(quoted(w) for w in query.words())
    return " & ".join("(" + " | ".join(quoted(w) for w in group) + ")" for group in query.required)


def _like(conn: sa.Connection, col, text: str) -> sa.ColumnElement:
    """``col`` holds ``text`` (lower case), whatever the case of its Latin letters. SQLite's LIKE
    already ignores that case (and its lower() changes nothing else), so there a value is compared
    as it is: half the work on every row a phrase is checked against."""
    esc = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    value = col if conn.dialect.name == "sqlite" else sa.func.lower(sa.cast(col, sa.Text))
    return value.like(f"%{esc}%", escape="\\")


def fts_name(ft: FormTable) -> str:
    return f"{ft.table.name}_fts"


def index_name(ft: FormTable) -> str:
    """PostgreSQL: the GIN index of ``ft``'s search vectors."""
    return f"ix_{ft.table.name}_search"


@dataclass
class Match:
    """A query's SQL pieces for one form: the FROM (with the index), the WHERE, the rank (lower is
    better), the id column in the index's own order (``newest``: descending, no sort) and the whole
    condition on the form's table alone (``filter``: what a list sorted by a column, an export or a
    count without ranking adds to its WHERE)."""

    source: Any
    where: sa.ColumnElement
    rank: sa.ColumnElement | None
    newest: sa.ColumnElement
    filter: sa.ColumnElement


def match(conn: sa.Connection, ft: FormTable, q: str | Query, *, hidden: Collection[str] = (),
          any_word: bool = False) -> Match | None:
    """The SQL of a search, or None for an empty query."""
    query = q if isinstance(q, Query) else parse(q)
    if query.empty:
        return None
    t = ft.table
    visible = [ft.columns[f.key] for f in fields(ft) if f.key not in hidden]
    if not visible:
        return Match(t, sa.false(), None, t.c.id, sa.false())
    restricted = len(visible) < len(fields(ft))
    where: list[sa.ColumnElement] = []
    source: Any = t
    rank = None
    newest = t.c.id
    lookup = None
    if query.required:
        if conn.dialect.name == "sqlite":
            # bm25() works only in the FTS query itself: the hits and their rank are a derived table;
            # FTS5 hands out its hits in rowid order, so the newest come first without a sort
            fts = sa.table(fts_name(ft), sa.column("rowid"))
            name = sa.literal_column(conn.dialect.identifier_preparer.quote(fts_name(ft)))
            expr = name.op("MATCH")(_fts_expr(query, any_word=any_word))
            hits = (sa.select(fts.c.rowid.label("rid"), sa.func.bm25(name).label("rank")).select_from(fts)
                    .where(expr).subquery("hits"))
            source = t.join(hits, hits.c.rid == t.c.id)
            rank, newest = hits.c.rank, hits.c.rid
            lookup = t.c.id.in_(sa.select(fts.c.rowid).where(expr))
        else:
            vector = sa.literal_column(f"{conn.dialect.identifier_preparer.quote(t.name)}.{VECTOR}")
            where.append(vector.op("@@")(sa.func.to_tsquery("simple", _ts_expr(query, any_word=any_word))))
            rank = -sa.func.ts_rank(vector, sa.func.to_tsquery("simple", _ts_expr(query, any_word=any_word,
                                                                                        rank=True)))
    for text in query.phrases + query.scan:
        where.append(sa.or_(*[_like(conn, c, text) for c in visible]))
    if restricted and not any_word:
        # what the index found must also be found in what the reader may see
        for group in query.required:
            where.append(sa.or_(*[_like(conn, c, w) for w in group for c in visible]))
    if restricted:
        words = query.words()
        rank = -sum((sa.case((_like(conn, c, w), 1), else_=0) for w in words for c in visible), sa.literal(0)) \
            if words else None
        if any_word and words:
            where.append(sa.or_(*[_like(conn, c, w) for w in words for c in visible]))
    cond = sa.and_(*where) if where else sa.true()
    return Match(source, cond, rank, newest, cond if lookup is None else sa.and_(lookup, *where))


def ids_clause(conn: sa.Connection, ft: FormTable, q: str | Query, *, hidden: Collection[str] = ()
               ) -> sa.ColumnElement | None:
    """The records matching ``q`` as a condition on ``ft``'s table (what a streamed export of a
    searched list adds to its WHERE: every match, no cap), or None for an empty query."""
    m = match(conn, ft, q, hidden=hidden)
    return None if m is None else m.filter


def search(conn: sa.Connection, ft: FormTable, q: str | Query, *, where: sa.ColumnElement | None = None,
           hidden: Collection[str] = (), order_by: Sequence[sa.ColumnElement] = (), limit: int = 50,
           offset: int = 0, any_word: bool = False) -> tuple[list[dict[str, Any]], int, bool]:
    """A page of the records matching ``q`` (and ``where``), best first unless ``order_by`` is
    given, their total and whether it is capped (more than ``COUNT_CAP`` match; the total is then
    the cap) — one statement. Ranked, the page is the best of the newest ``COUNT_CAP`` matches."""
    from .records import RecordStore
    m = match(conn, ft, q, hidden=hidden, any_word=any_word)
    store = RecordStore(conn)
    if m is None:
        rows, total = store.select(ft, where=where, order_by=order_by, limit=limit, offset=offset)
        return rows, total, False
    t = ft.table
    cap = COUNT_CAP
    cond = m.where if where is None else sa.and_(m.where, where)
    # counting up to cap + 1 matches says whether there are more
    first = sa.select(t.c.id.label("cid")).select_from(m.source).where(cond).limit(cap + 1)
    counted = sa.select(sa.func.count()).select_from(first.subquery("counted"))
    if order_by or m.rank is None:
        # the true page in the order asked for, its total counted up to the cap by a scalar subquery
        stmt = (sa.select(*ft.row_columns, counted.scalar_subquery().label("_total"))
                .where(m.filter if where is None else sa.and_(m.filter, where))
                .order_by(*order_by, t.c.id.desc()).limit(limit).offset(offset))
    else:
        # ranked: the candidates are the newest cap + 1 matches (the index's own order, no sort),
        # read once and ranked among themselves
        candidates = (sa.select(*ft.row_columns, m.rank.label("_rank")).select_from(m.source).where(cond)
                      .order_by(m.newest.desc()).limit(cap + 1).subquery("candidates"))
        stmt = (sa.select(*[candidates.c[c.name] for c in ft.row_columns], sa.func.count().over().label("_total"))
                .order_by(candidates.c._rank, candidates.c.id.desc()).limit(max(0, min(limit, cap - offset)))
                .offset(offset))
    rows = conn.execute(stmt).mappings().all()
    if rows:
        total = rows[0]["_total"]
    elif offset:
        total = conn.execute(counted).scalar_one()
    else:
        total = 0
    return store.to_records(ft, rows), min(total, cap), total > cap


# -- the index's tables ---------------------------------------------------------------------------
def install(conn: sa.Connection, ft: FormTable) -> bool:
    """Create ``ft``'s search column and index if they are missing; True when created (the caller
    then fills the documents with ``reindex``)."""
    inspector = sa.inspect(conn)
    columns = {c["name"] for c in inspector.get_columns(ft.table.name)}
    q = conn.dialect.identifier_preparer.quote
    table = q(ft.table.name)
    created = False
    if DOC not in columns:
        conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {DOC} TEXT")
        created = True
    if conn.dialect.name == "sqlite":
        fts = q(fts_name(ft))
        if not inspector.has_table(fts_name(ft)):
            conn.exec_driver_sql(f"CREATE VIRTUAL TABLE {fts} USING fts5({DOC}, content={table}, "
                                 f"content_rowid='id', tokenize='unicode61 remove_diacritics 2')")
            add = f"INSERT INTO {fts}(rowid, {DOC}) VALUES (new.id, new.{DOC});"
            drop = f"INSERT INTO {fts}({fts}, rowid, {DOC}) VALUES ('delete', old.id, old.{DOC});"
            for suffix, when, body in (("ai", "AFTER INSERT", add), ("ad", "AFTER DELETE", drop),
                                       ("au", f"AFTER UPDATE OF {DOC}", drop + " " + add)):
                conn.exec_driver_sql(f"CREATE TRIGGER {q(fts_name(ft) + '_' + suffix)} {when} ON {table} "
                                     f"BEGIN {body} END")
            created = True
    else:
        if VECTOR not in columns:
            conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {VECTOR} tsvector GENERATED ALWAYS AS "
                                 f"(to_tsvector('simple', coalesce({DOC}, ''))) STORED")
            conn.exec_driver_sql(f"CREATE INDEX {q(index_name(ft))} ON {table} "
                                 f"USING gin ({VECTOR}) WITH (gin_pending_list_limit = {PENDING_LIST_KB})")
            created = True
    return created


def reindex(conn: sa.Connection, ft: FormTable, *, batch: int = 2000) -> int:
    """Write every record's search document again (after the searchable fields changed, or for an
    installation that predates search); returns the number of records."""
    t = ft.table
    cols = [ft.columns[f.key] for f in fields(ft)]
    keys = [f.key for f in fields(ft)]
    update = sa.update(t).where(t.c.id == sa.bindparam("rid")).values({DOC: sa.bindparam("doc")})
    last, count = 0, 0
    while True:
        rows = conn.execute(sa.select(t.c.id, *cols).where(t.c.id > last).order_by(t.c.id).limit(batch)).all()
        if not rows:
            return count
        conn.execute(update, [{"rid": r[0], "doc": document(ft, dict(zip(keys, r[1:])))} for r in rows])
        last, count = rows[-1][0], count + len(rows)
