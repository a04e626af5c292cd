"""report.pdf, the audit pack: laid out for paper from the same page as report.html (summary
first, one section per domain, the scan's metadata and page numbers on every page), hostile
text printed as text, nothing fetched, limits for large scans, a one-line error without
WeasyPrint. Read back with pypdf; page 1 drawn with poppler's pdftoppm."""
from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile

import pytest

pytest.importorskip("weasyprint", reason="the test extra installs WeasyPrint (mxaudit[pdf])")
from pypdf import PdfReader  # noqa: E402

import reports.pdf  # noqa: E402
from reports import write_reports  # noqa: E402
from scanner.api import get_profile  # noqa: E402
from scanner.errors import UsageError  # noqa: E402
from tests.browser.synthetic import HOSTILE, results  # noqa: E402

META = {"scan_id": 42, "started": "2026-01-15T02:00:00+00:00",
        "finished": "2026-01-15T02:09:00+00:00", "profile": "baseline", "version": "9.9"}
HEADER = ("Scan 42 · started 2026-01-15T02:00:00+00:00 · finished 2026-01-15T02:09:00+00:00 · "
          "profile Baseline (baseline) · mxaudit 9.9")


def pages(path) -> list[str]:
    return [" ".join(p.extract_text().split()) for p in PdfReader(path).pages]


@pytest.fixture(scope="module")
def pack(tmp_path_factory):
    """Four synthetic domains (two MX hosts, three SMTP endpoints each, hostile text
    everywhere a server or DNS puts text), with report.pdf."""
    out = tmp_path_factory.mktemp("pack")
    profile = get_profile("baseline")
    rs = list(results(4, profile, hostile=True))
    write_reports(out, rs, profile, META, pdf=True)
    return out, rs


def test_pdf_is_in_the_set_and_its_manifest(pack):
    out, _ = pack
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF-")
    import json
    assert "report.pdf" in json.loads((out / "manifest.json").read_text())["files"]


def outline(path) -> list[tuple[int, str, int]]:
    """(level, title, page index) of every bookmark, in order."""
    reader = PdfReader(path)
    found = []

    def walk(items, level):
        for item in items:
            if isinstance(item, list):
                walk(item, level + 1)
            else:
                found.append((level, item.title, reader.get_destination_page_number(item)))
    walk(reader.outline, 1)
    return found


def test_summary_first_then_table_then_one_section_per_domain(pack):
    out, rs = pack
    text = pages(out / "report.pdf")
    marks = outline(out / "report.pdf")
    assert [m[:2] for m in marks if m[0] == 1] == [
        (1, "mxaudit report"), (1, "Executive summary"), (1, "Domains"),
        (1, "Findings and evidence per domain"), (1, "Checks: remediation and references")]
    assert marks[0][2] == marks[1][2] == 0 and "Domains by verdict" in text[0]
    table = next(page for level, title, page in marks if title == "Domains")
    assert "Every scanned domain, in input order" in text[table]
    domains = [(title, page) for level, title, page in marks if level == 2]
    assert [t.split(" ")[0] for t, _ in domains] == [r.evidence.domain for r in rs]
    starts = [page for _, page in domains]
    assert starts == sorted(set(starts)) and starts[0] > table     # each on a page of its own
    for (title, page), r in zip(domains, rs):
        assert f"{r.evidence.domain} " in text[page] and "Findings by category" in text[page]
    catalogue = next(page for level, title, page in marks if title.startswith("Checks:"))
    assert catalogue > starts[-1] and "dmarc.present" in " ".join(text[catalogue:])


def test_every_page_has_the_scan_metadata_and_its_number(pack):
    out, _ = pack
    text = pages(out / "report.pdf")
    for number, page in enumerate(text, 1):
        assert HEADER in page, number
        assert f"page {number} of {len(text)}" in page


def test_hostile_text_is_printed_as_text(pack):
    out, _ = pack
    text = "".join(" ".join(pages(out / "report.pdf")).split())
    assert "".join(HOSTILE.split()) in text


def test_page_one_drawn_has_the_charts_colours(pack, tmp_path):
    """Drawn by poppler: the verdict bar is green and red (the charts carry their colours
    inside the SVG for WeasyPrint), the text is dark on white."""
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (Debian poppler-utils) is not installed")
    subprocess.run(["pdftoppm", "-r", "40", "-f", "1", "-l", "1", str(pack[0] / "report.pdf"),
                    str(tmp_path / "p")], check=True, timeout=60)
    (ppm,) = tmp_path.glob("p*.ppm")
    data = ppm.read_bytes()
    header_end = data.index(b"255\n") + 4
    width, height = map(int, data.split(b"\n")[1].split())
    pixels = data[header_end:]
    colours = {pixels[i:i + 3] for i in range(0, len(pixels), 3)}
    assert len(pixels) == width * height * 3

    def near(rgb):
        return any(all(abs(c[k] - rgb[k]) < 40 for k in range(3)) for c in colours)

    assert near((0x1a, 0x7f, 0x37)) or near((0xb0, 0x00, 0x20))    # compliant / not compliant
    assert near((255, 255, 255)) and near((0x1f, 0x23, 0x28))


