"""The rating: a letter grade (A+ to F, or "not graded") next to the 0-100 score, the caps that
limited it, and the fixes that would raise it. Pure: findings, the profile and the evidence in.

docs/rating.md is the rating guide; ``GUIDE_VERSION`` names the version of it this module
implements, and every verdict records it, so a re-graded old scan is explainable. In short:

1. Invalid input is not graded. A domain of which nothing could be tested is not graded.
2. Every check that does not pass has a severity under the profile (scanner/profiles/severity.py):
   critical, high, medium, low or none. The worst subject of a check counts, per scope (port 25
   and submission ports may differ). A well-formed null MX exempts the checks that protect
   inbound mail (MTA-STS, TLS-RPT, DANE, the MX host's DNSSEC).
3. Score: 100 minus a penalty per check (critical 40, high 15, medium 6, low 2, times the
   profile's weight), at least 0 (Mozilla HTTP Observatory's model). An unmet requirement whose
   check's status carries no severity counts at the check's fail severity, at most high.
4. Compliance bounds the score: a compliant domain scores 50-100, one with an observed failure
   (or invalid) 0-49 (internet.nl: a failed required test costs its category). A domain that
   does not exist, or could not be looked up, scores 0.
5. Grade: the score's band (A 90+, B 75+, C 60+, D 40+, F below), capped by the worst severity
   (critical F, high C, medium B, low A: SSL Labs' caps); A+ is an A with nothing to improve.
6. A required check in ``error`` leaves the domain not graded, unless every outcome it could
   have gives the same grade (the grade is computed with it passed and with it failed).
7. SMTP endpoints that the scanner's own network kept from being probed (CHECKS.md "Scan
   environment": ``SmtpProbe.environment`` is env.port25 or env.ipv6 and no connection was
   made) are left out of the score, and the checks they left untested are treated like rule
   6: graded only when every outcome they could have gives the same grade, else not graded
   (never F because of the scanner's network, never A by omission). A host judged on its
   other addresses (an IPv6 address held back, IPv4 probed) is graded, A at best.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from scanner.evidence.smtp import DEFAULT_PORTS
from scanner.findings import SEVERITY, Finding, Status, subject_endpoint
from scanner.profiles import Profile
from scanner.profiles.severity import LEVELS, SUBMISSION, max_level, rank

if TYPE_CHECKING:
    from scanner.evidence import DomainEvidence

GUIDE_VERSION = "1"
GRADES = ("A+", "A", "B", "C", "D", "F")          # best first
NOT_GRADED = "not graded"
MEANINGS = {
    "A+": "Exemplary: everything the profile rates passes, hardening included.",
    "A": "Strong: no real weakness; only low-severity improvements are left.",
    "B": "Good, with a moderate weakness (e.g. DMARC not enforcing, no MTA-STS, TLS 1.0 still "
         "accepted).",
    "C": "A serious weakness (e.g. no DMARC, only outdated TLS, an untrusted certificate on a "
         "submission port).",
    "D": "Fails a requirement of the profile, or has several serious weaknesses.",
    "F": "Broken or exposed: mail or passwords in clear, spoofing invited (SPF +all), DNSSEC "
         "bogus, a domain that does not exist - or many serious weaknesses at once.",
    NOT_GRADED: "Not a domain, or a required check (or, from the scanning host, a mail server "
                "port) could not be tested and its outcome could change the grade.",
}
PENALTY = {"critical": 40, "high": 15, "medium": 6, "low": 2}
CAP = {"critical": "F", "high": "C", "medium": "B", "low": "A"}
ENV_CAP = "A"                       # graded on part of what the scanner's network held back
BANDS = ((90, "A"), (75, "B"), (60, "C"), (40, "D"), (0, "F"))
COMPLIANT_MIN, NOT_COMPLIANT_MAX = 50, 49
PREREQUISITES = ("domain.valid", "domain.exists")
# A well-formed null MX receives no mail: what protects mail *to* the domain does not apply.
NULL_MX_EXEMPT = frozenset({"mta_sts.record", "mta_sts.policy", "mta_sts.mode",
                            "mta_sts.mx_coverage", "tls_rpt.record", "dane.tlsa", "dane.rollover",
                            "dnssec.mx_signed"})
_RATED = (Status.PASS, Status.WARN, Status.FAIL)
_RANK = {level: rank(level) for level in LEVELS}
# score group -> the registry categories it covers: the report's "score by category" (issue 5's
# transport security, sender authentication and policy records; mail routing counts as transport)
SCORE_GROUPS: dict[str, tuple[str, ...]] = {
    "transport": ("mx", "transport"),
    "sender": ("sender",),
    "policy": ("policy",),
}
GROUP_TITLES = {"transport": "Transport security (MX and SMTP)",
                "sender": "Sender authentication", "policy": "Policy records"}
_GROUP_OF = {c: g for g, cats in SCORE_GROUPS.items() for c in cats}
_SUBMISSION_ROLES = ("submission", "submissions")
_PORT_ROLES = {p.port: p.role for p in DEFAULT_PORTS}
# Cap kinds in the order the caps are listed (worst first); severities in between.
_KIND_ORDER = {k: i for i, k in enumerate(("invalid", "untested", "env-untested", "critical",
                                           "unmet", "high", "medium", "low", "env"))}


_GRADE_RANK = {g: len(GRADES) - i for i, g in enumerate(GRADES)}


def grade_rank(grade: str) -> int:
    """Higher is better: A+ 6 ... F 1, not graded (or no grade) 0."""
    return _GRADE_RANK.get(grade, 0)


def worse(a: str, b: str) -> str:
    return a if grade_rank(a) <= grade_rank(b) else b


def band(score: float) -> str:
    return next(letter for floor, letter in BANDS if score >= floor)


# ------------------------------------------------------------------------------ observation
@dataclass(frozen=True)
class Observation:
    """What the rating reads from one domain's findings."""

    full: Mapping[str, Status]                     # check -> worst status of every subject
    rated: Mapping[str, Mapping[str, Status]]      # check -> scope -> worst, held subjects left out
    # Rule 7: checks left untested on an endpoint the scanner's network held back - ``env``
    # where no other address of the host was judged on that port, ``env_partial`` where one
    # was - and the scan-environment notes (env.port25, env.ipv6) that held them back.
    env: frozenset[str] = frozenset()
    env_partial: frozenset[str] = frozenset()
    env_notes: frozenset[str] = frozenset()
    partial_notes: frozenset[str] = frozenset()

    @property
    def held(self) -> frozenset[str]:
        """Every check with a held-back subject."""
        return self.env | self.env_partial


