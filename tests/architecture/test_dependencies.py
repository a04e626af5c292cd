"""Every runtime dependency is imported by production code, or says in pyproject.toml why it
is there although mxaudit does not import it (a dependency of a dependency we need)."""
from __future__ import annotations

import re
import tomllib

from tests.architecture.imports import ROOT, imports_of, modules

IMPORT_NAME = {"dnspython": "dns", "dkimpy": "dkim", "pyspf": "spf", "pynacl": "nacl"}


def test_every_runtime_dependency_is_used_or_explained():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    deps = tomllib.loads(text)["project"]["dependencies"]
    used = {m.split(".")[0] for name in modules() for m in imports_of(name)}
    for dep in deps:
        dist = re.split(r"[<>=!~\[ ;]", dep, maxsplit=1)[0].lower()
        module = IMPORT_NAME.get(dist, dist.replace("-", "_"))
        if module in used:
            continue
        line = next(line for line in text.splitlines() if f'"{dep}"' in line)
        assert "not imported by us" in line, f"{dist}: not imported by scanner/ or reports/"
