"""The compiled-template cache (reports/html.py): used when it can be, never a reason for a
report to fail."""
from __future__ import annotations

import jinja2
import pytest

from reports import html


def _render(env: jinja2.Environment) -> str:
    """Loads (compiles or reads back) the domain template; renders hostile text."""
    template = env.get_template("_domain.html.j2")
    return f"{template.name}:" + env.from_string("{{ x }}").render(x="<script>")


def test_the_cache_keeps_compiled_templates(tmp_path, monkeypatch):
    monkeypatch.setattr(html._CompiledTemplates, "_get_default_cache_dir", lambda self: str(tmp_path))
    first = _render(html.environment())
    assert list(tmp_path.glob("__jinja2_*.cache"))          # written on first use
    loads = []
    real = html._CompiledTemplates.load_bytecode
    monkeypatch.setattr(html._CompiledTemplates, "load_bytecode",
                        lambda self, bucket: (real(self, bucket), loads.append(bucket.code))[0])
    assert _render(html.environment()) == first
    assert loads and loads[0] is not None                   # compiled code read back
    assert "&lt;script&gt;" in first                          # still autoescaped


def test_no_safe_directory_means_no_cache(monkeypatch):
    def unsafe(self):
        raise RuntimeError("Cannot determine safe temp directory.")
    monkeypatch.setattr(html._CompiledTemplates, "_get_default_cache_dir", unsafe)
    env = html.environment()
    assert env.bytecode_cache is None
    assert _render(env) == "_domain.html.j2:&lt;script&gt;"


@pytest.mark.parametrize("garbage", [b"", b"j2" + b"\x00" * 40, b"\xff" * 300])
def test_a_broken_or_unwritable_cache_is_ignored(tmp_path, monkeypatch, garbage):
    monkeypatch.setattr(html._CompiledTemplates, "_get_default_cache_dir", lambda self: str(tmp_path))
    env = html.environment()
    bucket_file = tmp_path / (env.bytecode_cache.pattern
                              % env.bytecode_cache.get_cache_key("_domain.html.j2",
                                                                 str(html.template_dir() / "_domain.html.j2")))
    bucket_file.write_bytes(garbage)
    assert _render(env) == "_domain.html.j2:&lt;script&gt;"

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(html.tempfile, "NamedTemporaryFile", full)
    monkeypatch.setattr(jinja2.bccache.tempfile, "NamedTemporaryFile", full)
    assert _render(html.environment()) == "_domain.html.j2:&lt;script&gt;"
