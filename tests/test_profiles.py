"""Profiles: per-chat resolution, clear errors naming the key, a broken edit keeps the last good one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from activities.profiles import ProfileError, ProfileStore, load_profile
from tests.conftest import ROOT


def test_shipped_profiles_are_valid():
    store = ProfileStore(ROOT / "profiles")
    assert {"default", "vip_group"} <= set(store.names())
    assert store.errors == []


def test_profile_applies_to_the_chats_it_lists():
    store = ProfileStore(ROOT / "profiles")
    assert store.resolve(None, "-1001234567890").name == "vip_group"
    assert store.resolve(None, "@MY_SHOP_VIP").name == "vip_group"
    assert store.resolve(None, "777").name == "default"
    assert store.resolve("vip_group", "777").name == "vip_group"


@pytest.mark.parametrize(("text", "key"), [
    ("aggressivness = 0.5\n", "aggressivness"),
    ("urgency = 2\n", "urgency"),
    ("default_language = 'de'\n", "default_language"),
    ("[timers]\nfollowup_after_seconds = -1\n", "timers.followup_after_seconds"),
    ("[cta]\nfr = ['x']\n", "cta.fr"),
])
def test_bad_profile_names_the_key(tmp_path: Path, text: str, key: str):
    path = tmp_path / "shop.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    assert f"'{key}'" in str(err.value) and "shop.toml" in str(err.value)


def test_not_toml_and_missing_file(tmp_path: Path):
    bad = tmp_path / "x.toml"
    bad.write_text("name = [unclosed", encoding="utf-8")
    with pytest.raises(ProfileError, match="not valid TOML"):
        load_profile(bad)
    with pytest.raises(ProfileError, match="not found"):
        load_profile(tmp_path / "none.toml")


def test_broken_edit_keeps_the_last_good_profile(tmp_path: Path):
    path = tmp_path / "default.toml"
    path.write_text("shop_name = 'Старый'\n", encoding="utf-8")
    store = ProfileStore(tmp_path)
    assert store.resolve(None, "1").shop_name == "Старый"
    path.write_text("shop_name = 'Новый'\naggressiveness = 7\n", encoding="utf-8")
    os.utime(path, ns=(1, 2))
    assert store.resolve(None, "1").shop_name == "Старый"
    assert store.errors and "aggressiveness" in store.errors[0]
    path.write_text("shop_name = 'Новый'\n", encoding="utf-8")
    assert store.resolve(None, "1").shop_name == "Новый" and store.errors == []
    with pytest.raises(ProfileError):
        path.write_text("oops = 1\n", encoding="utf-8")
        store.load(strict=True)


def test_no_directory_gives_the_built_in_default():
    assert ProfileStore(None).resolve(None, "1").name == "default"
    assert ProfileStore(Path("/nonexistent")).names() == []
