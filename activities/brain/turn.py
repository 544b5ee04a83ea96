"""The activities of one turn: analyse (local), generate (regular: the model), check and compose (local).

Only the model call is a regular activity: it may be slow, it retries, it can fail over. Catalog
search, the guard and rendering run as local activities in the worker that holds the catalog in
memory, which keeps a turn close to Temporal's own floor.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from decimal import Decimal

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.brain import draft_policy, morph, reader, rules
from activities.brain.guard import check_reply as guard_check
from activities.brain.llm import ChatModel, generate_draft, usage
from activities.brain.reader import entities, items
from activities.crm import metrics
from activities.profiles import ProfileStore
from catalog.render import cart_lines, cart_total, render_slots
from catalog.schema import Catalog, Item
from catalog.search import FOUND_THRESHOLD, search
from catalog.text import product_phrase, strip_contacts
from neuroseller import pii
from workflows import ab, policy
from workflows.types import (
    AnalyzeRequest,
    BrainConfig,
    CartLine,
    CheckRequest,
    ComposeRequest,
    ComposeResult,
    Draft,
    GuardVerdict,
    ItemFact,
    ReplyRequest,
    TurnAnalysis,
)

log = logging.getLogger(__name__)

ASKING = frozenset({"price", "availability", "buy", "browse", "need"})
CONTEXT_FOLLOWING = frozenset({"price", "availability", "buy", "confirm", "checkout", "objection", "discount",
                               "attribute", "cart"})
NOT_ITEMS = frozenset({"discount", "human_request", "stop_word", "opt_out", "contact",
                       "injection", "smalltalk", "hours", "warranty", "returns", "lang_ru", "lang_en", "cart",
                       "cancel", "card_number", "attribute", "order_status", "photo_ref", "advice", "budget",
                       "complaint", "remove", "set_qty"})
QUIET = frozenset({"greeting", "thanks"})
CART_WORDS = frozenset({"buy", "checkout", "need", "confirm"})
SIMILAR_SCORE = 0.5
SURE = 0.5  # a reader score below this is a side reading, not what the message is about
_NOT_ITEMS_TEXT = re.compile(r"https?://\S+|\[card\]|\b\d{2}/\d{2}\b", re.I)  # links, card masks, dates
_PARTS = re.compile(r"[,;+\n]|\s(?:и|а\s+также|плюс|ещё|еще|and|plus|also)\s", re.I)
_LEADING_QTY = re.compile(
    r"^\s*(\d{1,3})\s+(?!(?:человек|чел|person|people|persons|местн|мест|л\b|литр|мл|мм|см|м\b|кг|г\b|гр|w\b|вт|"
    r"gb|гб|tb|mah|мач|дюйм|inch|\\\")\b)", re.I)
_NUM_WORDS_RE = re.compile(r"^\s*(одн[уа]|один|две|два|три|четыре|пять|one|two|three|four|five)\s", re.I)
_WORD_QTY = {"одну": 1, "одна": 1, "один": 1, "две": 2, "два": 2, "три": 3, "четыре": 4, "пять": 5, "one": 1,
             "two": 2, "three": 3, "four": 4, "five": 5}


_UNIT_WORDS = re.compile(
    r"^(меш\w*|пач\w*|упаков\w*|набор\w*|рулон\w*|лист\w*|буханк\w*|банк[аиуеу]?\w*|коробк\w*|флакон\w*|"
    r"бутыл\w*|тюбик\w*|штук\w*|шт|кг|кило\w*|грамм\w*|г|м2|м²|м|метр\w*|квадрат\w*|кв|литр\w*|л|пар[аыу]?|"
    r"комплект\w*|порци\w*|кусо?к\w*|bags?|packs?|boxes|box|sets?|rolls?|sheets?|pieces?|pcs|kg|kilos?|"
    r"meters?|m2|sqm|liters?|litres?|pairs?|units?|portions?|slices?)$", re.I)
_FILLER = re.compile(r"^(а|и|ну|ок|окей|ладно|давай\w*|нужн\w*|надо|хочу|беру|возьм\w*|мне|нам|ещё|еще|тогда|"
                     r"сколько|его|её|ее|их|в|на|по|за|ok|okay|so|then|i|need|want|take|give|me|the|a|of|please|"
                     r"pls|сколько|what|how|many|much|штуки?)$", re.I)


_UNIT_AFTER = re.compile(r"^\s*(шт|штук|меш|пач|упаков|набор|рулон|лист|коробк|банок|банки|бутыл|комплект|порци|"
                         r"pcs|pieces|bags?|packs?|boxes|sets?|rolls?|units?)", re.I)


def extract_quantity(text: str) -> int | None:
    """The quantity asked for: the policy's figures and words, then any number word before a unit
    («двадцать пять мешков»: the policy's own table stops at ten)."""
    found = policy.extract_quantity(text)
    if found is not None:
        return found
    for _start, end, value in entities.numbers_in(text):
        if 0 < value <= 999 and _UNIT_AFTER.match(text[end:]):
            return value
    return None


def only_units(query: str) -> bool:
    """The message names no product: only quantities, units and filler («давайте 12 мешков», "ok 9 pcs")."""
    words = re.findall(r"[A-Za-zА-Яа-яЁё²0-9]+", query)
    content = [w for w in words if not w.isdigit() and not _FILLER.match(w) and not _UNIT_WORDS.match(w)
               and extract_quantity(w) is None]
    return bool(words) and not content


def _leading_qty(part: str) -> int | None:
    m = re.search(r"\b(\d{1,3})\b", part)
    return int(m.group(1)) if m and 0 < int(m.group(1)) <= 999 else None


_CURRENCY_REGION = {"RUB": "RU", "USD": "US", "GBP": "GB", "KZT": "KZ", "UAH": "UA", "BYN": "BY", "CAD": "CA",
                    "AUD": "AU", "INR": "IN", "TRY": "TR", "PLN": "PL", "CHF": "CH"}


def region_of(catalog: Catalog) -> str:
    """Where the shop sells, from its catalog's main currency (EUR says nothing: Russian rules then)."""
    def build() -> str:
        counts = Counter(item.currency for item in catalog.items)
        return _CURRENCY_REGION.get(counts.most_common(1)[0][0], "RU") if counts else "RU"

    return catalog.memo("phone_region", build)


def search_text(text: str) -> str:
    """The message without contacts, card masks and dates: nothing a customer types to reach us is an item."""
    without_contacts, _ = strip_contacts(text)  # the same e-mail/@handle/phone reading the search uses
    return " ".join(_NOT_ITEMS_TEXT.sub(" ", without_contacts).split())


_KG = re.compile(r"(\d{1,3})\s*(кг|kg|кило)\b", re.I)


def weight_quantity(text: str, item: Item | None) -> int | None:
    """«медовик 2 кг» is two of a by-the-kilo cake; «корм 15 кг» names a 15-kg bag (its name carries kg)."""
    m = _KG.search(text)
    if not m or item is None or re.search(r"\d\s*(кг|kg)", " ".join([item.name, *item.aliases]), re.I):
        return None
    return int(m.group(1))


def requested_lines(catalog: Catalog, query: str, prefer: Sequence[str] = ()) -> list[CartLine]:
    """Items named for the cart, one per part («палатку и 2 коврика» → two lines); qty 0 = not said.

    A part that fits several items («давайте 2 букета») takes the one just discussed (`prefer`).
    """
    out: list[CartLine] = []
    seen: set[str] = set()
    for part in _PARTS.split(query):
        if not part or not part.strip():
            continue
        if prefer and only_units(part) and (qty := extract_quantity(part) or _leading_qty(part)):
            context = catalog.get(prefer[0])  # «ok 3 of them and a floor pump»: three of what we discussed
            if context is not None and context.sku not in seen:
                seen.add(context.sku)
                out.append(CartLine(sku=context.sku, qty=qty))
            continue
        hits = [h for h in search(catalog, part, limit=8) if h.score >= FOUND_THRESHOLD]
        if not hits:
            continue
        item = hits[0].item
        for sku in prefer:
            context = next((h for h in hits if h.item.sku.upper() == sku.upper()), None)
            if context is not None and context.score >= hits[0].score - 0.15:
                item = context.item
                break
        if item.sku in seen:
            continue
        seen.add(item.sku)
        qty = extract_quantity(part) or 0
        if not qty and (m := _LEADING_QTY.match(part)):
            qty = int(m.group(1))
        if not qty and (m := _NUM_WORDS_RE.match(part)):
            qty = _WORD_QTY[m.group(1).lower()]
        out.append(CartLine(sku=item.sku, qty=qty if 0 < qty <= 999 else 0))
    return out


def fact(item: Item, confidence: float = 1.0) -> ItemFact:
    return ItemFact(sku=item.sku, name=item.name, price=item.price, promo_price=item.promo_price,
                    currency=item.currency, stock=item.stock, category=item.category,
                    description=item.description, upsell=list(item.upsell), confidence=round(confidence, 3))


_NOT_NAMES = frozenset({
    "мой", "моя", "мои", "телефон", "тел", "номер", "почта", "вот", "да", "нет", "пишите", "звоните", "здравствуйте",
    "привет", "спасибо", "ок", "хорошо", "конечно", "давайте", "оформляйте", "записывайте", "my", "phone", "number",
    "email", "mail", "here", "yes", "ok", "okay", "sure", "thanks", "hello", "hi", "call", "please", "tel", "name",
    "contact", "add", "take", "buy", "order", "checkout", "both", "and", "the", "i", "i'm", "me", "is", "it", "this",
    "инн", "ооо", "ип", "огрн", "кпп", "бик", "тк", "зао", "оао", "пао", "llc", "inc", "ltd",
})
_WORD = re.compile(r"[A-Za-zА-Яа-яЁё][A-Za-zА-Яа-яЁё'-]*")
_EXPLICIT_NAME = re.compile(r"\b(?:name|имя)\s*(?:is|:|-|—)?\s*([A-ZА-ЯЁ][a-zа-яё'-]+)", re.I)


def bare_name(text: str) -> str | None:
    """A name typed next to a contact («Беру. Мария, +7 916…», "Name: Lena, lena@web.de").

    Russian: a word the dictionary knows as a first name (never «Берём» or «Стол»). Latin: a capitalised
    word that is not an everyday English word, taken after "name"/"I'm" or right before the contact.
    """
    clean = re.sub(r"\S+@\S+|\+?\d[\d\s()\-]{6,}\d", " | ", text)
    if m := _EXPLICIT_NAME.search(clean):
        return m.group(1)
    words = list(_WORD.finditer(clean))
    for i, m in enumerate(words):
        word = m.group(0)
        if word.lower() in _NOT_NAMES or (len(word) > 1 and word.isupper()):  # «ИНН», «ООО» are not names
            continue
        if morph.is_first_name(word) and (word[0].isupper() or len(words) <= 3):
            surname = words[i + 1].group(0) if i + 1 < len(words) else ""
            if surname and surname[0].isupper() and not morph.is_first_name(surname) and \
                    clean[m.end():words[i + 1].start()].strip() == "" and surname.lower() not in _NOT_NAMES:
                return f"{word[0].upper()}{word[1:]} {surname}"
            return word[0].upper() + word[1:]
    def latin_name(word: str) -> bool:
        return word[0].isupper() and word.isascii() and word.lower() not in _NOT_NAMES and \
            word.lower() not in morph.EN_NOT_PRODUCT

    for i, m in enumerate(words):
        if latin_name(m.group(0)) and "|" in clean[m.end():m.end() + 4]:
            prev = words[i - 1] if i else None
            if prev and latin_name(prev.group(0)) and clean[prev.end():m.start()].strip() == "":
                return f"{prev.group(0)} {m.group(0)}"
            return m.group(0)
    return None


_PRONOUN_REF = re.compile(r"\b(он|она|оно|они|его|её|ее|их|него|неё|нее|них|ему|ней|нему|им|этот|эту|эти|этого|"
                          r"этой|этих|такой|такую|такие|it|them|this|that|these|those|this\s+one|that\s+one)\b", re.I)
_BOTH = re.compile(r"\b(оба|обе|обоих|both)\b", re.I)
_ALL = re.compile(r"\b(вс[её]|all(\s+of\s+(them|it))?|everything)\b", re.I)


class TurnActivities:
    """Holds what a turn reads: the catalog (hot-reloaded), the profiles, the model and the secrets."""

    def __init__(self, catalog: Callable[[], Catalog], profiles: ProfileStore, model: ChatModel | None,
                 secrets: Sequence[str] = (), brain: BrainConfig | None = None) -> None:
        self._catalog = catalog
        self.profiles = profiles
        self.model = model
        self.secrets = list(secrets)
        self.brain = brain or BrainConfig(provider=getattr(model, "provider", "llm") if model else "rules")

    @activity.defn(name="analyze_turn")
    async def analyze_turn(self, req: AnalyzeRequest) -> TurnAnalysis:
        result = self.analyze(req)
        metrics.TURNS.labels(result.language).inc()
        for intent in result.intents:
            metrics.INTENTS.labels(intent).inc()
        if result.unknown_item:
            metrics.UNKNOWN_ITEMS.inc()
        return result

    def analyze(self, req: AnalyzeRequest) -> TurnAnalysis:
        catalog = self._catalog()
        profile = self.profiles.resolve(req.profile_name, req.chat_id, req.lead_id)  # the lead's A/B arm
        text = req.text or ""
        language = policy.detect_language(text, req.language or profile.default_language,
                                          sticky=req.language is not None)
        reading = reader.read(text, language, profile)
        intents = policy.detect_intents(text, reading.intents)
        contacts = pii.extract_contacts(text, profile.phone_region or region_of(catalog))
        name = contacts.name or (bare_name(text) if contacts.phone or contacts.email else None)
        card = pii.contains_card(text) or "[card]" in text
        if contacts.phone or contacts.email or contacts.username:
            intents.append("contact")
        if card:
            intents.append("card_number")
        it = set(intents)
        if "lang_ru" in it or "lang_en" in it:
            language = "ru" if "lang_ru" in it else "en"
        query = search_text(text)
        if name:  # «Иван, +7…»: a name is not a product
            query = " ".join(query.replace(name, " ").split())
        quantity = extract_quantity(query)

        hits = search(catalog, query, limit=5) if query.strip() else []
        bare = " ".join(w for w in query.split() if any(ch.isdigit() for ch in w) or morph.could_be_product(w))
        if (not hits or hits[0].score < FOUND_THRESHOLD) and bare:
            retry = search(catalog, bare, limit=5) if bare != query else []
            if retry and retry[0].score >= FOUND_THRESHOLD:  # «скидку на термос дадите?»: verbs are not items
                hits = retry
        matches = [fact(h.item, h.score) for h in hits if h.score >= FOUND_THRESHOLD]
        similar = [fact(h.item, h.score) for h in hits
                   if SIMILAR_SCORE <= h.score < FOUND_THRESHOLD and h.item.in_stock]
        requested: list[CartLine] = []
        if matches or it & CART_WORDS or quantity:
            requested = requested_lines(catalog, query, prefer=req.last_skus)
            known = {m.sku for m in matches}
            for line in reversed(requested):
                if line.sku not in known and (item := catalog.get(line.sku)) is not None:
                    matches.insert(0, fact(item))
        unknown = None
        context = [i for s in req.last_skus if (i := catalog.get(s)) is not None]
        pick = policy.ordinal_choice(query) if context and not matches else None
        if pick is not None and (pick == -1 or pick < len(context)):  # «вторую» from the list just shown
            matches = [fact(context[pick])]
        refers = bool(context) and _PRONOUN_REF.search(text) is not None
        if context and (refers or quantity or it & CONTEXT_FOLLOWING) and only_units(query):
            # «давайте 12 мешков», «нужно 30 м2», «а его сколько в упаковке?»: the item being discussed
            matches = [fact(context[0])]
            requested = [CartLine(sku=context[0].sku, qty=quantity or 0)]
        if context and it & {"buy", "confirm", "checkout"} and (
                (both := _BOTH.search(text)) or ("confirm" not in it and _ALL.search(text))):
            requested = [CartLine(sku=i.sku, qty=0) for i in context[: 2 if both else 4]]
            matches = [fact(i) for i in context[: len(requested)]]
        asking_item = bool(it & ASKING) or query.rstrip().endswith("?")
        if matches and asking_item and not refers and (lacking := items.lacking_item(
                query, [i for m in matches if (i := catalog.get(m.sku)) is not None], catalog)):
            # «а сам квадрокоптер есть, не пропеллеры?»: the hits only share a word; offer them, never answer
            unknown, similar, matches, requested = lacking, matches, [], []
        if not matches and unknown is None:
            phrase = product_phrase(query)
            phrase = morph.product_words(phrase) if phrase else None
            if phrase and only_units(phrase):  # «утеплить 60 квадратов»: a unit is not a product
                phrase = None
            # the reader must see a question about an item, and the phrase must have a product head
            # (a weekday, a unit or a verb phrase is no item: «в субботу?», «67 вт», "skip travelling")
            asking = bool(it & ASKING) and items.could_be_item(phrase or "")
            about_terms = bool(it & {"delivery", "payment"}) and "availability" not in it  # «доставка в область?»
            # a side reading the model is unsure of («есть байдарки?» read as 0.26 discount) vetoes nothing
            sure = {i for i in it if reading.scores.get(i, 1.0) >= SURE}
            follows = refers or (context and quantity)
            if phrase and asking and not sure & NOT_ITEMS and not about_terms and not follows:
                unknown = phrase
            elif context and (it & CONTEXT_FOLLOWING or quantity or refers):
                matches = [fact(context[0])]
        needs_human = None
        for topic in ("hours", "warranty", "returns", "delivery", "payment"):
            if topic in it and not profile.info(topic, language) and not matches:
                needs_human = topic
        if "photo_ref" in it and not matches:
            needs_human = "photo"
        if "attribute" in it and matches and not unknown:
            top = catalog.get(matches[0].sku)
            if top is not None and not top.description:
                needs_human = "attribute"
        if quantity is None and matches:
            quantity = weight_quantity(query, catalog.get(matches[0].sku))
            if quantity and requested and not requested[0].qty:
                requested[0] = CartLine(sku=requested[0].sku, qty=quantity)
        alternatives = self._alternatives(catalog, matches) if matches else similar
        return TurnAnalysis(
            language=language, intents=intents, matches=matches[:4], unknown_item=unknown,
            alternatives=alternatives, quantity=quantity, profile=profile, catalog_version=catalog.version,
            masked_text=pii.mask_pii(text), phone=contacts.phone, email=contacts.email, username=contacts.username,
            customer_name=name, card_number=card, requested=requested, needs_human=needs_human, brain=self.brain)

    @staticmethod
    def _alternatives(catalog: Catalog, matches: list[ItemFact]) -> list[ItemFact]:
        """Upsells of the top item and in-stock items of its category: what the reply may offer next."""
        if not matches:
            return []
        top = catalog.get(matches[0].sku)
        if top is None:  # pragma: no cover - matches come from this catalog
            return []
        seen = {m.sku for m in matches}
        out: list[ItemFact] = []
        for sku in top.upsell:
            item = catalog.get(sku)
            if item and item.sku not in seen:
                out.append(fact(item))
                seen.add(item.sku)
        same = [i for i in catalog.items if i.category and i.category == top.category and i.sku not in seen
                and i.in_stock]
        same.sort(key=lambda i: abs(i.effective_price - top.effective_price))
        out.extend(fact(i) for i in same[:2])
        return out[:5]

    @activity.defn(name="rules_reply")
    async def rules_reply(self, req: ReplyRequest) -> GuardVerdict:
        verdict = self.rules(req)
        metrics.REPLIES.labels("rules", "ok" if not verdict.problems else "template_bug").inc()
        return verdict

    def rules(self, req: ReplyRequest) -> GuardVerdict:
        catalog = self._catalog()
        text, offered = rules.rules_reply(req, catalog, card_number="card_number" in req.intents)
        if "opt_out" in req.intents:  # a goodbye must not end with a sales question
            rendered = render_slots(text, catalog, req.cart, req.language)
            return GuardVerdict(ok=True, text=rendered.text, problems=rendered.problems)
        verdict = guard_check(text, req, catalog, self.secrets, req.profile.system_prompt)
        verdict.offered_sku = offered
        # our templates print catalog text only (names, descriptions with grades like «42,5Н»): an
        # "unknown item" finding on them is the guard not knowing the catalog's prose, not a made-up item
        real = [p for p in verdict.problems if not p.startswith("unknown_item:")]
        if not verdict.ok and not real:
            rendered = render_slots(text, catalog, req.cart, req.language)
            if not rendered.problems:
                return GuardVerdict(ok=True, text=rendered.text, offered_sku=offered)
        if not verdict.ok:  # our own template failed the guard: log the bug, send a fact-free reply
            log.error("rules reply failed the guard: %s (%s)", verdict.problems, text)
            safe = rules.t("question_manager", req.language) + " " + rules.t("unknown_next", req.language)
            return GuardVerdict(ok=True, text=safe, problems=["template:" + p for p in verdict.problems])
        return verdict

    @activity.defn(name="generate_reply")
    async def generate_reply(self, req: ReplyRequest) -> Draft:
        if self.model is None:
            raise ApplicationError("no model configured (LLM_PROVIDER=rules)", type="LLMConfigError",
                                   non_retryable=True)
        provider = getattr(self.model, "provider", "llm")
        started = time.perf_counter()
        usage.taken()  # counts from this call only
        try:
            draft = await generate_draft(req, self.model)
            tokens_in, tokens_out = usage.taken()
            return draft.model_copy(update={"latency_ms": (time.perf_counter() - started) * 1000.0,
                                            "tokens_in": tokens_in, "tokens_out": tokens_out})
        except ApplicationError as err:  # a provider may echo our key in its error: never let it travel
            metrics.MODEL_ERRORS.labels(provider, err.type or "error").inc()
            raise ApplicationError(self.scrub(str(err)), type=err.type, non_retryable=err.non_retryable,
                                   next_retry_delay=err.next_retry_delay) from None
        except Exception as err:  # noqa: BLE001 - re-raised as a scrubbed, retryable application error
            metrics.MODEL_ERRORS.labels(provider, type(err).__name__).inc()
            raise ApplicationError(self.scrub(f"{type(err).__name__}: {err}"), type="LLMUnavailable") from None
        finally:
            metrics.MODEL_SECONDS.labels(provider).observe(time.perf_counter() - started)

    @activity.defn(name="check_reply")
    async def check_reply(self, req: CheckRequest) -> GuardVerdict:
        catalog = self._catalog()
        draft = draft_policy.normalize(req.draft.text)
        problems = draft_policy.check_draft(draft, req.request, catalog, self.secrets)
        if problems:  # the model's own words carried a fact, a link, a name or a secret: never sent
            metrics.REPLIES.labels(req.draft.provider, "rejected").inc()
            for kind in metrics.guard_problem_kinds(problems):
                metrics.GUARD_PROBLEMS.labels(kind).inc()
            return GuardVerdict(ok=False, problems=problems)
        draft = draft_policy.fill_profile_slots(draft, req.request)
        verdict = guard_check(draft, req.request, catalog, self.secrets, req.request.profile.system_prompt)
        if verdict.ok and not verdict.text.rstrip().endswith("?"):  # «…думайте сами.» is no next step
            ctas = req.request.profile.ctas(req.request.language)
            verdict.text = f"{verdict.text.rstrip()} {ctas[len(req.request.history) % len(ctas)]}"
            verdict.added_cta = True
        metrics.REPLIES.labels(req.draft.provider, "ok" if verdict.ok else "rejected").inc()
        for kind in metrics.guard_problem_kinds(verdict.problems):
            metrics.GUARD_PROBLEMS.labels(kind).inc()
        if verdict.ok and req.draft.skus:
            verdict.offered_sku = req.draft.skus[0]
        if verdict.ok and "card_number" in req.request.intents:  # the model may forget: the policy won't
            verdict.text = rules.t("card_warning", req.request.language) + " " + verdict.text
        return verdict

    @activity.defn(name="compose_message")
    async def compose_message(self, req: ComposeRequest) -> ComposeResult:
        return self.compose(req)

    def compose(self, req: ComposeRequest) -> ComposeResult:
        catalog = self._catalog()
        known = [line for line in req.cart if catalog.get(line.sku) is not None]  # a reload may drop a SKU
        total, currency = cart_total(known, catalog) or (Decimal(0), None)  # mixed currencies: no one total
        lines = cart_lines(known, catalog, req.language)
        if req.kind == "card":
            return ComposeResult(cart_lines=lines, cart_value=total, currency=currency)
        profile = self.profiles.resolve(req.profile_name, req.chat_id, req.lead_id or None)
        text = rules.compose_text(req, catalog, profile.shop_name)
        if req.kind in ("followup", "abandoned_cart") and (offer := ab.followup_offer(profile, req.language)):
            text = f"{text} {offer}"  # the lead's A/B arm may add an offer (facts as slots, rendered below)
        rendered = render_slots(text, catalog, req.cart, req.language)
        return ComposeResult(text=rendered.text, cart_lines=lines, cart_value=total, currency=currency)

    def scrub(self, text: str) -> str:
        """Error text without our secrets or anything key-shaped (it ends up in histories and escalations)."""
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return re.sub(r"\b(sk|pk|rk)-[\w-]{6,}|Bearer\s+\S+|\b[A-Za-z0-9_-]{32,}\b", "***", text)

    def all(self) -> list[Callable]:
        return [self.analyze_turn, self.rules_reply, self.generate_reply, self.check_reply, self.compose_message]
