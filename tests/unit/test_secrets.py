"""IMGJOB_SECRET_KEY (DESIGN.md "Safety"): with any real adapter configured, a missing, short or
placeholder key stops every process at start with status 2, naming the variable and how to make one; on
the embedded adapters alone an unset key is generated into var/secret_key. And a retry link's signature
is compared as bytes: a malformed one is a 403 page, never a 500."""

from __future__ import annotations

import dataclasses
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from services import wsgi
from services.bootstrap import bootstrap
from shared.config import Settings, SettingsError
from shared.domain.model import JobStatus
from shared.ports import Adapters
from shared.secrets_policy import HOW_TO_MAKE_ONE, real_adapters, secret_key_problem, weakness
from shared.signing import is_valid_retry_signature, retry_signature
from tests.support import OWNER_EMAIL, add_job, embedded_environment, embedded_settings

GOOD_KEY = secrets.token_urlsafe(48)

# Each real adapter, as the one setting that turns it on (the others embedded).
REAL: dict[str, dict[str, Any]] = {
    "IMGJOB_BUS_URL": {"bus_url": "amqp://guest:guest@127.0.0.1:5672/%2F"},
    "IMGJOB_BUS_URL (amqps)": {"bus_url": "amqps://user:pass@mq.example:5671/%2F"},
    "IMGJOB_STORE_URL": {"store_url": "cassandra://127.0.0.1:9042/imgjob"},
    "IMGJOB_BLOB_URL": {"blob_url": "s3://key:secret@127.0.0.1:9000/imgjob?secure=false"},
    "IMGJOB_SMTP_URL": {"smtp_url": "smtp://127.0.0.1:1"},
}
WEAK_KEYS = {
    "missing": "",
    "31 characters": GOOD_KEY[:31],
    "change-me": "change-me",
    "one repeated character": "x" * 40,
}


def _settings(tmp_path: Path, key: str, **real: Any) -> Settings:
    return embedded_settings(tmp_path, secret_key=key, **real)


@pytest.mark.parametrize("key", ["", "test-secret", "x", "change-me"])
def test_embedded_adapters_alone_need_no_key(tmp_path: Path, key: str) -> None:
    assert real_adapters(_settings(tmp_path, key)) == []
    assert secret_key_problem(_settings(tmp_path, key)) is None
    assert secret_key_problem(Settings()) is None  # the defaults are the embedded all-in-one


@pytest.mark.parametrize("adapter", list(REAL))
@pytest.mark.parametrize("weak", list(WEAK_KEYS))
def test_a_real_adapter_refuses_a_missing_short_or_placeholder_key(tmp_path: Path, adapter: str, weak: str) -> None:
    problem = secret_key_problem(_settings(tmp_path, WEAK_KEYS[weak], **REAL[adapter]))
    assert problem is not None
    assert problem.startswith("IMGJOB_SECRET_KEY ")
    assert adapter.split()[0] in problem  # which setting made the key necessary
    assert HOW_TO_MAKE_ONE in problem
    assert "\n" not in problem  # one line, as SettingsError reports each problem
    if WEAK_KEYS[weak]:
        assert WEAK_KEYS[weak] not in problem  # never echoes the key, weak or not


@pytest.mark.parametrize("adapter", list(REAL))
def test_a_real_adapter_accepts_a_random_key(tmp_path: Path, adapter: str) -> None:
    for key in (GOOD_KEY, secrets.token_urlsafe(24), secrets.token_hex(32)):
        assert secret_key_problem(_settings(tmp_path, key, **REAL[adapter])) is None


def test_every_real_adapter_is_named(tmp_path: Path) -> None:
    everything = {k: v for changes in REAL.values() for k, v in changes.items()}
    problem = secret_key_problem(_settings(tmp_path, "", **everything))
    assert problem is not None
    assert "IMGJOB_BUS_URL, IMGJOB_STORE_URL, IMGJOB_BLOB_URL, IMGJOB_SMTP_URL" in problem
    # Not the URLs themselves: they carry passwords.
    assert "guest" not in problem and "key:secret" not in problem


