"""SPF record syntax (RFC 7208 section 12), pure: terms, qualifiers, domain-specs, macros.

SPF is not a tag=value record, so it has its own small parser. The collect stage uses it to
know which terms to follow during the tree walk; the checks use it again on the raw records
kept in the evidence (syntax, ``all``, ``ptr``). Never raises on hostile input.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

# Terms that cost one DNS-querying term each (RFC 7208 4.6.4); "redirect" is a modifier.
LOOKUP_MECHANISMS = frozenset({"include", "a", "mx", "ptr", "exists"})
MECHANISMS = LOOKUP_MECHANISMS | {"all", "ip4", "ip6"}

_MECH = re.compile(r"([+\-~?]?)([A-Za-z0-9]+)(.*)\Z", re.S)
_MODIFIER = re.compile(r"([A-Za-z][A-Za-z0-9_\-.]*)=(.*)\Z", re.S)
_CIDR = re.compile(r"(.*?)(?:/(\d+))?(?://(\d+))?\Z", re.S)
_MACRO = re.compile(r"%(?:\{([A-Za-z])(\d*)(r?)([.\-+,/_=]*)\}|%|_|-)")
_TOPLABEL = re.compile(r"(?=[A-Za-z0-9-]*[A-Za-z])[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\Z")
_MACRO_LETTERS = set("slodiphv")
_EXP_LETTERS = _MACRO_LETTERS | set("crt")


@dataclass(frozen=True)
class SpfTerm:
    text: str
    kind: str             # "mechanism" | "modifier"
    name: str             # lower case: "include", "a", ..., "redirect", "exp", other modifiers
    qualifier: str = "+"  # mechanisms only
    value: str = ""       # domain-spec or network, without the cidr lengths
    error: str = ""

    @property
    def counts_lookup(self) -> bool:
        """A DNS-querying term (RFC 7208 4.6.4)."""
        if self.kind == "mechanism":
            return self.name in LOOKUP_MECHANISMS
        return self.name == "redirect"

    @property
    def has_macro(self) -> bool:
        return "%" in self.value


@dataclass(frozen=True)
class SpfRecord:
    text: str
    terms: tuple[SpfTerm, ...]
    errors: tuple[str, ...]

    def mechanisms(self, name: str | None = None) -> tuple[SpfTerm, ...]:
        return tuple(t for t in self.terms
                     if t.kind == "mechanism" and (name is None or t.name == name))

    def modifier(self, name: str) -> SpfTerm | None:
        for t in self.terms:
            if t.kind == "modifier" and t.name == name:
                return t
        return None

    @property
    def all_term(self) -> SpfTerm | None:
        found = self.mechanisms("all")
        return found[0] if found else None

    @property
    def redirect(self) -> str | None:
        """The redirect target, unless an ``all`` makes the modifier moot (RFC 7208 6.1)."""
        term = self.modifier("redirect")
        if term is None or self.all_term is not None:
            return None
        return term.value

    @property
    def lookup_terms(self) -> tuple[SpfTerm, ...]:
        """DNS-querying terms in evaluation order (mechanisms, then an effective redirect)."""
        terms = tuple(t for t in self.terms if t.kind == "mechanism" and t.counts_lookup)
        redirect = self.modifier("redirect")
        if redirect is not None and self.redirect is not None:
            terms += (redirect,)
        return terms


def parse_spf(record: str) -> SpfRecord:
    tokens = record.split()
    errors: list[str] = []
    if not tokens or tokens[0].lower() != "v=spf1":
        errors.append("the record does not start with v=spf1")
        tokens = tokens[1:] if tokens and tokens[0].lower().startswith("v=") else tokens
    else:
        tokens = tokens[1:]
    terms = tuple(_parse_term(tok) for tok in tokens)
    errors.extend(f"{t.text!s}: {t.error}" for t in terms if t.error)
    for name in ("redirect", "exp"):
        if sum(1 for t in terms if t.kind == "modifier" and t.name == name) > 1:
            errors.append(f"the {name} modifier appears more than once")
    return SpfRecord(record, terms, tuple(errors))


def _parse_term(tok: str) -> SpfTerm:
    mod = _MODIFIER.match(tok)
    if mod and not re.match(r"[+\-~?]", tok):
        name, value = mod.group(1).lower(), mod.group(2)
        error = ""
        if name in ("redirect", "exp"):
            error = domain_spec_error(value, exp=(name == "exp"))
        else:
            error = macro_string_error(value)
        return SpfTerm(tok, "modifier", name, value=value, error=error)
    m = _MECH.match(tok)
    if not m or m.group(2).lower() not in MECHANISMS:
        return SpfTerm(tok, "unknown", tok.lower(), error="unknown mechanism or malformed term")
    qualifier, name, rest = m.group(1) or "+", m.group(2).lower(), m.group(3)
    value, error = _mechanism_value(name, rest)
    return SpfTerm(tok, "mechanism", name, qualifier, value, error)


def _mechanism_value(name: str, rest: str) -> tuple[str, str]:
    if name == "all":
        return "", ("" if not rest else "all takes no argument")
    if name in ("include", "exists"):
        if not rest.startswith(":") or len(rest) < 2:
            return "", f"{name} needs ':' and a domain"
        return rest[1:], domain_spec_error(rest[1:])
    if name in ("ip4", "ip6"):
        if not rest.startswith(":"):
            return "", f"{name} needs ':' and an address"
        return rest[1:], _network_error(name, rest[1:])
    # a, mx, ptr: [":" domain-spec] and, for a/mx, a dual-cidr-length
    spec = ""
    if name == "ptr":
        if rest and not rest.startswith(":"):
            return "", "malformed ptr"
        spec = rest[1:]
        if rest and not spec:
            return "", "ptr: empty domain after ':'"
        return spec, domain_spec_error(spec) if spec else ""
    cidr = _CIDR.match(rest)
    body, v4, v6 = cidr.group(1), cidr.group(2), cidr.group(3)
    if body and not body.startswith(":"):
        return "", f"malformed {name} term"
    spec = body[1:]
    if body and not spec:
        return "", f"{name}: empty domain after ':'"
    for length, limit in ((v4, 32), (v6, 128)):
        if length is not None and (int(length) > limit or (len(length) > 1 and length[0] == "0")):
            return spec, f"invalid prefix length /{length}"
    return spec, domain_spec_error(spec) if spec else ""


def _network_error(name: str, text: str) -> str:
    addr, _, length = text.partition("/")
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return f"{addr!r} is not an IPv{name[-1]} address"
    if ip.version != int(name[-1]):
        return f"{addr!r} is not an IPv{name[-1]} address"
    if length or "/" in text:
        limit = 32 if ip.version == 4 else 128
        if not length.isdigit() or int(length) > limit or (len(length) > 1 and length[0] == "0"):
            return f"invalid prefix length /{length}"
    return ""


def macro_string_error(text: str, *, exp: bool = False) -> str:
    letters = _EXP_LETTERS if exp else _MACRO_LETTERS
    pos = 0
    while pos < len(text):
        ch = text[pos]
        if ch == "%":
            m = _MACRO.match(text, pos)
            if not m:
                return f"invalid macro at position {pos}"
            if m.group(1) and m.group(1).lower() not in letters:
                return f"invalid macro letter {m.group(1)!r}"
            pos = m.end()
            continue
        if not 0x21 <= ord(ch) <= 0x7E:
            return f"invalid character {ch!r}"
        pos += 1
    return ""


def domain_spec_error(text: str, *, exp: bool = False) -> str:
    """'' when ``text`` is a valid domain-spec (RFC 7208 7.1), else why not."""
    if not text:
        return "empty domain"
    error = macro_string_error(text, exp=exp)
    if error:
        return error
    if _MACRO.search(text) and re.search(r"%\{[A-Za-z]\d*r?[.\-+,/_=]*\}\.?\Z", text):
        return ""   # domain-end is a macro-expand
    labels = text.rstrip(".").split(".")
    if len(labels) < 2 or not _TOPLABEL.match(labels[-1]):
        return f"{text!r} is not a fully qualified domain name"
    if any(not label for label in labels):
        return f"{text!r} has an empty label"
    return ""
