"""Python side of the real-Postfix test peer (tests/peers/postfix.sh).

    peer = start_postfix(workdir, cert, key, ca)   # None if Postfix can't run here
    ...
    peer.stop()

``start_postfix`` returns ``None`` (and logs why; ``postfix_unavailable_reason()``
gives the same text for ``pytest.skip``) when Postfix is not installed or we are
not root. When Postfix *is* available but fails to start, it raises
``PostfixStartError``: that is a real failure, not a reason to skip.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

SCRIPT = Path(__file__).with_name("postfix.sh")
IP = "127.0.2.25"
HOSTNAME = "mail.postfix.test"
PORTS = {"smtp": 25, "submissions": 465, "submission": 587}
# The one sasldb account the script creates (overridable through the same
# environment variables the script reads). Relaying stays refused even when
# authenticated; the peer never delivers anything.
SASL_USER = os.environ.get("MXAUDIT_POSTFIX_SASL_USER", "mxaudit")
SASL_PASSWORD = os.environ.get("MXAUDIT_POSTFIX_SASL_PASSWORD", "mxaudit-test-only")

# Set to 1 (e.g. in CI) to make a missing Postfix an error instead of a skip.
REQUIRE_ENV = "MXAUDIT_REQUIRE_POSTFIX"


class PostfixStartError(RuntimeError):
    """Postfix is installed but the peer did not come up."""


def postfix_unavailable_reason() -> str | None:
    """Why the Postfix peer cannot run on this machine, or None if it can."""
    missing = [p for p in ("/usr/sbin/postfix", "/usr/lib/postfix/sbin/master", "/usr/sbin/saslpasswd2")
               if not os.access(p, os.X_OK)]
    if missing:
        return (f"Postfix peer unavailable: {', '.join(missing)} not installed "
                f"(run as root: {SCRIPT} install)")
    if os.geteuid() != 0:
        return "Postfix peer unavailable: starting a Postfix instance needs root"
    for tool in ("openssl", "setpriv", "script"):
        if shutil.which(tool) is None:
            return f"Postfix peer unavailable: {tool} not found"
    return None


def _run(*args: str, timeout: float, env: dict[str, str] | None = None
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL,
                          env=None if env is None else {**os.environ, **env})


@dataclass
class PostfixPeer:
    workdir: Path
    ip: str = IP
    hostname: str = HOSTNAME
    ports: dict[str, int] = field(default_factory=lambda: dict(PORTS))
    sasl_user: str = SASL_USER
    sasl_password: str = SASL_PASSWORD
    env: dict[str, str] = field(default_factory=dict)   # the script's MXAUDIT_POSTFIX_* settings
    _stopped: bool = field(default=False, repr=False)

    @property
    def log_file(self) -> Path:
        return self.workdir / "log" / "postfix.log"

    def is_running(self) -> bool:
        return _run("status", str(self.workdir), timeout=30, env=self.env).returncode == 0

    def stop(self) -> None:
        """Stop the instance and wait until it is gone. Safe to call twice."""
        if self._stopped:
            return
        res = _run("stop", str(self.workdir), timeout=60, env=self.env)
        if res.returncode != 0:
            raise RuntimeError(f"postfix.sh stop failed:\n{res.stdout}{res.stderr}")
        self._stopped = True

    def __enter__(self) -> PostfixPeer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_postfix(workdir: Path, cert: Path, key: Path, ca: Path | None = None,
                  timeout: float = 120, *, ip: str = IP, count_limit: int | None = None,
                  rate_limit: int | None = None, rate_unit: str | None = None
                  ) -> PostfixPeer | None:
    """Start the peer with config/log under ``workdir``; None if Postfix can't run here.

    ``cert`` must be valid for mail.postfix.test; ``ca`` (optional) is used by
    the script to check the cert and to verify the TLS handshake on 465. ``ip`` (in
    127.0.2.0/24) runs a second instance beside the first; ``count_limit``, ``rate_limit``
    and ``rate_unit`` ("60s") set Postfix's own client limits (anvil), loopback not exempted.
    """
    reason = postfix_unavailable_reason()
    if reason is not None:
        log.warning("%s", reason)
        if os.environ.get(REQUIRE_ENV, "") not in ("", "0"):
            raise PostfixStartError(f"{reason} (and {REQUIRE_ENV} is set)")
        return None
    workdir = Path(workdir)
    env = {"MXAUDIT_POSTFIX_IP": ip}
    for name, value in (("COUNT_LIMIT", count_limit), ("RATE_LIMIT", rate_limit),
                        ("RATE_UNIT", rate_unit)):
        if value is not None:
            env[f"MXAUDIT_POSTFIX_{name}"] = str(value)
    args = ["start", str(workdir), str(cert), str(key)] + ([str(ca)] if ca else [])
    try:
        res = _run(*args, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as exc:
        _run("stop", str(workdir), timeout=60, env=env)
        raise PostfixStartError(f"postfix.sh start timed out after {timeout}s") from exc
    if res.returncode != 0:
        _run("stop", str(workdir), timeout=60, env=env)
        raise PostfixStartError(f"postfix.sh start failed (exit {res.returncode}):\n{res.stdout}{res.stderr}")
    log.info("%s", res.stdout.strip())
    return PostfixPeer(workdir=workdir, ip=ip, env=env)