def test_large_scans_leave_details_then_the_table_out_saying_so(tmp_path, monkeypatch):
    profile = get_profile("baseline")
    rs = list(results(3, profile))
    monkeypatch.setattr(reports.pdf, "DETAIL_LIMIT", 2)
    write_reports(tmp_path / "a", rs, profile, META, pdf=True)
    text = " ".join(pages(tmp_path / "a" / "report.pdf"))
    assert "With 3 domains this PDF leaves the per-domain details out" in text
    assert all(r.evidence.domain in text for r in rs)               # the table lists them
    assert "Findings by category" not in text
    monkeypatch.setattr(reports.pdf, "TABLE_LIMIT", 2)
    write_reports(tmp_path / "b", rs, profile, META, pdf=True)
    text = " ".join(pages(tmp_path / "b" / "report.pdf"))
    assert "this PDF leaves the domain table out" in text
    assert not any(r.evidence.domain in text for r in rs)
    html = (tmp_path / "b" / "report.html").read_text()            # the page keeps everything
    assert all(r.evidence.domain in html for r in rs) and "Findings by category" in html


def test_rendering_fetches_nothing(tmp_path):
    """Even markup that got through would load nothing: only data: URLs are fetched."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    page = tempfile.TemporaryFile("w+", encoding="utf-8")
    page.write(f'<p>x</p><img src="http://127.0.0.1:{port}/a.png">'
               f'<link rel="stylesheet" href="http://127.0.0.1:{port}/a.css">'
               f'<p style="background: url(file:///etc/passwd)">y</p>')
    with open(tmp_path / "x.pdf", "wb") as fh:
        assert reports.pdf.write_pdf(page, fh) == 1
    with pytest.raises(socket.timeout):
        listener.accept()
    listener.close()


def test_without_weasyprint_the_error_says_how_to_get_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "weasyprint", None)          # import fails
    with pytest.raises(UsageError, match=r"--pdf needs WeasyPrint: pip install 'mxaudit\[pdf\]'"):
        reports.pdf.require()


def test_without_pango_the_error_names_the_library(tmp_path, run_cli):
    """WeasyPrint installed but its system libraries missing: cffi raises OSError on import;
    ``mxaudit report --pdf`` says so in one line (exit 2), before writing anything."""
    fake = tmp_path / "site" / "weasyprint"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        "raise OSError(\"cannot load library 'libpango-1.0-0': error 0x7e\")\n")
    import os
    env_path = f"{tmp_path / 'site'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"
    proc = subprocess.run([sys.executable, "-c",
                           "import sys; sys.path.insert(0, sys.argv[1]); from scanner.cli import "
                           "main; sys.exit(main(sys.argv[2:]))", str(tmp_path / "site"),
                           "report", "latest", "--db", str(tmp_path / "h.sqlite"), "--out",
                           str(tmp_path / "out"), "--pdf"],
                          capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PYTHONPATH=env_path),
                          cwd=str(__import__("tests.conftest", fromlist=["REPO"]).REPO))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "mxaudit: error: --pdf: WeasyPrint cannot load its libraries (cannot load library "
        "'libpango-1.0-0': error 0x7e): pip install 'mxaudit[pdf]' (WeasyPrint; on Debian it "
        "also needs libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0)"]
    assert not (tmp_path / "out").exists() and not (tmp_path / "h.sqlite").exists()


def test_a_set_that_ends_smaller_than_announced_asks_for_another_layout(monkeypatch):
    """The report worker lays out for the announced count; an interrupted scan that ends under
    the PDF's limit must be printed with its sections (the worker then re-renders)."""
    from reports.writer import ReportWriter

    profile = get_profile("baseline")
    monkeypatch.setattr(reports.pdf, "DETAIL_LIMIT", 3)
    rs = list(results(2, profile))
    for pdf, fits in ((True, False), (False, True)):
        with tempfile.TemporaryDirectory() as out, \
                ReportWriter(out, profile, META, count=5, pdf=pdf) as writer:
            for r in rs:
                writer.add(r)
            assert writer.fits is fits
