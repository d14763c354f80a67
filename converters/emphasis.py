"""Emphasis: `**`, `*` and `~~` where CommonMark reads them, generated tags where it cannot;
and `<sup>`/`<sub>`, which have no Markdown syntax, always as generated tags.

The Markdown writer marks where `<strong>`, `<em>` and `<del>` open and close (markers.py).
This pass pairs the marks of each line, moves inner spaces outside, merges `</b><b>`, and
then, with the final neighbours known, picks the syntax. CommonMark does not close `**…**`
when punctuation inside meets a letter outside (`**提示：**正文`, commonmark-spec issue 650),
which is every CJK bold phrase ending in `。`, `：`, `”` followed by text; there, and only
there, the pair is written as `<strong>…</strong>`, which every CommonMark renderer that
passes inline HTML shows as bold. The tags are generated here, never copied from the input.
"""

from __future__ import annotations

import re
import unicodedata

from .lazyre import lazy_compile
from .markers import BRACKET_MARK, CLOSE, OPEN, split_block_lines

_MARK_KIND = {**{v: (k, True) for k, v in OPEN.items()}, **{v: (k, False) for k, v in CLOSE.items()}}
_DELIMITER = {"strong": "**", "em": "*", "del": "~~"}


_ASCII_PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"


def _is_punct(char: str, symbols: bool | None) -> bool:
    """Punctuation as a renderer's flanking rule sees it: `symbols` False is CommonMark up
    to 0.30 (Unicode P), True is 0.31 (P and S), None is marked before version 5 (ASCII only)."""
    if not char:
        return False
    if char in _ASCII_PUNCT:
        return True
    if symbols is None:
        return False
    category = unicodedata.category(char)
    return category[0] == "P" or (symbols and category[0] == "S")


def _flanks(before: str, after: str, opening: bool) -> bool:
    """CommonMark's flanking rule for a `*`/`~` run between `before` and `after` ('' = edge),
    under the three definitions of punctuation renderers use (see _is_punct)."""
    for symbols in (False, True, None):
        inner, outer = (after, before) if opening else (before, after)
        if not inner or inner.isspace():
            return False
        if _is_punct(inner, symbols) and not (not outer or outer.isspace() or _is_punct(outer, symbols)):
            return False
    return True




_EMPHASIS_MARK = lazy_compile(f"[{''.join(_MARK_KIND)}]")
_EMPHASIS_SPLIT = lazy_compile(f"([{''.join(_MARK_KIND)}])")