def observe(findings: Iterable[Finding], evidence: DomainEvidence | None = None) -> Observation:
    scopes_of = _scopes(evidence)
    held = _held(evidence)
    severity = SEVERITY
    untested = (Status.ERROR, Status.SKIPPED)
    full: dict[str, Status] = {}
    rated: dict[str, dict[str, Status]] = {}
    env: dict[str, set[str]] = {}          # "" (no other address judged) / "partial" -> checks
    notes: dict[str, set[str]] = {}
    for f in findings:
        check, status, subject = f.check, f.status, f.subject
        cur = full.get(check)
        if cur is None or severity[status] > severity[cur]:
            full[check] = status
        if held and status in untested:
            why = held.get(subject)
            if why is not None and _applies(check, why[0]):
                kind = "partial" if why[2] else ""
                env.setdefault(kind, set()).add(check)
                notes.setdefault(kind, set()).add(why[1])
                rated.setdefault(check, {})
                continue
        # an SMTP endpoint ('host [ip]:port') is rated in its port's scope
        scope = scopes_of(subject) if subject[-1:].isdigit() and "]:" in subject else ""
        scopes = rated.get(check)
        if scopes is None:
            rated[check] = {scope: status}
            continue
        cur = scopes.get(scope)
        if cur is None or severity[status] > severity[cur]:
            scopes[scope] = status
    if not env:
        return Observation(full, rated)
    return Observation(full, rated, frozenset(env.get("", ())), frozenset(env.get("partial", ())),
                       frozenset(notes.get("", ())), frozenset(notes.get("partial", ())))


def _held(ev: DomainEvidence | None) -> dict[str, tuple[str, str, bool]]:
    """SMTP endpoints the scanner's own network kept from being probed (the probe names the
    scan-environment note and no connection was made): subject -> (role, note, whether the
    same host was judged on another address on that port). Read from the evidence, never
    from a message: text quoted from a server cannot excuse anything."""
    probes = () if ev is None else ev.smtp or ()
    held = [p for p in probes if p.environment and not p.connected]
    if not held:
        return {}
    judged = {(p.host, p.port) for p in probes if not (p.environment and not p.connected)}
    return {subject_endpoint(p.host, p.ip, p.port): (p.role, p.environment,
                                                       (p.host, p.port) in judged)
            for p in held}


