"""pattern: one expected line -> a matcher with placeholders and captures.

The language is described in expected/README.md: literal text, `{addr}`, `{num}`, `{hex}`,
`{word}`, `{text}`, `{KIND:name}` to capture, `{{`/`}}` for braces, and a line that is
exactly `...` for any number of lines.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# Each kind: the regular expression of what it matches, and how the text becomes a value.
KINDS = {
    "addr": (r"0x[0-9A-Fa-f]+|[0-9A-Fa-f]{16}|[0-9A-Fa-f]{8}", lambda s: int(s, 16)),
    "num": (r"[-+]?[0-9]+", int),     # signed too: a change, "+4" or "-4" (int() reads both)
    "hex": (r"0x[0-9A-Fa-f]+", lambda s: int(s, 16)),
    "word": (r"\S+", str),
    "text": (r".*", str),
}
NAME = re.compile(r"[a-z_][a-z0-9_]*\Z")
TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


class PatternError(ValueError):
    """An expected line that is not valid pattern text."""


@dataclass(frozen=True)
class LinePattern:
    text: str                   # as written in the case file
    regex: re.Pattern | None    # None for the `...` line
    fields: tuple               # ((kind, capture name or None), ...) in group order

    @property
    def ellipsis(self) -> bool:
        return self.regex is None

    def match(self, line: str, captures: dict):
        """(new captures, None) when line matches, else (None, why it does not)."""
        m = self.regex.fullmatch(line)
        if m is None:
            return None, "different text"
        found = dict(captures)
        for (kind, name), raw in zip(self.fields, m.groups()):
            value = KINDS[kind][1](raw)
            if name is None:
                continue
            if name in found and found[name] != value:
                return None, f"{{{kind}:{name}}} is {show(value)} here but {show(found[name])} before"
            found[name] = value
        return found, None


def show(value) -> str:
    """A captured value the way a student reads it: addresses in hex."""
    if isinstance(value, int) and abs(value) > 0xFFFF:
        return f"0x{value:x}"
    return repr(value) if isinstance(value, str) else str(value)


def compile_line(text: str) -> LinePattern:
    text = text.rstrip()
    if text == "...":
        return LinePattern(text, None, ())
    parts, fields, pos = [], [], 0
    for m in TOKEN.finditer(text):
        parts.append(re.escape(text[pos:m.start()]))
        pos = m.end()
        token = m.group(0)
        if token in ("{{", "}}"):
            parts.append(re.escape(token[0]))
            continue
        if token in ("{", "}"):
            raise PatternError(f"a lone '{token}' in {text!r}: write '{token}{token}' for a literal brace")
        kind, _, name = m.group(1).partition(":")
        if kind not in KINDS:
            raise PatternError(f"unknown placeholder {{{m.group(1)}}} in {text!r}; "
                               f"known: {', '.join('{' + k + '}' for k in KINDS)}")
        if name and not NAME.match(name):
            raise PatternError(f"capture name {name!r} in {text!r}: use lower case, digits, _")
        parts.append(f"({KINDS[kind][0]})")
        fields.append((kind, name or None))
    parts.append(re.escape(text[pos:]))
    return LinePattern(text, re.compile("".join(parts)), tuple(fields))


def compile_block(block: str) -> tuple:
    """The lines of a triple-quoted expect block: its first and last blank lines dropped."""
    lines = block.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return tuple(compile_line(line) for line in lines)


def capture_names(patterns) -> set:
    return {name for p in patterns for _, name in p.fields if name}