_SUPERSCRIPT = str.maketrans("0123456789+-=()in", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁱⁿ")
_SUBSCRIPT = str.maketrans("0123456789+-=()", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎")
_SCRIPT_PAIR = lazy_compile(f"({OPEN['sup']}|{OPEN['sub']})([^{''.join(_MARK_KIND)}\n]*)({CLOSE['sup']}|{CLOSE['sub']})")
_FOOTNOTE_MARK = lazy_compile("^\\s*(?:\\\\?\\[\\s*\\d{1,3}\\s*(?:\\\\?\\]|" + BRACKET_MARK + ")|" + r"[(（]\d{1,3}[)）]|\*{1,3}|†|‡)\s*$")


def _portable_script(match: re.Match) -> str:
    """A superscript or subscript in a form that needs no raw HTML where one exists: digits
    and signs as Unicode super/subscript characters (`10⁹`, `H₂O`), a footnote mark as the
    plain mark (`[1]`). Anything else keeps its markers (generated tags, below)."""
    opening, inner, closing = match.groups()
    sup = opening == OPEN["sup"]
    if closing != (CLOSE["sup"] if sup else CLOSE["sub"]) or not inner.strip():
        return match.group(0)
    if _FOOTNOTE_MARK.match(inner):
        return inner.strip()
    table = _SUPERSCRIPT if sup else _SUBSCRIPT
    mapped = inner.translate(table)
    if all(ord(ch) > 0x7F for ch in mapped):
        return mapped
    return match.group(0)


def resolve_emphasis(text: str) -> str:
    """Replace the emphasis marks of `text` by Markdown delimiters or generated tags."""
    if not _EMPHASIS_MARK.search(text):
        return text
    if OPEN["sup"] in text or OPEN["sub"] in text:
        text = _SCRIPT_PAIR.sub(_portable_script, text)
    # Emphasis pairs within a line, or across a hard break; never across lines that may
    # belong to different blocks (list items, quotes), where raw <strong> could start an
    # HTML block. An unpaired marker is dropped: the text stays, the emphasis goes.
    return "\n".join(
        _resolve_block_emphasis(part) if _EMPHASIS_MARK.search(part) else part for part in split_block_lines(text)
    )


def _resolve_block_emphasis(block: str) -> str:
    """Pair the emphasis markers of one line (or hard-broken lines) and render them."""
    # Tokens: plain strings, and [kind, opening] lists for markers.
    tokens: list = []
    for piece in _EMPHASIS_SPLIT.split(block):
        if piece in _MARK_KIND:
            kind, opening = _MARK_KIND[piece]
            tokens.append([kind, opening])
        elif piece:
            tokens.append(piece)
    # Pair markers; nested repeats of an open kind and unmatched markers are dropped.
    pairs: list[tuple[int, int]] = []
    open_at: dict[str, int] = {}
    depth: dict[str, int] = {}
    keep = [True] * len(tokens)
    for i, tok in enumerate(tokens):
        if isinstance(tok, str):
            continue
        kind, opening = tok
        if opening:
            depth[kind] = depth.get(kind, 0) + 1
            if depth[kind] == 1:
                open_at[kind] = i
            else:
                keep[i] = False
        else:
            if depth.get(kind, 0) == 0:
                keep[i] = False
                continue
            depth[kind] -= 1
            if depth[kind] == 0:
                pairs.append((open_at.pop(kind), i))
            else:
                keep[i] = False
    for i in open_at.values():  # opened, never closed
        keep[i] = False
    tokens = [t if keep[i] else "" for i, t in enumerate(tokens)]
    pairs.sort()
    # Drop empty emphasis; merge `</b><b>` with nothing between. Each step looks only at the
    # pair's own tokens and at the next token left, so long lines stay linear.
    pair_opening_at = {o: n for n, (o, _) in enumerate(pairs)}
    grown: set[int] = set()  # pairs extended by a merge: they hold text already
    for k, (o, c) in enumerate(pairs):
        if k not in grown and not any(isinstance(t, str) and t.strip() for t in tokens[o + 1 : c]):
            tokens[o] = tokens[c] = ""
            continue
        following = c + 1
        while following < len(tokens) and tokens[following] == "":
            following += 1
        n = pair_opening_at.get(following)
        if n is not None and tokens[following][0] == tokens[c][0]:
            tokens[c] = tokens[following] = ""
            pairs[n] = (o, pairs[n][1])
            grown.add(n)
    rendered = _render_pairs(tokens, [(o, c) for o, c in pairs if tokens[o] and tokens[c]])
    return "".join(rendered)


def _render_pairs(tokens: list, pairs: list[tuple[int, int]]) -> list[str]:
    """Write each pair's markers back, inner spaces moved outside, then choose per pair:
    `**`/`*`/`~~` where CommonMark's flanking rule lets them work, else generated tags."""
    out = [t if isinstance(t, str) else "" for t in tokens]
    for o, c in pairs:
        kind = tokens[o][0]
        # whitespace just inside the markers goes outside them
        lead_text = out[o + 1] if o + 1 < c else ""
        if lead_text and lead_text != lead_text.lstrip():
            if not _after_space(out, o):  # else it would double a space, or indent the line
                out[o] = lead_text[: len(lead_text) - len(lead_text.lstrip())] + out[o]
            out[o + 1] = lead_text.lstrip()
        tail_text = out[c - 1] if c - 1 > o else ""
        if tail_text and tail_text != tail_text.rstrip():
            out[c] = out[c] + tail_text[len(tail_text.rstrip()) :]
            out[c - 1] = tail_text.rstrip()
        opener, closer = OPEN[kind], CLOSE[kind]
        if kind in _DELIMITER and c - 1 > o:
            opener, closer = _portable_edges(out, o, c, opener, closer)
        out[o] = out[o] + opener
        out[c] = closer + out[c]
    text = "".join(out)
    # Now decide, pair by pair, with the final neighbours known.
    positions = [m.start() for m in _EMPHASIS_MARK.finditer(text)]
    stack: list[int] = []
    pairs: list[tuple[int, int, str]] = []
    for i in positions:
        kind, opening = _MARK_KIND[text[i]]
        if opening:
            stack.append(i)
        elif stack:
            pairs.append((stack.pop(), i, kind))
    # Tags on two lines could open an HTML block: such a pair keeps its text only.
    decisions: dict[int, str] = {}
    for start, end, kind in pairs:  # <sup>/<sub> first: emphasis beside them sees what they become
        if kind not in _DELIMITER:
            one_line = "\n" not in text[start:end]
            decisions[start], decisions[end] = (f"<{kind}>", f"</{kind}>") if one_line else ("", "")
    for start, end, kind in pairs:
        if kind not in _DELIMITER:
            continue
        ok = _flanks(_neighbour(text, start, -1, decisions), _neighbour(text, start, 1, decisions), True) and _flanks(
            _neighbour(text, end, -1, decisions), _neighbour(text, end, 1, decisions), False
        )
        if ok:
            decisions[start] = decisions[end] = _DELIMITER[kind]
        elif "\n" not in text[start:end]:
            decisions[start], decisions[end] = f"<{kind}>", f"</{kind}>"
    # A closing run touching an opening run of the same character (`**a*b****c*`) fuses into
    # one run that CommonMark cannot split back: the later pair takes generated tags.
    for start, end, kind in sorted(pairs):
        before, decided = decisions.get(start - 1, ""), decisions.get(start, "")
        if decided[:1] not in ("", "<") and before[:1] == decided[0] and not _MARK_KIND[text[start - 1]][1]:
            if "\n" not in text[start:end]:
                decisions[start], decisions[end] = f"<{kind}>", f"</{kind}>"
            else:
                decisions[start] = decisions[end] = ""
    pieces: list[str] = []
    last = 0
    for i in positions:
        pieces.append(text[last:i])
        pieces.append(decisions.get(i, ""))
        last = i + 1
    pieces.append(text[last:])
    return pieces


_LINK_END = lazy_compile(r"\]\([^()\s]*\)$")
_ENTITY_END = lazy_compile(r"&#?\w+;$")
_TRAILING_LINK = lazy_compile(r"^(.*?)\[([^\[\]]*)\](\([^()\s]*\))$", re.S)
_SINGLE_LINK = lazy_compile(r"^\[([^\[\]]*)\](\([^()\s]*\))$")


def _leading_punct(text: str) -> int:
    """How many characters at the start of `text` are punctuation that may move outside
    emphasis (not the start of a link, image, code span, tag or entity; an escape `\\-`
    moves as a whole)."""
    n = 0
    while n < len(text):
        if text[n] == "\\" and n + 1 < len(text) and text[n + 1] in _ASCII_PUNCT:
            n += 2
        elif _is_punct(text[n], True) and text[n] not in "[`<\\&" and text[n : n + 2] != "![":
            n += 1
        else:
            break
    return n


def _trailing_punct(text: str) -> int:
    """How many characters at the end of `text` are punctuation that may move outside
    emphasis (not the end of a link, code span, tag or entity; an escape moves as a whole)."""
    end = len(text)
    while end and _is_punct(text[end - 1], True) and text[end - 1] not in "`>":
        if text[end - 2 : end - 1] == "\\":  # an escape moves as a whole, unless the backslash is itself escaped
            if text[end - 3 : end - 2] == "\\":
                break
            end -= 2
            continue
        if (text[end - 1] == ")" and _LINK_END.search(text, 0, end)) or (text[end - 1] == ";" and _ENTITY_END.search(text, 0, end)):
            break  # the end of a link or of an entity is syntax, not punctuation to move
        end -= 1
    return len(text) - end


def _char_beside(out: list[str], index: int, step: int) -> str:
    """The first character written beside token `index`, before it (step -1) or after it
    (step 1); '' at an edge. An emphasis mark counts as punctuation (`*`)."""
    k = index + step
    while 0 <= k < len(out):
        if out[k]:
            char = out[k][-1] if step < 0 else out[k][0]
            return "*" if char in _MARK_KIND else char
        k += step
    return ""


def _free_outside(char: str) -> bool:
    """True when a delimiter run with this character outside it flanks whatever is inside:
    an edge, whitespace, or ASCII punctuation (punctuation under every definition)."""
    return not char or char.isspace() or char in _ASCII_PUNCT


def _portable_edges(out: list[str], o: int, c: int, opener: str, closer: str) -> tuple[str, str]:
    """Make a pair's delimiters flank in every renderer, without raw HTML: punctuation at the
    inner edges goes outside them (`**“重点”**内容` -> `“**重点**”内容`, `**提示：**正文` ->
    `**提示**：正文`); emphasis around one whole link goes inside its text (`[**名称**](url)`),
    and emphasis that ends with a link is split there (`**请戳**（[**这里**](url)`). Once both
    inner edges are letters or digits, an opening run is left-flanking and a closing run
    right-flanking under every definition of punctuation (P, P+S, ASCII-only), whatever
    stands outside. Returns the opener and closer, with the moved characters."""
    single = c - 1 == o + 1
    first, last = out[o + 1], out[c - 1]
    # A side needs rewriting only where what stands outside could stop the run: a letter, or
    # punctuation that some renderer does not count as such (CJK punctuation for old marked).
    open_free = _free_outside(_char_beside(out, o, -1))
    close_free = _free_outside(_char_beside(out, c, 1))
    lead = 0 if open_free else _leading_punct(first)
    moved_lead = first[:lead]
    if single:
        first = last = first[lead:]
    else:
        first = first[lead:]
    trail = 0 if close_free else _trailing_punct(last)
    core, moved_trail = last[: len(last) - trail], last[len(last) - trail :]
    if not (first if not single else core).strip():
        return opener, closer  # only punctuation: left as it is (flanking decides below)
    link = _SINGLE_LINK.match(core) if single and not (open_free and close_free) else None
    if link and link.group(1).strip():  # emphasis around one whole link: inside its text
        out[o + 1] = link.group(1)
        return moved_lead + "[" + opener, closer + "]" + link.group(2) + moved_trail
    ending = None if close_free else _TRAILING_LINK.match(core)
    if ending and ending.group(2).strip() and (not single or ending.group(1).strip()):
        # Emphasis that ends with a link: split there, the link's part inside its text.
        before = ending.group(1)
        split_trail = _trailing_punct(before)
        if not single or before[: len(before) - split_trail].strip():
            core = (before[: len(before) - split_trail] + closer + before[len(before) - split_trail :]
                    + "[" + opener + ending.group(2))
            closer = closer + "]" + ending.group(3)
    if single:
        out[o + 1] = core
    else:
        out[o + 1], out[c - 1] = first, core
    return moved_lead + opener, closer + moved_trail


def _after_space(tokens: list[str], index: int) -> bool:
    """True when the written tokens before `index` end with whitespace or are empty: the
    line starts there, or a list marker or quote prefix (`- `, `> `) has just been written."""
    for k in range(index - 1, -1, -1):
        if tokens[k]:
            return tokens[k][-1].isspace()
    return True


def _neighbour(text: str, index: int, step: int, decisions: dict[int, str]) -> str:
    """The character beside a marker ('' at an edge). A marker already decided counts as what
    it becomes (a tag's `<` or `>`; nothing, for a dropped pair); one not yet decided will be a
    delimiter run or a tag, both punctuation: `*`. A line end counts as a space."""
    i = index + step
    while 0 <= i < len(text):
        char = text[i]
        if char not in _MARK_KIND:
            return " " if char == "\n" else char
        decided = decisions.get(i)
        if decided is None:
            return "*"
        if decided:
            return decided[0] if step > 0 else decided[-1]
        i += step
    return ""
