"""SPF record syntax (RFC 7208 section 12's ABNF, as a whole), pure: terms separated by
single spaces, qualifiers, mechanisms, modifiers, domain-specs, macros, CIDR lengths.

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
_QUALIFIED = re.compile(r"[+\-~?]")
_MODIFIER = re.compile(r"([A-Za-z][A-Za-z0-9_\-.]*)=(.*)\Z", re.S)
# dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ], at the end of a / mx
_DUAL_CIDR = re.compile(r"(?:/([0-9]*))?(?://([0-9]*))?\Z")
# macro-expand = "%{" macro-letter transformers *delimiter "}" / "%%" / "%_" / "%-"
_MACRO = re.compile(r"%(?:\{([A-Za-z])([0-9]*)(r?)([.\-+,/_=]*)\}|%|_|-)", re.I)
_DOMAIN_END_MACRO = re.compile(r"%\{[A-Za-z][0-9]*[rR]?[.\-+,/_=]*\}\.?\Z")
# toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
_TOPLABEL = re.compile(r"(?:[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*"
                       r"|[A-Za-z0-9]+-[A-Za-z0-9-]*[A-Za-z0-9])\Z")
_IP4 = re.compile(r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}"
                  r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])")
_IP6_CHARS = re.compile(r"[0-9A-Fa-f:.]+")     # RFC 4291 2.2 text: no zone index, no spaces
_MACRO_LETTERS = set("slodiphv")


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
    """Parse against RFC 7208 section 12's ABNF as a whole::

        record = version terms *SP          version = "v=spf1"
        terms  = *( 1*SP ( directive / modifier ) )

    Terms are separated by SP (0x20) only: a tab, CR or LF between two terms is a syntax
    error (the term that contains it fails ``macro-literal``), not a separator."""
    errors: list[str] = []
    if not record[:6].lower() == "v=spf1" or record[6:7] not in ("", " "):
        errors.append("the record does not start with v=spf1")
        first, _, rest = record.partition(" ")
        tokens = ([first] if not first.lower().startswith("v=") else []) + rest.split(" ")
    else:
        tokens = record[6:].split(" ")
    terms = tuple(_parse_term(tok) for tok in tokens if tok)
    errors.extend(f"{t.text!s}: {t.error}" for t in terms if t.error)
    for name in ("redirect", "exp"):
        if sum(1 for t in terms if t.kind == "modifier" and t.name == name) > 1:
            errors.append(f"the {name} modifier appears more than once")
    return SpfRecord(record, terms, tuple(errors))


def _parse_term(tok: str) -> SpfTerm:
    bad = next((c for c in tok if not 0x21 <= ord(c) <= 0x7E), None)
    if bad is not None:     # no production of the ABNF admits it (not even macro-literal)
        return SpfTerm(tok, "unknown", tok.lower(), error=f"invalid character {bad!r} "
                       "(terms are separated by single spaces only)")
    mod = _MODIFIER.match(tok)
    if mod and not _QUALIFIED.match(tok):
        name, value = mod.group(1).lower(), mod.group(2)
        error = ""
        if name in ("redirect", "exp"):
            error = domain_spec_error(value)
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
    cidr = _DUAL_CIDR.search(rest)
    body = rest[:cidr.start()]
    v4, v6 = cidr.group(1), cidr.group(2)
    if body and not body.startswith(":"):
        return "", f"malformed {name} term"
    spec = body[1:]
    if body and not spec:
        return "", f"{name}: empty domain after ':'"
    for length, limit in ((v4, 32), (v6, 128)):
        if length is not None and not _cidr_ok(length, limit):
            return spec, f"invalid prefix length /{length}"
    return spec, domain_spec_error(spec) if spec else ""


def _cidr_ok(length: str, limit: int) -> bool:
    """ip4-cidr-length / ip6-cidr-length: decimal, no leading zero, within the family."""
    return (length.isascii() and length.isdigit() and len(length) <= 3
            and (length == "0" or length[0] != "0") and int(length) <= limit)


def _network_error(name: str, text: str) -> str:
    addr, slash, length = text.partition("/")
    if name == "ip4":
        if not _IP4.fullmatch(addr):    # qnum: dotted quad, no leading zeros (RFC 7208 12)
            return f"{addr!r} is not an IPv4 address"
    else:
        try:
            ip = ipaddress.IPv6Address(addr) if _IP6_CHARS.fullmatch(addr) else None
        except ValueError:
            ip = None
        if ip is None:
            return f"{addr!r} is not an IPv6 address"
    if slash and not _cidr_ok(length, 32 if name == "ip4" else 128):
        return f"invalid prefix length /{length}"
    return ""


def macro_string_error(text: str) -> str:
    """'' when ``text`` is a macro-string (RFC 7208 7.1) whose macro letters may appear
    outside an explanation string: c, r and t are allowed only in the TXT record an
    ``exp=`` points to (7.3), never in a term."""
    pos = 0
    while pos < len(text):
        ch = text[pos]
        if ch == "%":
            m = _MACRO.match(text, pos)
            if not m:
                return f"invalid macro at position {pos}"
            letter, digits = m.group(1), m.group(2)
            if letter and letter.lower() not in _MACRO_LETTERS:
                return (f"macro letter {letter!r} is allowed only in explanation strings"
                        if letter.lower() in "crt" else f"invalid macro letter {letter!r}")
            if digits and int(digits) == 0:
                return f"macro transformer %{{{letter}0...}}: the number of parts must be 1 or more"
            pos = m.end()
            continue
        if not 0x21 <= ord(ch) <= 0x7E:
            return f"invalid character {ch!r}"
        pos += 1
    return ""


def domain_spec_error(text: str) -> str:
    """'' when ``text`` is a valid domain-spec (RFC 7208 7.1: ``macro-string domain-end``),
    else why not. A literal label longer than 63 octets, an empty label, or (without
    macros) a name longer than 253 octets can never be looked up: syntax errors too."""
    if not text:
        return "empty domain"
    error = macro_string_error(text)
    if error:
        return error
    # a macro's delimiters may be dots (%{d2.}): labels are split outside macros
    masked = _MACRO.sub(lambda m: "%m" if m.group(0).startswith("%{") else m.group(0), text)
    labels = masked[:-1].split(".") if masked.endswith(".") else masked.split(".")
    for label in labels:
        if "%" not in label and len(label) > 63:
            return f"label {label[:20]!r}... is longer than 63 octets"
    if "%" not in text and len(text.rstrip(".")) > 253:
        return f"name longer than 253 octets ({len(text.rstrip('.'))})"
    if _DOMAIN_END_MACRO.search(text):
        return ""   # domain-end is a macro-expand
    if len(labels) < 2 or not _TOPLABEL.match(labels[-1]):
        return f"{text!r} is not a fully qualified domain name"
    if any(not label for label in labels):
        return f"{text!r} has an empty label"
    return ""
