"""Sales profiles from `profiles/*.toml`: per chat by id or @username, with a default.

A broken profile is rejected with the file and the key named (`ProfileError`), and, like the
catalog, a broken edit never replaces the profile that was working.
"""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path

from pydantic import ValidationError

from workflows.profile import Profile

log = logging.getLogger(__name__)


class ProfileError(ValueError):
    """A profile file that cannot be used; the message names the file and the key."""


def load_profile(path: Path) -> Profile:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ProfileError(f"{path}: profile file not found") from err
    except tomllib.TOMLDecodeError as err:
        raise ProfileError(f"{path}: not valid TOML: {err}") from err
    data.setdefault("name", path.stem)
    try:
        return Profile.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "(root)"
        kind = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
        more = f" (+{err.error_count() - 1} more)" if err.error_count() > 1 else ""
        raise ProfileError(f"{path}: key '{key}': {kind}{more}") from err


class ProfileStore:
    """All profiles of a directory, reloaded when a file changes (checked at most every `ttl` s)."""

    def __init__(self, directory: Path | None, override: Profile | None = None) -> None:
        self.directory = directory
        self.override = override
        self._profiles: dict[str, Profile] = {}
        self._stamp: tuple = ()
        self.errors: list[str] = []

    def _fingerprint(self) -> tuple:
        if self.directory is None or not self.directory.is_dir():
            return ()
        return tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size)
                            for p in self.directory.glob("*.toml")))

    def load(self, *, strict: bool = False) -> None:
        stamp = self._fingerprint()
        if stamp == self._stamp and self._profiles:
            return
        loaded: dict[str, Profile] = {}
        errors: list[str] = []
        for path in sorted(self.directory.glob("*.toml")) if stamp else []:
            try:
                loaded[path.stem] = load_profile(path)
            except ProfileError as err:
                if strict:
                    raise
                errors.append(str(err))
                if path.stem in self._profiles:  # keep the last good version
                    loaded[path.stem] = self._profiles[path.stem]
                log.error("profile not loaded: %s", err)
        self._profiles, self._stamp, self.errors = loaded, stamp, errors

    def names(self) -> list[str]:
        self.load()
        return sorted(self._profiles)

    def resolve(self, name: str | None, chat_id: str, lead_id: str | None = None) -> Profile:
        """The profile for a chat: an explicit name, else one listing the chat, else `default`.

        With `lead_id`, the lead's A/B variant of it (`workflows/ab.py`) when the profile declares variants.
        """
        if lead_id:
            from workflows import ab

            return ab.apply(self.resolve(name, chat_id), lead_id)
        if self.override is not None:
            return self.override
        self.load()
        if name and name in self._profiles:
            return self._profiles[name]
        key = str(chat_id).lower()
        for profile in self._profiles.values():
            if any(str(c).lower().lstrip("@") == key.lstrip("@") for c in profile.chats):
                return profile
        return self._profiles.get("default") or Profile()
