"""report.pdf: the audit pack, printed by WeasyPrint (the optional ``mxaudit[pdf]`` extra) from
the same template, summary and per-domain sections as report.html, with a paged stylesheet
(templates/paper.css): summary first, then the domain table, then one section per domain, the
scan's metadata at the top of every page and page numbers at the bottom.

Paper gets the compact per-domain layout (every non-pass finding with its remediation and
reference, passing checks one row per category, evidence without transcripts); the full
evidence stays in results.jsonl, which the manifest covers. WeasyPrint lays the whole document
out in memory (measured on synthetic scans of realistic shape, 2-core machine: 200 domains,
617 pages, 98 s of CPU, 1 GB), so above ``DETAIL_LIMIT`` domains the PDF keeps the summary and
the domain table, and above ``TABLE_LIMIT`` the summary only, saying so on the page.

Rendering fetches nothing: the page is self-contained and the URL fetcher allows ``data:``
URLs only, so text from DNS or a server could not make it load anything even if it escaped.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from collections.abc import Iterator
from typing import BinaryIO, TextIO

from scanner.errors import UsageError

DETAIL_LIMIT = 100     # domains with a section of their own in report.pdf
TABLE_LIMIT = 1000     # domains listed in report.pdf's domain table
INSTALL = ("pip install 'mxaudit[pdf]' (WeasyPrint; on Debian it also needs libpango-1.0-0 "
           "libpangoft2-1.0-0 libharfbuzz-subset0)")


def weasyprint():
    """The weasyprint module, or a UsageError (exit 2) saying how to get it."""
    try:
        import weasyprint as wp
    except ImportError:
        raise UsageError(f"--pdf needs WeasyPrint: {INSTALL}") from None
    except OSError as exc:      # WeasyPrint is there, Pango is not: cffi could not load it
        reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise UsageError(f"--pdf: WeasyPrint cannot load its libraries ({reason}): "
                         f"{INSTALL}") from None
    return wp


def require() -> None:
    """Before a scan with ``--pdf``: fail now, not after the scan."""
    weasyprint()


def write_pdf(page: TextIO, target: BinaryIO) -> int:
    """Print the paper HTML in ``page`` (an open text file) to ``target``; the page count."""
    wp = weasyprint()
    from weasyprint.urls import URLFetcher

    page.seek(0)
    with _quiet("weasyprint", "fontTools"):
        doc = wp.HTML(string=page.read(), base_url=None,
                      url_fetcher=URLFetcher(allowed_protocols={"data"})).render()
        doc.write_pdf(target)
    return len(doc.pages)


@contextmanager
def _quiet(*names: str) -> Iterator[None]:
    """WeasyPrint warns about every CSS property it does not implement (the screen page uses
    some); the CLI's stderr is for the scan's own lines."""
    saved = [(logging.getLogger(n), logging.getLogger(n).level) for n in names]
    for logger, _ in saved:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in saved:
            logger.setLevel(level)
