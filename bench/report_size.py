"""Measure report.html at scale: file size, time to write it, and how long headless Chromium
takes to load and lay it out, for synthetic scans of realistic shape (tests/browser/synthetic.py:
real checks, real profile; MX hosts, three SMTP endpoints per address, TLS facts, records).

    python bench/report_size.py                       # 1,000 and 10,000 domains, baseline
    python bench/report_size.py 10000 --profile bod-18-01 --keep out/

Render time = Page.navigate until the load event, plus one forced layout (DevTools protocol).
Run from the repository root; needs Debian's chromium and websocket-client for the render part.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reports import write_reports  # noqa: E402
from reports.html import FULL_DETAIL_LIMIT  # noqa: E402
from scanner.api import get_profile  # noqa: E402
from scanner.checks import all_checks  # noqa: E402
from tests.browser.cdp import Chromium, chromium_path, version  # noqa: E402
from tests.browser.synthetic import results  # noqa: E402


def measure(n: int, profile_name: str, out: Path, runs: int) -> dict:
    profile = get_profile(profile_name)
    meta = {"scan_id": 1, "started": "2026-01-15T12:00:00+00:00", "finished": "", "profile":
            profile.name, "version": "bench"}
    started = time.perf_counter()
    write_reports(out, list(results(n, profile)), profile, meta)
    written = time.perf_counter() - started
    html = out / "report.html"
    row = {"domains": n, "detail": "full" if n <= FULL_DETAIL_LIMIT else "compact",
           "bytes": html.stat().st_size, "write_s": written, "render_s": []}
    if chromium_path():
        for _ in range(runs):
            with Chromium(timeout=300) as page:      # a fresh browser each run: no cache
                row["render_s"].append(page.navigate(html.as_uri(), timeout=300))
                row["rows"] = page.evaluate("document.querySelectorAll('#dtable tbody tr').length")
                row["errors"] = page.console_errors
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sizes", nargs="*", type=int, default=[1000, 10000])
    ap.add_argument("--profile", default="baseline")
    ap.add_argument("--runs", type=int, default=3, help="Chromium loads per size (fresh browser each)")
    ap.add_argument("--keep", type=Path, help="keep the reports under this folder")
    args = ap.parse_args()
    print(f"chromium {version() if chromium_path() else 'not installed'}; profile {args.profile}")
    print(f"{'domains':>8} {'detail':>8} {'size MB':>8} {'KB/dom':>7} {'write s':>8} {'render s (runs)':>24}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            out = (args.keep or Path(tmp)) / f"report-{n}"
            r = measure(n, args.profile, out, args.runs)
            renders = ", ".join(f"{s:.2f}" for s in r["render_s"]) or "-"
            print(f"{n:>8} {r['detail']:>8} {r['bytes'] / 1e6:>8.1f} {r['bytes'] / n / 1e3:>7.1f} "
                  f"{r['write_s']:>8.1f} {renders:>24}"
                  + (f"  console errors: {r['errors']}" if r.get("errors") else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