def test_an_adapter_that_is_not_embedded_counts_as_real(tmp_path: Path) -> None:
    """Fail closed: a scheme the policy does not know (a future adapter) needs the key too."""
    assert real_adapters(_settings(tmp_path, "", bus_url="kafka://somewhere")) == ["IMGJOB_BUS_URL"]


@pytest.mark.parametrize(
    "key",
    [
        # the required placeholders, in any case, padded to a length the length rule would let through
        *(f"{word}{'-' * 32}" for word in ("change-me", "changeme", "secret", "password", "example")),
        *(f"{'_' * 32}{word}" for word in ("TEST", "Dev", "imgjob", "Your-Secret-Key", "CHANGE_ME")),
        # sentences about a key
        "change-me-to-a-long-random-secret-key-in-production",
        "YOUR_SECRET_KEY_HERE_REPLACE_WITH_A_REAL_ONE",
        "please-change-this-imgjob-secret-key",
        # repetitions, and next to no variety
        "x" * 40,
        "ab" * 20,
        "change-me" * 4,
        "0123456789" * 4,
        "from-env-" + "k" * 32,
        "a" * 30 + "b1234567",
    ],
)
def test_placeholders_and_repetitions_are_refused_whatever_their_length(key: str) -> None:
    assert len(key) >= 32
    assert weakness(key) is not None


def test_generated_keys_are_never_mistaken_for_placeholders() -> None:
    for _ in range(2000):
        for key in (secrets.token_urlsafe(48), secrets.token_urlsafe(24), secrets.token_hex(32), secrets.token_hex(16)):
            assert weakness(key) is None, key


def test_bootstrap_itself_refuses_and_creates_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = dataclasses.replace(Settings(), smtp_url="smtp://127.0.0.1:1", secret_key="change-me")
    with pytest.raises(SettingsError) as refused:
        bootstrap(settings)
    assert "IMGJOB_SECRET_KEY" in str(refused.value) and len(refused.value.problems) == 1
    assert list(tmp_path.iterdir()) == []  # no var/secret_key, no database, no outbox


def test_bootstrap_on_embedded_adapters_still_generates_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    adapters = bootstrap(Settings())
    try:
        generated = (tmp_path / "var" / "secret_key").read_text().strip()
        assert adapters.settings.secret_key == generated and weakness(generated) is None
    finally:
        adapters.close()
    with_key = bootstrap(dataclasses.replace(Settings(), smtp_url="smtp://127.0.0.1:1", secret_key=GOOD_KEY))
    assert with_key.settings.secret_key == GOOD_KEY
    with_key.close()


def test_the_wsgi_app_refuses_with_status_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IMGJOB_STORE_URL", "cassandra://127.0.0.1:9042/imgjob")
    monkeypatch.delenv("IMGJOB_SECRET_KEY", raising=False)
    with pytest.raises(SystemExit) as stopped:
        wsgi.create_app()
    assert stopped.value.code == 2
    assert "IMGJOB_SECRET_KEY is not set" in capsys.readouterr().err


# --- the processes -------------------------------------------------------------------------------


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """Embedded adapters under tmp_path/var, SMTP (a real adapter) on a port nothing listens on, and a
    placeholder key; `extra` changes it."""
    return embedded_environment(tmp_path, IMGJOB_SMTP_URL="smtp://127.0.0.1:1", IMGJOB_SECRET_KEY="change-me") | extra


def _run(tmp_path: Path, *command: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *command],
        cwd=tmp_path,
        env=_env(tmp_path, **extra),
        capture_output=True,
        text=True,
        timeout=60,
    )


def _refused(result: subprocess.CompletedProcess[str], tmp_path: Path, status: int = 2) -> None:
    assert result.returncode == status, result.stderr
    assert "IMGJOB_SECRET_KEY" in result.stderr and HOW_TO_MAKE_ONE in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "var").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["migrate"],
        ["janitor"],
        ["notifier"],
        ["deadletters", "list"],
        ["gateway", "--port", "0"],
        ["up", "--port", "0"],
    ],
)
def test_every_imgjob_command_refuses_a_placeholder_key_with_status_2(tmp_path: Path, args: list[str]) -> None:
    _refused(_run(tmp_path, "-m", "services.cli", *args), tmp_path)


