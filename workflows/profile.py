"""Sales profile: how the bot sells in one chat (or by default). Loaded from `profiles/*.toml`.

Unknown keys and bad values are rejected with the key named, because a typo in a profile must
not silently fall back to defaults in production.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from workflows.ab import Variant
from workflows.nospam import ProactiveRules
from workflows.proactive_types import CampaignTemplate

Lang = str  # "ru" | "en"


class CTATemplates(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ru: list[str] = Field(default_factory=lambda: [
        "Оформим заказ?",
        "Добавить в корзину?",
        "Оставите телефон, чтобы менеджер подтвердил заказ?",
        "Какой вариант выбираете?",
    ])
    en: list[str] = Field(default_factory=lambda: [
        "Shall I place the order?",
        "Add it to your cart?",
        "Leave a phone number so a manager can confirm the order?",
        "Which option do you prefer?",
    ])


class Timers(BaseModel):
    """Durations in seconds; fractional values keep tests fast."""

    model_config = ConfigDict(extra="forbid")

    followup_after_seconds: float = Field(default=3600.0, gt=0)
    abandoned_cart_after_seconds: float = Field(default=1800.0, gt=0)
    max_followups: int = Field(default=2, ge=0, le=10)
    escalation_renotify_seconds: float = Field(default=600.0, gt=0)
    reply_deadline_seconds: float = Field(default=20.0, gt=0)


class Profile(BaseModel):
    """One sales profile. `chats` lists the chat ids / @usernames it applies to."""

    model_config = ConfigDict(extra="forbid")

    name: str = "default"
    chats: list[str] = Field(default_factory=list)
    shop_name: str = ""  # empty: replies say "the shop" without a name
    system_prompt: str = (
        "Ты — вежливый продавец-консультант магазина. Отвечай кратко, по делу, "
        "предлагай подходящие товары из каталога и всегда заканчивай следующим шагом."
    )
    tone: str = "friendly"
    aggressiveness: float = Field(default=0.5, ge=0.0, le=1.0)
    urgency: float = Field(default=0.3, ge=0.0, le=1.0)
    default_language: str = Field(default="ru", pattern="^(ru|en)$")
    cta: CTATemplates = Field(default_factory=CTATemplates)
    stop_words: list[str] = Field(default_factory=lambda: [
        "суд", "засужу", "жалоба", "претензия", "роспотребнадзор", "прокуратура", "мошенники", "обман",
        "lawyer", "lawsuit", "sue", "scam", "chargeback", "fraud"])
    escalation_phrases: list[str] = Field(default_factory=lambda: [
        "позовите менеджера", "позови менеджера", "нужен менеджер", "дайте менеджера", "соедините с менеджером",
        "свяжите с менеджером", "поговорить с менеджером", "живой человек", "живым человеком", "с человеком",
        "позовите оператора", "соедините с оператором", "human please", "real person", "talk to a manager",
        "speak to a manager", "talk to a human", "speak to a human", "a real human", "call a manager",
        "manager please", "operator please",
    ])
    max_discount_percent: float = Field(default=0.0, ge=0.0, le=100.0)
    delivery_info_ru: str = ""  # empty: the bot says it will check and a manager answers
    delivery_info_en: str = ""
    payment_info_ru: str = ""
    payment_info_en: str = ""
    # how local phone numbers are read (GB: 07…, US: (512)…); unset: from the catalog's currency, else RU
    phone_region: str | None = Field(default=None, pattern="^[A-Z]{2}$")
    hours_info_ru: str = ""  # empty: the bot says it will check and escalates the question
    hours_info_en: str = ""
    warranty_info_ru: str = ""
    warranty_info_en: str = ""
    returns_info_ru: str = ""
    returns_info_en: str = ""
    show_stock: bool = True  # false for services and made-to-order goods: say "available", not "5 pcs"
    greet_new_subscribers: bool = False
    reply_in_groups: bool = False
    timers: Timers = Field(default_factory=Timers)
    proactive: ProactiveRules = Field(default_factory=ProactiveRules)  # no-spam caps and quiet hours
    experiment: str = ""  # A/B test name (default: the profile's name); see workflows/ab.py
    variants: list[Variant] = Field(default_factory=list)
    templates: dict[str, CampaignTemplate] = Field(default_factory=dict)  # campaign texts with fact slots
    variant: str = ""  # set per lead from `variants` (never in TOML): `profile:arm`

    def ctas(self, lang: str) -> list[str]:
        return self.cta.en if lang == "en" else self.cta.ru

    def info(self, topic: str, lang: str) -> str:
        """The profile's answer on delivery / payment / hours / warranty / returns ("" when it has none).

        Only the customer's language is used: a shop that wrote only English terms gets its Russian
        customers' delivery question escalated, never answered with someone else's text.
        """
        return str(getattr(self, f"{topic}_info_{'en' if lang == 'en' else 'ru'}", "") or "")
