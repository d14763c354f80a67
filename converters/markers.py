"""Private markers: how the steps of the pipeline leave notes in text for later steps.

Code, emphasis, hard breaks and possible block syntax can only be decided once the text
around them is known, so earlier steps write a marker and a later pass resolves it. Markers
are Unicode noncharacters (U+FDD0..U+FDEF, reserved for exactly such internal use); the
converter removes any that appear in its input before it starts.
"""

import re

BLOCK_MARK = "\ufdd0"  # around the number of a code block taken out of the HTML (code.py)
INLINE_MARK = "\ufdd1"  # around the number of an inline code span taken out of the HTML
LINE_MARK = "\ufdd2"  # "this text may begin a line": escape it if it does
BREAK_MARK = "\ufdd3"  # a hard line break, kept only where a line follows in the same block
OPEN = {"strong": "\ufdd4", "em": "\ufdd5", "del": "\ufdd6", "sup": "\ufddb", "sub": "\ufddc"}  # emphasis opens here (emphasis.py)
CLOSE = {"strong": "\ufdd7", "em": "\ufdd8", "del": "\ufdd9", "sup": "\ufddd", "sub": "\ufdde"}  # and closes here
IDEOGRAPHIC_SPACE = "\ufdda"  # stands for U+3000, which html2text would fold into a plain space
TILDE_MARK = "\ufddf"  # a text `~`, escaped only where another could pair with it (escape.py)
BRACKET_MARK = "\ufde0"  # a text `]` ending a run: escaped only if `(`, `[` or `:` follows it

ALL_MARKS = (
    BLOCK_MARK + INLINE_MARK + LINE_MARK + BREAK_MARK + "".join(OPEN.values()) + "".join(CLOSE.values()) + IDEOGRAPHIC_SPACE + TILDE_MARK + BRACKET_MARK
)


# A character reference to a noncharacter of the markers' range (`&#xFDD0;`, `&#64976;`):
# decoded by the HTML parser, it would become a marker.
_MARK_REFERENCE = re.compile(r"&#(?:[xX]0*[fF][dD][dDeE][0-9a-fA-F]|0*(?:6497[6-9]|649[89]\d|6500[0-7]))(?![0-9a-fA-F]);?")


def strip_marks(text: str) -> str:
    """`text` without any of the markers, nor references to them: they are noncharacters,
    never text, and an input holding one must not be able to steer the converter."""
    for mark in ALL_MARKS:
        if mark in text:
            text = text.replace(mark, "")
    if "&#" in text and _MARK_REFERENCE.search(text):  # (a sub would copy the text regardless)
        text = _MARK_REFERENCE.sub("", text)
    return text


_BLOCK_LINE = re.compile(f"(?<!{BREAK_MARK})\n")


def split_block_lines(text: str) -> list[str]:
    """The lines of `text` that may belong to different blocks: a hard break (BREAK_MARK)
    joins two lines into one paragraph, so it does not split there."""
    return _BLOCK_LINE.split(text)
