"""Process settings, read only from the environment and `.env` (pydantic-settings).

Secrets are `SecretStr` so they never print; `secret_values()` hands them to the facts guard,
which refuses any reply that echoes one.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

LLMProvider = Literal["rules", "openai", "ollama"]


class Settings(BaseSettings):
    """Everything a neuroseller process can be told; see the README's configuration table."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # Temporal
    temporal_address: str | None = Field(default=None, description="host:port; unset = embedded dev server")
    temporal_namespace: str = "default"
    temporal_port: int = 7233
    temporal_ui_port: int = 8233
    task_queue: str = "neuroseller"
    var_dir: Path = Path("var")

    # catalog and profiles
    catalog_path: Path = Path("catalog/sample/catalog.csv")
    catalog_sheet_id: str | None = None
    catalog_sheet_worksheet: str | None = None
    catalog_poll_seconds: float = 2.0
    profiles_dir: Path = Path("profiles")

    # the reader (intents): n-grams alone, e5 embeddings alone, or both averaged; its trained-model cache
    reader_features: Literal["ngram", "e5", "both"] = "ngram"
    reader_cache_dir: Path | None = None  # default: ~/.cache/neuroseller/reader (XDG_CACHE_HOME)

    # model
    llm_provider: LLMProvider = "rules"
    llm_model: str = "gpt-4o-mini"
    llm_timeout_seconds: float = 30.0
    llm_max_attempts: int = 2
    openai_base_url: str | None = None
    openai_api_key: SecretStr | None = None
    ollama_host: str | None = None

    # lead workflow
    persist_leads: bool = True  # write leads and the dialogue log to the CRM sinks (off when no database)
    continue_as_new_after_turns: int = 200
    transcript_limit: int = 40

    # CRM / database
    database_url: SecretStr | None = None
    embedded_pg_port: int = 0  # embedded PostgreSQL's loopback port when DATABASE_URL is unset; 0 = any free
    crm_sinks: str = ""  # comma-separated: csv,webhook,gsheet (postgres is always on)
    crm_csv_path: Path = Path("var/leads.csv")
    crm_webhook_url: str | None = None
    crm_webhook_secret: SecretStr | None = None
    crm_webhook_timeout_seconds: float = 10.0
    gsheet_credentials_file: Path | None = None
    gsheet_spreadsheet_id: str | None = None
    gsheet_worksheet: str = "Leads"

    # Telegram
    telegram_api_id: int | None = None
    telegram_api_hash: SecretStr | None = None
    telegram_session: SecretStr | None = None
    telegram_bot_token: SecretStr | None = None
    telegram_allowed_chats: str = ""  # comma-separated ids/@usernames; empty = private chats only
    telegram_operators_chat: int | None = None
    telegram_task_queue: str = "telegram"  # the gateway's worker queue (send activities run there)
    telegram_reply_in_groups: bool = False  # answer every message in allowed groups, not only when addressed
    telegram_greet_new_members: bool = False  # greet users who join an allowed group/channel (once each)

    # proactive selling (issue 11)
    shop_timezone: str = "Europe/Moscow"  # quiet hours when neither the profile nor the phone names a zone
    shop_events_port: int | None = None  # serve POST /events for the shop's site on this port
    shop_events_host: str = "127.0.0.1"
    shop_events_secret: SecretStr | None = None  # HMAC-SHA256 key of the X-Neuroseller-Signature header
    telegram_sends_per_second: float = 4.0  # whole-account limit of the gateway's send activities
    campaign_sends_per_second: float = 1.0  # pace of one campaign run (below the account's limit)
    campaign_reply_window_hours: float = 48.0  # a campaign counts replies/conversions after this long
    catalog_triggers: bool = True  # tell leads about back-in-stock items, price drops, new promotions
    # voice (SIP / WebRTC gateway, `neuroseller voice`)
    voice_enabled: bool = False  # `neuroseller up` starts the voice gateway
    voice_task_queue: str = "voice"  # the gateway's worker queue (place_call runs there)
    voice_language: str = ""  # ru | en | auto; empty = the profile's default_language
    voice_stt_model: str = "base"  # faster-whisper model dir, or `base` / `tiny.en` from the model packages
    voice_stt_device: str = "cpu"  # cpu | cuda
    voice_stt_compute_type: str = "int8"  # int8 on CPU; float16 or int8_float16 on a GPU
    voice_stt_threads: int = 2
    voice_tts: str = "festival+espeak"  # festival+espeak | festival | espeak | piper | coqui
    voice_piper_voices: str = ""  # ru=/path/ru.onnx,en=/path/en.onnx
    voice_coqui_model: Path | None = None
    voice_end_of_turn_ms: int = 500  # silence that ends the caller's phrase
    voice_speculative: bool = True  # transcribe at the first 150 ms pause; dropped if speech resumes
    voice_silence_seconds: float = 8.0  # "are you there?" after this much silence, then goodbye
    voice_greeting_ru: str = "Здравствуйте! Вы позвонили в магазин. Разговор записывается. Чем могу помочь?"
    voice_greeting_en: str = "Hello! You've reached the shop. This call is recorded. How can I help?"
    voice_record: bool = True  # WAV recordings under VAR_DIR/calls
    sip_bind: str = "127.0.0.1"  # 0.0.0.0 to take calls from a trunk
    sip_port: int = 5060
    sip_public_address: str = ""  # the address the trunk reaches (behind NAT)
    sip_user: str = "shop"
    sip_domain: str = ""  # the trunk's SIP domain
    sip_registrar: str = ""  # sip:sip.zadarma.com; empty = no registration
    sip_proxy: str = ""
    sip_auth_user: str = ""
    sip_password: SecretStr | None = None
    sip_codecs: str = "PCMA/8000,PCMU/8000"
    sip_rtp_port: int = 0
    webrtc_port: int | None = None  # serve the "call the shop" page on WEBRTC_HOST:PORT (0 = any free port)
    webrtc_host: str = "127.0.0.1"
    webrtc_ice_addresses: str = ""  # ICE host candidates only on these addresses (e.g. the public IP; 127.0.0.1)

    # operations
    worker_graceful_shutdown_seconds: float = 20.0  # SIGTERM: in-flight activities get this long to finish
    worker_max_cached_workflows: int = 2000  # leads kept hot in a worker (sticky); a miss replays the history
    worker_max_concurrent_activities: int = 200  # slots, not threads: our activities are async
    worker_max_concurrent_workflow_tasks: int = 200
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"  # json: one JSON object a line (for Loki / ELK / Cloud Logging)
    report_timezone: str = "UTC"  # days in `neuroseller report`, e.g. Europe/Moscow
    metrics_port: int | None = None
    public_ui_url: str | None = None  # base URL of the Temporal UI for links in CRM and operator cards

    @property
    def telegram_configured(self) -> bool:
        return bool(self.telegram_api_id and self.telegram_api_hash and
                    (self.telegram_session or self.telegram_bot_token))

    @property
    def ui_base_url(self) -> str:
        return self.public_ui_url or f"http://localhost:{self.temporal_ui_port}"

    def secret_values(self) -> list[str]:
        """Plain values of every configured secret (for the guard's leak check)."""
        out: list[str] = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                raw = value.get_secret_value()
                if len(raw) >= 6:
                    out.append(raw)
        return out


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