def test_imgjob_refuses_a_missing_key_beside_a_real_adapter(tmp_path: Path) -> None:
    _refused(_run(tmp_path, "-m", "services.cli", "migrate", IMGJOB_SECRET_KEY=""), tmp_path)


def test_a_random_key_lets_migrate_run(tmp_path: Path) -> None:
    result = _run(tmp_path, "-m", "services.cli", "migrate", IMGJOB_SECRET_KEY=GOOD_KEY)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "var" / "imgjob.sqlite3").exists()
    assert not (tmp_path / "var" / "secret_key").exists()  # a configured key is never replaced


def test_the_embedded_all_in_one_needs_no_key(tmp_path: Path) -> None:
    env = {"IMGJOB_SMTP_URL": "", "IMGJOB_SECRET_KEY": ""}
    result = _run(tmp_path, "-m", "services.cli", "migrate", **env)
    assert result.returncode == 0, result.stderr
    assert weakness((tmp_path / "var" / "secret_key").read_text().strip()) is None


def test_the_wsgi_app_refuses_a_placeholder_key_with_status_2(tmp_path: Path) -> None:
    _refused(_run(tmp_path, "-c", "from services.wsgi import create_app; create_app()"), tmp_path)


def test_gunicorn_as_deployed_exits_2_before_starting_a_worker(tmp_path: Path) -> None:
    gunicorn = ["-m", "gunicorn", "--preload", "--bind", "127.0.0.1:0", "--workers", "2", "services.wsgi:create_app()"]
    _refused(_run(tmp_path, *gunicorn), tmp_path)


def test_gunicorn_stops_instead_of_restarting_its_workers(tmp_path: Path) -> None:
    """A worker that exits 2 would be started again and again; with gunicorn's "app failed to load"
    status the arbiter shuts down, so the container stops and says why."""
    gunicorn = ["-m", "gunicorn", "--bind", "127.0.0.1:0", "--workers", "2", "services.wsgi:create_app()"]
    result = _run(tmp_path, *gunicorn)  # returns at all: the arbiter did not restart workers for ever
    # Gunicorn exits 4 ("app failed to load"), or 1 when both workers fail while it is stopping.
    assert result.returncode in (1, 4), result.stderr
    assert "App failed to load" in result.stderr
    assert "IMGJOB_SECRET_KEY" in result.stderr and HOW_TO_MAKE_ONE in result.stderr
    assert not (tmp_path / "var").exists()


# --- the retry link's signature ------------------------------------------------------------------


@pytest.mark.parametrize(
    "signature", ["é" * 32, "\udcff" * 32, "\uff46" * 32, "", "0", "0" * 33, "zz" * 16, "\x00" * 32]
)
def test_a_malformed_signature_is_invalid_not_an_error(signature: str) -> None:
    right = retry_signature(GOOD_KEY, "job")
    assert is_valid_retry_signature(GOOD_KEY, "job", right)
    assert not is_valid_retry_signature(GOOD_KEY, "job", signature)
    assert not is_valid_retry_signature(GOOD_KEY, "job", right.upper())
    assert not is_valid_retry_signature(GOOD_KEY, "other-job", right)


@pytest.mark.parametrize("sig", ["%C3%A9" * 32, "%FF" * 32, "%EF%BD%86" * 32, "%ED%B3%BF"])
def test_a_non_ascii_signature_gets_a_403_page_not_a_500(client: FlaskClient, adapters: Adapters, sig: str) -> None:
    job = add_job(adapters, status=JobStatus.FAILED)
    response = client.get(f"/jobs/{job.id}/again?sig={sig}")
    assert response.status_code == 403
    assert "text/html" in response.content_type
    assert OWNER_EMAIL not in response.get_data(as_text=True)