def _applies(check: str, role: str) -> bool:
    """Whether ``check`` judges an endpoint of ``role`` (for the others it is not applicable)."""
    from scanner.checks.smtp import ENDPOINT_ROLES

    if check not in ENDPOINT_ROLES:
        return False
    roles = ENDPOINT_ROLES[check]
    return roles is None or role in roles


def _scopes(ev: DomainEvidence | None):
    """subject -> scope: SUBMISSION for an endpoint on a submission port (its role from the
    evidence, else the default role of its port number), "" otherwise."""
    known = {} if ev is None else {
        subject_endpoint(p.host, p.ip, p.port): SUBMISSION if p.role in _SUBMISSION_ROLES else ""
        for p in ev.smtp or ()}

    def scope(subject: str) -> str:
        found = known.get(subject)
        if found is not None:
            return found
        port = subject.rpartition("]:")[2]
        role = _PORT_ROLES.get(int(port), "smtp") if port.isdigit() else "smtp"
        return SUBMISSION if role in _SUBMISSION_ROLES else ""

    return scope


# ------------------------------------------------------------------------------ the rating
@dataclass(frozen=True)
class Penalty:
    check: str
    severity: str
    points: float
    unmet: bool = False          # counted because the profile's requirement is not met


@dataclass(frozen=True)
class Rating:
    grade: str
    score: int
    caps: tuple[str, ...]
    failed: tuple[str, ...] = ()          # required checks observed outside the requirement
    undetermined: tuple[str, ...] = ()    # required checks that could not be tested
    invalid: bool = False
    penalties: tuple[Penalty, ...] = ()
    range: tuple[str, str] | None = None  # (worst, best) grade when not graded

    @property
    def compliant(self) -> bool:
        return not self.failed and not self.undetermined and not self.invalid


def assess(obs: Observation, profile: Profile, categories: Mapping[str, str],
           evidence: DomainEvidence | None = None, *, fixed: Iterable[str] = (),
           broken: Iterable[str] = ()) -> Rating:
    """Rate one domain. ``fixed``/``broken``: checks taken as passed (their requirement met) or
    failed instead of what was observed - the hypotheses behind "what would raise the grade"
    and "could an untested check change it"."""
    fixed, broken = frozenset(fixed), frozenset(broken)
    rating = _assess(obs, profile, categories, evidence, fixed, broken)
    untested = _untested(obs, rating)
    held = obs.env - fixed - broken if not rating.invalid else frozenset()
    if not (untested or held) or "untested:all" in rating.caps:
        return rating
    best = (_assess(obs, profile, categories, evidence, fixed | untested, broken)
            if untested else rating)
    worst = _assess(obs, profile, categories, evidence, fixed, broken | untested, held)
    if best.grade == worst.grade:
        return replace(rating, grade=best.grade)
    env = [f"env-untested:{n}" for n in obs.env_notes] if held else []
    kept = [c for c in rating.caps if not (env and c.startswith("env:")
                                           and c[4:] in obs.env_notes)]
    caps = _sorted_caps([f"untested:{c}" for c in untested] + env + kept, categories)
    return Rating(NOT_GRADED, rating.score, caps, rating.failed, rating.undetermined,
                  rating.invalid, rating.penalties, (worst.grade, best.grade))


def _untested(obs: Observation, rating: Rating) -> frozenset[str]:
    """Required (or prerequisite) checks in error for a reason of the domain, not of the
    scanner's network; empty for invalid input, which is not graded anyway."""
    if rating.invalid:
        return frozenset()
    out = {c for c in rating.undetermined if not _env_only(obs, c)}
    out.update(c for c in PREREQUISITES if obs.full.get(c) is Status.ERROR)
    return frozenset(out)


def _env_only(obs: Observation, check: str) -> bool:
    """True when every error subject of the check was held back by the scanner's network
    (rule 7 deals with it)."""
    return check in obs.held and Status.ERROR not in obs.rated.get(check, {}).values()


