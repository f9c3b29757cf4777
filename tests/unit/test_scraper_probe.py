"""`imgjob probe`: each provider searched live in a real browser against the fake engines, one of them
blocking, one whose format has changed, one unreachable; a table per provider and a failing exit status."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.scraper.probe import probe_command
from tests.browser import chromium
from tests.fakeweb import FakeWeb
from tests.support import embedded_environment
from tests.support.network import free_port

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def web() -> Iterator[FakeWeb]:
    with FakeWeb() as running:
        yield running


def table(output: str) -> dict[str, list[str]]:
    """The printed rows by provider: [links, pages, seconds, outcome...]."""
    header, *rows = output.splitlines()
    assert header.split() == ["provider", "links", "pages", "seconds", "outcome"]
    return {row.split()[0]: row.split(None, 4)[1:] for row in rows}


def test_a_probe_reports_each_engine_and_fails_when_one_is_not_ok(tmp_path: Path, web: FakeWeb) -> None:
    urls = {
        "google": web.google_url(total=200),
        "bing": web.bing_url(total=200, captcha=True),
        "brave": web.brave_url(total=200, changed=True),
        "duckduckgo": f"http://127.0.0.1:{free_port()}",
    }
    out = io.StringIO()
    status = probe_command(chromium(), list(urls), urls, "red fox", 150, out, tmp_path / "unparsed")
    rows = table(out.getvalue())
    assert status == 1
    assert list(rows) == ["google", "bing", "brave", "duckduckgo"]
    assert rows["google"][:2] == ["150", "2"] and rows["google"][3] == "ok"  # the page, then one JSON answer
    assert float(rows["google"][2]) > 0
    assert rows["bing"][:2] == ["0", "1"] and rows["bing"][3] == "blocked: blocked by a CAPTCHA page"
    assert rows["brave"][:2] == ["0", "1"] and rows["brave"][3].startswith("not understood: page saved as ")
    (saved,) = (tmp_path / "unparsed").iterdir()
    assert saved.name.startswith("brave-") and str(saved) in rows["brave"][3]
    assert rows["duckduckgo"][0] == "0" and rows["duckduckgo"][3].startswith("unreachable: ")
    assert "ERR_CONNECTION_REFUSED" in rows["duckduckgo"][3]


def test_a_probe_where_every_engine_answers_passes(web: FakeWeb) -> None:
    urls = {"brave": web.brave_url(total=30), "duckduckgo": web.duckduckgo_url(total=300)}
    out = io.StringIO()
    assert probe_command(chromium(), list(urls), urls, "red fox", 120, out) == 0
    rows = table(out.getvalue())
    assert (rows["brave"][:2], rows["brave"][3]) == (["30", "1"], "ok")  # all Brave has is fine
    assert (rows["duckduckgo"][:2], rows["duckduckgo"][3]) == (["120", "3"], "ok")  # token page, 2 i.js pages


def imgjob_probe(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "probe", *args],
        cwd=tmp_path,
        env=embedded_environment(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_command_uses_the_settings_engines_and_browser(tmp_path: Path, web: FakeWeb) -> None:
    env = {
        "IMGJOB_SEARCH_PROVIDERS": "brave,google",
        "IMGJOB_BRAVE_URL": web.brave_url(total=40),
        "IMGJOB_GOOGLE_URL": web.google_url(total=40, changed=True),
    }
    everything = imgjob_probe(tmp_path, "--count", "20", "red fox", **env)
    assert everything.returncode == 1, everything.stderr
    rows = table(everything.stdout)
    assert (list(rows), rows["brave"][3], rows["google"][3]) == (["brave", "google"], "ok", "not understood")
    assert "red fox" not in everything.stderr  # logs never hold the query
    only_brave = imgjob_probe(tmp_path, "--provider", "brave", "--count", "20", "red fox", **env)
    assert only_brave.returncode == 0, only_brave.stderr
    assert list(table(only_brave.stdout)) == ["brave"]
    unknown = imgjob_probe(tmp_path, "--provider", "altavista", "red fox", **env)
    assert unknown.returncode == 2 and "invalid choice: 'altavista'" in unknown.stderr
