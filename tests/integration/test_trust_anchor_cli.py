"""--trust-anchor on the command line: a missing or malformed file is a usage error (exit 2,
one line naming the file), before anything is scanned."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("content, message", [
    (None, "cannot read"),
    ("example. IN A 192.0.2.1\n", "only DS and DNSKEY records can be trust anchors"),
    ("this is not a zone file\n", "not DS or DNSKEY records in zone-file format"),
])
def test_bad_trust_anchor_exits_2(run_cli, tmp_path, content, message):
    anchor = tmp_path / "anchor.key"
    if content is not None:
        anchor.write_text(content)
    proc = run_cli(["scan", "-d", "example.test", "--nameserver", "127.0.0.1:9",
                    "--trust-anchor", anchor, "--out", tmp_path / "out", "--db", tmp_path / "db"])
    assert proc.returncode == 2
    assert f"--trust-anchor {anchor}" in proc.stderr and message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out" / "domains.csv").exists()