def _assess(obs: Observation, profile: Profile, categories: Mapping[str, str],
            evidence: DomainEvidence | None, fixed: frozenset[str],
            broken: frozenset[str], held: frozenset[str] = frozenset()) -> Rating:
    """``held``: checks left untested by the scanner's network, taken as failed at their worst
    (rule 7's lower bound)."""
    statuses: Mapping[str, Status] = obs.full
    if fixed or broken or held:
        statuses = {**obs.full, **dict.fromkeys(fixed, Status.PASS),
                    **dict.fromkeys(broken | held, Status.FAIL)}
    failed, undetermined = [], []
    get = statuses.get
    for req in profile.requirements:
        check = req.check
        if check in fixed:
            continue
        outcome = req.outcome(get(check), evidence)
        if outcome is not None:
            (failed if outcome == "failed" else undetermined).append(check)
    failed_t, undetermined_t = tuple(dict.fromkeys(failed)), tuple(dict.fromkeys(undetermined))
    if statuses.get("domain.valid") is Status.FAIL:
        return Rating(NOT_GRADED, 0, ("invalid",), failed_t, undetermined_t, True)

    penalties = _penalties(obs, profile, evidence, statuses, fixed, broken, failed_t, held)
    prerequisites = all(statuses.get(c) in (Status.PASS, None) for c in PREREQUISITES)
    rating = _graded(obs, penalties, failed_t, undetermined_t, prerequisites, categories)
    if not fixed and not broken and not _assessed(obs):
        return replace(rating, grade=NOT_GRADED,
                       caps=_sorted_caps(["untested:all", *rating.caps], categories))
    return rating


def _graded(obs: Observation, penalties: tuple[Penalty, ...], failed: tuple[str, ...],
            undetermined: tuple[str, ...], prerequisites: bool,
            categories: Mapping[str, str] | None) -> Rating:
    """Rules 6 to 9 and 11 on what the domain's checks and requirements came to: the score,
    its bounds, the band and the caps (``categories`` None: the caps' list is not wanted)."""
    points = sum(p.points for p in penalties)
    score = max(0, round(100 - points))
    if failed:
        score = min(score, NOT_COMPLIANT_MAX)
    elif not undetermined:
        score = max(score, COMPLIANT_MIN)
    if not prerequisites:
        score = 0
    notes = obs.env_notes | obs.partial_notes
    letter = band(score)
    for p in penalties:
        letter = worse(letter, CAP[p.severity])
    if notes:
        letter = worse(letter, ENV_CAP)
    elif letter == "A" and not penalties and not failed:
        letter = "A+"
    caps = () if categories is None else _sorted_caps(
        [f"{p.severity}:{p.check}" for p in penalties] + [f"unmet:{c}" for c in failed]
        + [f"env:{n}" for n in notes], categories)
    return Rating(letter, score, caps, failed, undetermined, False, penalties)


def _penalties(obs: Observation, profile: Profile, evidence: DomainEvidence | None,
               statuses: Mapping[str, Status], fixed: frozenset[str], broken: frozenset[str],
               failed: Sequence[str], held: frozenset[str] = frozenset()) -> tuple[Penalty, ...]:
    null_mx = statuses.get("mx.null") is Status.INFO
    levels: dict[str, str] = {}
    fail, warn, env = Status.FAIL, Status.WARN, obs.held
    for check, worst in obs.full.items():
        if worst is not fail and worst is not warn and check not in env:
            continue        # passed, skipped...: nothing to rate (the common case, made cheap)
        judged = [(scope, s) for scope, s in obs.rated.get(check, {}).items()
                  if s is fail or s is warn]
        if not judged or check in fixed or check in broken or check in held \
                or (null_mx and check in NULL_MX_EXEMPT):
            continue
        rule = profile.rule(check)
        level = None
        for scope, status in judged:
            found = rule.level(status, scope)
            if found is not None and status is fail and found == rule.fail \
                    and rule.plus_all_critical and _plus_all(evidence):
                found = "critical"
            if found is not None and (level is None or _RANK[found] > _RANK[level]):
                level = found
        if level is not None:
            levels[check] = level
    for check in broken:
        levels[check] = profile.rule(check).worst(Status.FAIL) or "high"
    for check in held:          # the worst the check can say, under this profile
        rule = profile.rule(check)
        level = max_level(rule.worst(Status.FAIL), rule.worst(Status.WARN))
        if level is not None:
            levels[check] = level
    unmet = set()
    for check in failed:
        # skipped: not applicable because of an earlier problem, which carries the penalty
        # (CHECKS.md counts one fault once); the requirement stays unmet all the same
        level = profile.rule(check).worst(Status.FAIL)
        if rank(level) > rank("high"):   # nothing wrong was observed: absent, not broken
            level = "high"
        if (check not in levels and level and statuses.get(check) is not Status.SKIPPED
                and not (null_mx and check in NULL_MX_EXEMPT)):
            levels[check] = level
            unmet.add(check)
    return tuple(Penalty(c, lvl, PENALTY[lvl] * profile.weight(c), c in unmet)
                 for c, lvl in levels.items())


