"""A tiny Chrome DevTools Protocol client for Debian's headless ``chromium`` (no downloaded
browser, no driver): start the browser on loopback with a fresh profile, open one page
target, send commands, and collect console errors and uncaught exceptions.

Used by tests/browser/ and bench/report_size.py. Every wait is bounded.
"""
from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
         "--window-size=1280,900")


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class CdpError(RuntimeError):
    pass


class Chromium:
    """``with Chromium() as page: page.navigate(url); page.evaluate("1+1")``."""

    def __init__(self, binary: str | None = None, timeout: float = 30.0, *,
                 javascript: bool = True) -> None:
        self.binary = binary or chromium_path()
        # a browser with scripting off (the setting, so the HTML parser honours <noscript>
        # as a user's browser would; DevTools' Runtime.evaluate still works)
        self.extra = () if javascript else ("--blink-settings=scriptEnabled=false",)
        if not self.binary:
            raise CdpError("chromium is not installed")
        self.timeout = timeout
        self.console_errors: list[str] = []
        self._id = 0
        self._events: list[dict] = []

    # -------------------------------------------------------------------- lifecycle
    def __enter__(self) -> Chromium:
        import websocket   # websocket-client (the `test` extra)

        self._profile = tempfile.TemporaryDirectory(prefix="mxaudit-chromium-")
        self._stderr = open(Path(self._profile.name) / "stderr.log", "w+b")
        self.proc = subprocess.Popen(
            [self.binary, *FLAGS, *self.extra, f"--user-data-dir={self._profile.name}/profile", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._stderr,
            start_new_session=True)   # its helper processes share its process group
        try:
            port = self._devtools_port()
            target = self._page_target(port)
            self.ws = websocket.create_connection(target, timeout=self.timeout,
                                                  suppress_origin=True)
            for domain in ("Page", "Runtime", "Log"):
                self.send(f"{domain}.enable")
        except BaseException:
            self._stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.ws.close()
        except Exception:
            pass
        self._stop()

    def _stop(self) -> None:
        """End chromium and every helper process it started (renderer, GPU, crashpad...):
        a helper still writing into the profile made its removal fail ("Directory not
        empty") when only the main process had been waited for."""
        pgid = self.proc.pid
        for sig, patience in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + patience
            while time.monotonic() < deadline and _group_alive(pgid):
                self.proc.poll()          # reap the main process once it exits
                time.sleep(0.05)
            if not _group_alive(pgid):
                break
        self.proc.wait(timeout=10)
        self._stderr.close()
        self._profile.cleanup()

    def _devtools_port(self) -> int:
        """Chromium writes the port it picked to <user-data-dir>/DevToolsActivePort."""
        active = Path(self._profile.name) / "profile" / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._stderr.seek(0)
                raise CdpError(f"chromium exited early: {self._stderr.read()[-2000:]!r}")
            if active.is_file():
                first = active.read_text().split("\n", 1)[0].strip()
                if first.isdigit():
                    return int(first)
            time.sleep(0.05)
        raise CdpError("chromium did not open its DevTools port")

    def _page_target(self, port: int) -> str:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as resp:
                pages = [t for t in json.load(resp) if t.get("type") == "page"]
            if pages:
                return pages[0]["webSocketDebuggerUrl"]
            time.sleep(0.05)
        raise CdpError("no page target")

    # --------------------------------------------------------------------- protocol
    def send(self, method: str, **params: Any) -> dict:
        self._id += 1
        my_id = self._id
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            msg = self._recv()
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise CdpError(f"{method}: {msg['error']}")
                return msg.get("result", {})
        raise CdpError(f"{method}: no answer within {self.timeout}s")

    def _recv(self) -> dict:
        msg = json.loads(self.ws.recv())
        if "method" in msg:
            self._on_event(msg)
        return msg

    def _on_event(self, msg: dict) -> None:
        self._events.append(msg)
        method, params = msg["method"], msg.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            args = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            self.console_errors.append(f"console.{params['type']}: {args}")
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            text = details.get("exception", {}).get("description") or details.get("text", "")
            self.console_errors.append(f"uncaught: {text}")
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            self.console_errors.append(f"log: {entry.get('text')} {entry.get('url', '')}".strip())

    def wait_event(self, method: str, timeout: float | None = None) -> dict:
        for msg in self._events:
            if msg["method"] == method:
                self._events.remove(msg)
                return msg
        deadline = time.monotonic() + (timeout or self.timeout)
        while time.monotonic() < deadline:
            msg = self._recv()
            if msg.get("method") == method:
                self._events.remove(msg)
                return msg
        raise CdpError(f"no {method} within the timeout")

    # ------------------------------------------------------------------------ helpers
    def navigate(self, url: str, timeout: float | None = None) -> float:
        """Open ``url``; return the seconds until the load event plus a forced layout."""
        self._events.clear()
        started = time.monotonic()
        self.send("Page.navigate", url=url)
        self.wait_event("Page.loadEventFired", timeout)
        self.evaluate("document.body.getBoundingClientRect().height")
        return time.monotonic() - started

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True)
        if "exceptionDetails" in result:
            raise CdpError(f"evaluate {expression[:80]!r}: {result['exceptionDetails']}")
        return result.get("result", {}).get("value")

    def screenshot(self, path: Path, full_page: bool = False) -> Path:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            params["captureBeyondViewport"] = True
        data = self.send("Page.captureScreenshot", **params)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path



def version(binary: str | None = None) -> str:
    out = subprocess.run([binary or chromium_path() or "chromium", "--version"], capture_output=True,
                         text=True, timeout=30, env={**os.environ, "LANG": "C"}).stdout
    m = re.search(r"[\d.]+", out)
    return m.group() if m else out.strip()


def _group_alive(pgid: int) -> bool:
    """Whether any process of the group is left (a zombie main process counts as gone)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False
