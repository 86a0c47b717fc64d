"""Find Verilog-A variables that a model expects to keep between time steps.

A compact model's memory must live in nodes (a state integrated by ``ddt`` on an internal
node, as ``device_models/rram.va`` keeps its gap): OpenVAF, the compiler used here,
evaluates the analog block afresh at every Newton iteration and time step and keeps no
variable between them (it has no "hidden state"). A model written for a simulator that
does keep them compiles without a word and then has no memory. This check reads the
``.va`` text and names each module variable (``real``/``integer``) that

* is read in the analog block before it is assigned (it would carry the previous step's
  value), or
* is assigned only in event statements (``@(initial_step)``, ``@(cross(...))``,
  ``@(timer(...))``, ...) and read outside them (it would hold the event's value).

It is a static reading of the source, not a compiler: conditional assignments (both
branches of an ``if``) count as assignments, and a variable assigned on every path is not
reported. :func:`~bruno_hil.spice.osdi.compile_verilog_a` warns with its findings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

TOKEN_RE = re.compile(
    r"(?P<num>\d+\.?\d*(?:[eE][+-]?\d+)?[a-zA-Z]?)"
    r"|(?P<name>[A-Za-z_$][A-Za-z0-9_$]*)"
    r"|(?P<op>==|!=|<=|>=|<\+|&&|\|\||\*\*|\S)"
)
COMMENT_RE = re.compile(r"//[^\n]*|/\*.*?\*/|\"(?:\\.|[^\"\\])*\"", re.DOTALL)


class VerilogAStateWarning(UserWarning):
    """A Verilog-A model keeps state in a variable, which OpenVAF does not retain."""


@dataclass(frozen=True)
class StateVariable:
    """A variable the model expects to keep: its ``name``, the ``line`` (1-based) of the
    offending read, and why (``reason``)."""

    name: str
    line: int
    reason: str

    def message(self, source: str) -> str:
        """One line naming the file, the line and the variable."""
        return (
            f"{source}:{self.line}: variable {self.name!r} {self.reason}; OpenVAF keeps no"
            " variable between time steps, so the model loses this memory: keep the state"
            " on an internal node (e.g. I(s) <+ ddt(V(s)) - rate)"
        )


@dataclass(frozen=True)
class _Token:
    text: str
    line: int


def _tokens(text: str) -> list[_Token]:
    """Tokens of ``text`` without comments and strings, with their line numbers."""

    def blank(match: re.Match[str]) -> str:  # keep the newlines: line numbers stay right
        return re.sub(r"[^\n]", " ", match.group())

    clean = COMMENT_RE.sub(blank, text)
    out, line, pos = [], 1, 0
    for match in TOKEN_RE.finditer(clean):
        line += clean.count("\n", pos, match.start())
        pos = match.start()
        out.append(_Token(match.group(), line))
    return out


def _block_end(tokens: list[_Token], start: int) -> int:
    """Index just past the statement starting at ``start`` (``begin ... end`` matched,
    else up to its ``;``; an ``if`` statement's ``else`` branch included)."""
    if tokens[start].text == "begin":
        return _matching(tokens, start, "begin", "end")
    k = start
    while k < len(tokens) and tokens[k].text != ";":
        if tokens[k].text == "begin":
            k = _block_end(tokens, k)
            continue
        k += 1
    end = k + 1
    if end < len(tokens) and tokens[end].text == "else":
        return _block_end(tokens, end + 1)
    return end


def _matching(tokens: list[_Token], start: int, opening: str, closing: str) -> int:
    """Index just past the ``closing`` token that matches the ``opening`` at ``start``."""
    depth = 0
    for k in range(start, len(tokens)):
        depth += {opening: 1, closing: -1}.get(tokens[k].text, 0)
        if depth == 0:
            return k + 1
    return len(tokens)


def _declared(tokens: list[_Token]) -> set[str]:
    """Names declared ``real``/``integer`` outside functions (not parameters)."""
    names: set[str] = set()
    in_function = False
    for k, token in enumerate(tokens):
        if token.text == "function":
            in_function = True
        elif token.text == "endfunction":
            in_function = False
        elif token.text in ("real", "integer") and not in_function:
            if k and tokens[k - 1].text in ("parameter", "localparam", "input", "output"):
                continue
            j = k + 1
            while j < len(tokens) and tokens[j].text != ";":
                if tokens[j].text == "[":  # an array's bounds
                    while j < len(tokens) and tokens[j].text != "]":
                        j += 1
                elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", tokens[j].text) and tokens[
                    j - 1
                ].text in ("real", "integer", ","):
                    names.add(tokens[j].text)
                j += 1
    return names


def _analog_blocks(tokens: list[_Token]) -> list[tuple[int, int]]:
    """``(start, end)`` token ranges of the analog blocks (not analog functions)."""
    blocks = []
    k = 0
    while k < len(tokens):
        if tokens[k].text == "analog" and k + 1 < len(tokens):
            if tokens[k + 1].text == "function":
                while k < len(tokens) and tokens[k].text != "endfunction":
                    k += 1
                continue
            end = _block_end(tokens, k + 1)
            blocks.append((k + 1, end))
            k = end
            continue
        k += 1
    return blocks


def state_variables(text: str) -> list[StateVariable]:
    """The variables of the Verilog-A source ``text`` that keep state (see the module)."""
    tokens = _tokens(text)
    names = _declared(tokens)
    assigned: set[str] = set()
    assigned_in_event: set[str] = set()
    found: dict[str, StateVariable] = {}
    for start, end in _analog_blocks(tokens):
        event_until = -1
        pending: list[str] = []  # assigned at the end of the present statement
        k = start
        while k < end:
            token = tokens[k]
            if token.text == "@" and k + 1 < end and tokens[k + 1].text == "(":
                body = _matching(tokens, k + 1, "(", ")")
                event_until = max(event_until, _block_end(tokens, body))
                k = body
                continue
            in_event = k < event_until
            if token.text in ("real", "integer"):  # a declaration inside the block
                while k < end and tokens[k].text != ";":
                    k += 1
                continue
            if token.text == ";":
                assigned.update(n for n in pending if n not in assigned_in_event)
                pending = []
            elif token.text in names:
                is_write = k + 1 < end and tokens[k + 1].text == "="
                if is_write:
                    if in_event and token.text not in assigned:
                        assigned_in_event.add(token.text)
                    else:
                        assigned_in_event.discard(token.text)
                        pending.append(token.text)
                elif token.text not in found and not in_event:
                    if token.text in assigned_in_event:
                        reason = "is assigned only in an event (@) and read outside it"
                    elif token.text not in assigned:
                        reason = "is read before it is assigned"
                    else:
                        reason = ""
                    if reason:
                        found[token.text] = StateVariable(token.text, token.line, reason)
            k += 1
    return sorted(found.values(), key=lambda v: v.line)


def check_file(va_path: str | Path) -> list[str]:
    """:func:`state_variables` of a ``.va`` file, as one message each."""
    path = Path(va_path)
    return [v.message(str(path)) for v in state_variables(path.read_text(errors="replace"))]


__all__ = ["StateVariable", "VerilogAStateWarning", "check_file", "state_variables"]