def _plus_all(evidence: DomainEvidence | None) -> bool:
    from scanner.profiles import fact_values

    return evidence is not None and fact_values("spf.all", evidence) == ("+all",)


def _assessed(obs: Observation) -> bool:
    """Whether anything beyond the prerequisites got a pass, warn or fail (or the domain was
    found not to exist: a definite finding)."""
    return obs.full.get("domain.exists") is Status.FAIL or any(
        status in _RATED for check, scopes in obs.rated.items()
        if check not in PREREQUISITES for status in scopes.values())


def category_scores(obs: Observation, rating: Rating,
                    categories: Mapping[str, str]) -> dict[str, float]:
    """Score group -> 100 minus the penalties of its checks, for the groups with at least one
    check that passed, warned or failed: the report's "score by category", which shows where
    the points went (the domain's score is not their average)."""
    penalties = rating.penalties
    group_of = _GROUP_OF
    present = {group_of[categories[c]] for c, scopes in obs.rated.items()
               if c not in PREREQUISITES and categories.get(c) in group_of
               and any(s in _RATED for s in scopes.values())}
    lost: dict[str, float] = {}
    for p in penalties:
        g = group_of.get(categories.get(p.check, ""))
        if g is not None:
            lost[g] = lost.get(g, 0.0) + p.points
    return {g: max(0.0, 100.0 - lost.get(g, 0.0)) for g in SCORE_GROUPS if g in present}


_order_memo: list = [None, {}]      # (the categories mapping, check -> catalogue position)


def _catalogue_order(categories: Mapping[str, str]) -> dict[str, int]:
    if _order_memo[0] is not categories or len(_order_memo[1]) != len(categories):
        _order_memo[:] = [categories, {c: i for i, c in enumerate(categories)}]
    return _order_memo[1]


def _sorted_caps(caps: Iterable[str], categories: Mapping[str, str]) -> tuple[str, ...]:
    caps = tuple(dict.fromkeys(caps))
    if len(caps) < 2:
        return caps
    order = _catalogue_order(categories)

    def key(cap: str) -> tuple[int, int, str]:
        kind, _, check = cap.partition(":")
        return _KIND_ORDER.get(kind, len(_KIND_ORDER)), order.get(check, len(order)), check

    return tuple(sorted(caps, key=key))


# ------------------------------------------------------------------------------ fixes
@dataclass(frozen=True)
class Step:
    """Fixing ``checks`` (together) raises the grade from ``before`` to ``after``."""

    checks: tuple[str, ...]
    before: str
    after: str
    score_before: int
    score_after: int


