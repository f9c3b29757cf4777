"""Settings are declared once in shared/config.py; parsing, errors and the generated docs all follow from that."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from shared.config import SETTINGS, Settings, SettingsError
from shared.settings_docs import TABLE_END, TABLE_START, env_example, settings_table, with_settings_table

ROOT = Path(__file__).resolve().parents[2]
STALE = "is stale: run `python -m shared.settings_docs --write` and commit the result"


def test_an_empty_environment_gives_the_dataclass_defaults() -> None:
    assert Settings.from_env({}) == Settings()
    assert Settings().search_urls["bing"] == "https://www.bing.com"
    assert Settings().smtp_url is None


def test_every_declared_default_reads_back_as_itself() -> None:
    """What .env.example shows for a default must parse to that same default, and lie within its limits."""
    for setting in SETTINGS:
        if setting.shown():
            assert setting.parse(setting.shown()) == setting.default, setting.name


def test_every_field_but_the_url_map_has_exactly_one_variable_and_names_are_unique() -> None:
    names = [setting.name for setting in SETTINGS]
    assert len(names) == len(set(names))
    assert all(name.startswith("IMGJOB_") for name in names)
    counted = {f.name: len(f.metadata.get("imgjob.settings", ())) for f in dataclasses.fields(Settings)}
    assert counted.pop("search_urls") == 4
    assert set(counted.values()) == {1}


def test_each_type_parses() -> None:
    settings = Settings.from_env(
        {
            "IMGJOB_BUS_URL": "amqp://guest:guest@127.0.0.1:5672/%2F",  # text
            "IMGJOB_SMTP_URL": "smtp://127.0.0.1:1025",  # optional text
            "IMGJOB_LINK_TTL": "5",  # int
            "IMGJOB_SWEEP_INTERVAL": "0.25",  # float
            "IMGJOB_ALLOW_PRIVATE_NETWORKS": "YES",  # bool, any case
            "IMGJOB_NEAR_DUPLICATES": "on",
            "IMGJOB_SEARCH_PROVIDERS": " Bing , duckduckgo,, ",  # list
            "IMGJOB_BING_URL": "http://127.0.0.1:8100/bing/",  # url, one entry of search_urls
            "IMGJOB_PUBLIC_URL": "https://imgjob.example.com//",
        }
    )
    assert settings.bus_url == "amqp://guest:guest@127.0.0.1:5672/%2F"
    assert settings.smtp_url == "smtp://127.0.0.1:1025"
    assert settings.link_ttl == 5 and isinstance(settings.link_ttl, int)
    assert settings.sweep_interval == 0.25
    assert settings.allow_private_networks is True and settings.near_duplicates is True
    assert settings.search_providers == ("bing", "duckduckgo")
    assert settings.search_urls == {
        "google": "https://www.google.com",
        "bing": "http://127.0.0.1:8100/bing",
        "duckduckgo": "https://duckduckgo.com",
        "brave": "https://search.brave.com",
    }
    assert settings.public_url == "https://imgjob.example.com"
    assert Settings().search_urls["bing"] == "https://www.bing.com"  # the default map is not shared and altered


@pytest.mark.parametrize("word", ["0", "false", "No", "OFF"])
def test_false_words_turn_a_flag_off(word: str) -> None:
    assert Settings.from_env({"IMGJOB_NEAR_DUPLICATES": word}).near_duplicates is False


def test_empty_or_blank_means_the_default() -> None:
    blank = {setting.name: value for setting, value in zip(SETTINGS, ["", " ", "\t\n"] * len(SETTINGS), strict=False)}
    assert Settings.from_env(blank) == Settings()


def test_settings_built_directly_and_replaced_still_work() -> None:
    settings = dataclasses.replace(Settings(link_ttl=5), proxy_hops=1)
    assert (settings.link_ttl, settings.proxy_hops, settings.bus_url) == (5, 1, "memory://")


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("IMGJOB_LINK_TTL", "abc", "IMGJOB_LINK_TTL: expected a whole number of seconds >= 1, got 'abc'"),
        ("IMGJOB_LINK_TTL", "0", "IMGJOB_LINK_TTL: expected a whole number of seconds >= 1, got '0'"),
        ("IMGJOB_LINK_TTL", "1.5", "IMGJOB_LINK_TTL: expected a whole number of seconds >= 1, got '1.5'"),
        ("IMGJOB_MAX_DELIVERIES", "101", "IMGJOB_MAX_DELIVERIES: expected a whole number from 1 to 100, got '101'"),
        ("IMGJOB_DOWNLOAD_CONCURRENCY", "0", "expected a whole number from 1 to 1024, got '0'"),
        ("IMGJOB_PROXY_HOPS", "-1", "IMGJOB_PROXY_HOPS: expected a whole number from 0 to 10, got '-1'"),
        ("IMGJOB_NEAR_DUPLICATE_DISTANCE", "65", "expected a whole number from 0 to 64, got '65'"),
        ("IMGJOB_SWEEP_INTERVAL", "0", "IMGJOB_SWEEP_INTERVAL: expected a number of seconds > 0, got '0'"),
        ("IMGJOB_PAGE_LOAD_TIMEOUT", "soon", "expected a number of seconds > 0, got 'soon'"),
        ("IMGJOB_PAGE_LOAD_TIMEOUT", "nan", "expected a number of seconds > 0, got 'nan'"),
        ("IMGJOB_BROWSER_RETRY_DELAY", "inf", "expected a number of seconds >= 0, got 'inf'"),
        ("IMGJOB_ALLOW_PRIVATE_NETWORKS", "maybe", "expected one of 1, true, yes, on, 0, false, no, off, got 'maybe'"),
        ("IMGJOB_NEAR_DUPLICATES", "enabled", "IMGJOB_NEAR_DUPLICATES: expected one of 1, true"),
        ("IMGJOB_SEARCH_PROVIDERS", "google,yahoo", "expected a comma-separated list of google, bing, duckduckgo"),
        ("IMGJOB_SEARCH_PROVIDERS", ",", "IMGJOB_SEARCH_PROVIDERS: expected a comma-separated list of google"),
        ("IMGJOB_PUBLIC_URL", "imgjob.example.com", "IMGJOB_PUBLIC_URL: expected an http:// or https:// URL"),
        ("IMGJOB_BING_URL", "ftp://bing.com", "IMGJOB_BING_URL: expected an http:// or https:// URL, got 'ftp:"),
    ],
)
def test_a_bad_value_raises_settings_error_naming_the_variable(name: str, value: str, expected: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({name: value})
    assert expected in str(caught.value)
    assert str(caught.value).startswith(f"{name}: expected ")
    assert isinstance(caught.value, ValueError)


def test_every_bad_variable_is_reported_at_once() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"IMGJOB_LINK_TTL": "abc", "IMGJOB_BUS_URL": "amqp://x", "IMGJOB_PROXY_HOPS": "11"})
    assert caught.value.problems == (
        "IMGJOB_LINK_TTL: expected a whole number of seconds >= 1, got 'abc'",
        "IMGJOB_PROXY_HOPS: expected a whole number from 0 to 10, got '11'",
    )
    assert str(caught.value) == "\n".join(caught.value.problems)


def test_env_example_lists_every_setting_with_its_help_and_default() -> None:
    text = env_example()
    assert "# Seconds a download link lives" in text and "\nIMGJOB_LINK_TTL=86400\n" in text
    assert "\n# IMGJOB_SMTP_URL=\n" in text  # unset by default: shown commented out
    for setting in SETTINGS:
        assert f"{setting.name}={setting.shown()}\n" in text


def test_settings_table_has_a_row_per_setting_and_escapes_pipes() -> None:
    rows = settings_table().splitlines()
    assert rows[0] == "| setting | default | what it does |"
    assert len(rows) == 2 + len(SETTINGS)
    assert all(len(re.findall(r"(?<!\\)\|", row)) == 4 for row in rows[2:]), "a cell holds an unescaped |"
    assert r"N/second\|minute\|hour\|day" in settings_table()


def test_with_settings_table_replaces_only_between_the_markers() -> None:
    readme = f"# intro\n\n{TABLE_START}\nold table\n{TABLE_END}\n\n## after\n"
    assert with_settings_table(readme) == f"# intro\n\n{TABLE_START}\n\n{settings_table()}\n{TABLE_END}\n\n## after\n"
    with pytest.raises(ValueError, match="markers"):
        with_settings_table("# no markers here\n")


def test_env_example_file_is_up_to_date() -> None:
    assert (ROOT / ".env.example").read_text() == env_example(), f".env.example {STALE}"


def test_readme_settings_table_is_up_to_date() -> None:
    readme = (ROOT / "README.md").read_text()
    assert readme == with_settings_table(readme), f"README.md's settings table {STALE}"