def improvements(obs: Observation, profile: Profile, categories: Mapping[str, str],
                 evidence: DomainEvidence | None = None,
                 current: Rating | None = None) -> list[Step]:
    """The shortest list of fixes that raises the grade the most, as steps in the order to
    take them: each step is the smallest set of checks whose fixing raises the grade further
    (found by re-grading hypothetical statuses), until the best grade the fixes reach. Unmet
    requirements come first (they bound the score), then by severity. A required check that
    is only ``skipped`` because of an earlier problem of its family (``dmarc.pct`` without a
    DMARC record) is fixed together with that family's fix. Empty for a domain that is not
    graded or already A+."""
    current = current or assess(obs, profile, categories, evidence)
    if current.grade not in GRADES or current.grade == "A+" or _untested(obs, current) \
            or obs.env or obs.full.get("domain.exists", Status.PASS) is not Status.PASS:
        return []    # a domain that does not exist, or whose checks were not all tested
    order = _catalogue_order(categories)
    points = {p.check: (rank(p.severity), p.points) for p in current.penalties}
    followers = {c for c in current.failed if obs.full.get(c) is Status.SKIPPED}
    todo = [c for c in {*points, *current.failed} if c not in followers]
    families = {_family(c) for c in todo}
    todo += [c for c in followers if _family(c) not in families]
    todo.sort(key=lambda c: (c not in current.failed, *(-x for x in points.get(c, (0, 0))),
                             order.get(c, len(order)), c))

    def rate(checks: Iterable[str]) -> Rating:
        """The rating with ``checks`` (and the followers of their families) passed and their
        requirements met: what ``assess(..., fixed=...)`` gives, from the current rating's
        parts - a check's penalty and requirement depend on that check alone."""
        chosen = frozenset(checks)
        known = tried.get(chosen)
        if known is not None:
            return known
        if followers:
            fams = {_family(c) for c in chosen}
            chosen = chosen | {c for c in followers if _family(c) in fams}
        result = tried[chosen] = _graded(
            obs, tuple(p for p in current.penalties if p.check not in chosen),
            tuple(c for c in current.failed if c not in chosen),
            tuple(c for c in current.undetermined if c not in chosen), True, None)
        return result

    tried: dict[frozenset[str], Rating] = {}

    target = grade_rank(rate(todo).grade)
    steps: list[Step] = []
    done: list[str] = []
    now = current
    while todo and grade_rank(now.grade) < target:
        # the first fix, in priority order, that raises the grade on its own; else the
        # smallest group that does
        group, best = [], now
        for c in todo:
            trial = rate([*done, c])
            if grade_rank(trial.grade) > grade_rank(now.grade):
                group, best = [c], trial
                break
        if not group:
            group, best = _smallest_raise(todo, done, now, rate)
        steps.append(Step(tuple(group), now.grade, best.grade, now.score, best.score))
        done.extend(group)
        todo = [t for t in todo if t not in group]
        now = best
    return steps


def _family(check: str) -> str:
    return check.split(".", 1)[0]


def _smallest_raise(todo: list[str], done: list[str], now: Rating, rate) -> tuple[list[str], Rating]:
    """Fixes taken in priority order until the grade rises, then every one that the rise does
    not need dropped (caps: all findings of the binding severity have to go together)."""
    group: list[str] = []
    result = now
    for c in todo:
        group.append(c)
        result = rate([*done, *group])
        if grade_rank(result.grade) > grade_rank(now.grade):
            break
    for c in list(group):
        if len(group) == 1:
            break
        trial = [g for g in group if g != c]
        tried = rate([*done, *trial])
        if grade_rank(tried.grade) > grade_rank(now.grade):
            group, result = trial, tried
    return group, result


NO_GRADE = "no grade"      # a verdict stored before the rating guide (re-grade to get one)


def distribution(grades: Mapping[str, int]) -> list[tuple[str, int]]:
    """(grade, count) for A+ .. F and not graded, in that order, then "no grade" if any (the
    summary's chart); ``grades``: grade -> count, "" for verdicts without a grade."""
    out = [(g, grades.get(g, 0)) for g in (*GRADES, NOT_GRADED)]
    old = sum(n for g, n in grades.items() if g not in GRADES and g != NOT_GRADED)
    return out + [(NO_GRADE, old)] if old else out


def distribution_text(grades: Mapping[str, int]) -> str:
    """'A 2, B 1, F 3, not graded 1': the grades that occur, best first ("none" for none)."""
    return ", ".join(f"{g} {n}" for g, n in distribution(grades) if n) or "none"


# One slot: the last domain rated by ``rate_findings`` (the verdict of ``judge``), so the report
# writer that renders the result next (its category scores, its fixes) does not rate it again.
_last: list = [None]


def rate_findings(findings: Sequence[Finding], profile: Profile, categories: Mapping[str, str],
                  evidence: DomainEvidence | None = None) -> tuple[Observation, Rating]:
    obs = observe(findings, evidence)
    rating = assess(obs, profile, categories, evidence)
    _last[0] = (findings, profile, obs, rating)
    return obs, rating


def recall(findings: Sequence[Finding], profile: Profile) -> tuple[Observation, Rating] | None:
    """The observation and rating of these very findings under this very profile, if they were
    the last rated (identity, not equality: a stored result decoded again is rated again)."""
    slot = _last[0]
    if slot is not None and slot[0] is findings and slot[1] is profile:
        return slot[2], slot[3]
    return None
