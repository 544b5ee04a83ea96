"""The `rules` brain: intent + catalog search + RU/EN templates, no model.

It is the offline default and the failover when the model fails, so it must sell on its own:
answer with the catalog's facts, offer an in-stock alternative, upsell, and always end with a next
step. Texts carry fact slots (`{price:SKU}`), rendered by the catalog like the model's.
"""

from __future__ import annotations

import re
from decimal import Decimal

from catalog.schema import Catalog, Item
from workflows.types import ComposeRequest, ItemFact, ReplyRequest, Stage

T: dict[str, dict[str, str]] = {
    "greeting": {
        "ru": "Здравствуйте! Я консультант {shop}: подскажу цены и наличие, помогу подобрать и оформить "
              "заказ. Что вы ищете?",
        "en": "Hello! I'm {shop}sales assistant: I can check prices and stock, help you choose and place "
              "an order. What are you looking for?",
    },
    "joined": {
        "ru": "Добро пожаловать! Я консультант {shop}. Если что-то присмотрели — напишите, подскажу "
              "цену и наличие. Что вас интересует?",
        "en": "Welcome! I'm {shop}assistant. If something caught your eye, write to me and I'll check the "
              "price and stock. What are you interested in?",
    },
    "voice": {
        "ru": "Голосовые пока не слушаю — напишите, пожалуйста, текстом, что вы ищете, и я сразу подскажу цену "
              "и наличие. Что подобрать?",
        "en": "I can't listen to voice notes yet — please type what you're looking for and I'll check the price "
              "and stock right away. What can I find for you?",
    },
    "media": {
        "ru": "Спасибо! Опишите, пожалуйста, словами, что вы ищете, — подберу из каталога. Что вас интересует?",
        "en": "Thanks! Please describe in words what you're looking for and I'll find it in the catalog. "
              "What are you interested in?",
    },
    "empty": {
        "ru": "Не расслышал вопрос — напишите, пожалуйста, что вы ищете?",
        "en": "I didn't catch that — what are you looking for?",
    },
    "card_warning": {
        "ru": "Пожалуйста, не отправляйте данные карты в чат — мы их не храним, оплата проходит по защищённой "
              "ссылке.",
        "en": "Please don't send card details in chat — we don't keep them; payment goes through a secure link.",
    },
    "human": {
        "ru": "Передаю ваш вопрос менеджеру — он подключится к диалогу в ближайшее время. Пока можно я подскажу "
              "по ценам и наличию: что вас интересует?",
        "en": "I'm passing your question to a manager who will join shortly. Meanwhile I can help with prices "
              "and stock — what are you interested in?",
    },
    "stop_word": {
        "ru": "Понимаю вас. Передаю обращение менеджеру, он свяжется с вами в ближайшее время. Оставите телефон "
              "для связи?",
        "en": "I understand. I'm passing this to a manager who will contact you shortly. Could you leave a "
              "phone number?",
    },
    "unknown": {
        "ru": "Уточняю по «{what}» — в каталоге такой позиции сейчас нет, я передал вопрос менеджеру, он "
              "ответит.",
        "en": "Let me check on \"{what}\" — it isn't in our catalog right now; I've passed the question to a "
              "manager who will get back to you.",
    },
    "unknown_plain": {
        "ru": "Уточняю — такой позиции в каталоге сейчас нет, я передал вопрос менеджеру, он ответит.",
        "en": "Let me check — that isn't in our catalog right now; I've passed the question to a manager.",
    },
    "unknown_next": {
        "ru": "А пока — что ещё подобрать?",
        "en": "Meanwhile, is there anything else I can find for you?",
    },
    "similar": {"ru": "Из похожего есть:", "en": "Similar items we have:"},
    "out_of_stock": {
        "ru": "{name} сейчас нет в наличии.",
        "en": "{name} is out of stock right now.",
    },
    "alternative": {
        "ru": "Могу предложить замену: {item}. Подойдёт?",
        "en": "I can offer an alternative: {item}. Would that work?",
    },
    "no_alternative": {
        "ru": "Могу записать вас на поступление или подобрать что-то другое — что удобнее?",
        "en": "I can notify you when it's back or find something else — which do you prefer?",
    },
    "upsell": {
        "ru": "К нему часто берут {item}.",
        "en": "Customers often add {item}.",
    },
    "scarce": {"ru": "Их осталось совсем немного.", "en": "Only a few are left."},
    "cta_add": {"ru": "Добавить в корзину?", "en": "Shall I add it to your cart?"},
    "qty_line": {"ru": "Расчёт: {line}.", "en": "That's {line}."},
    "advice_intro": {"ru": "Могу предложить:", "en": "I can suggest:"},
    "advice_none": {"ru": "В этом бюджете сейчас ничего нет в наличии — подскажете, на какую сумму ориентироваться?",
                    "en": "Nothing in stock fits that budget right now — what amount should I aim for?"},
    "cta_all": {"ru": "Добавить всё в корзину?", "en": "Shall I add all of it to your cart?"},
    "cta_choose": {"ru": "Какой вариант вам ближе?", "en": "Which one do you prefer?"},
    "cart_added": {"ru": "Добавил в корзину: {lines}.", "en": "Added to your cart: {lines}."},
    "cart_limited": {
        "ru": "Больше нет — {stock_slot}, положил все.",
        "en": "That's all we have — {stock_slot}, all added.",
    },
    "cart_limited_plain": {"ru": "Больше сейчас нет — положил сколько есть.", "en": "That's all we have now — all "
                           "added."},
    "complaint": {
        "ru": "Очень жаль, что так вышло! Передаю ваше обращение менеджеру — он разберётся и свяжется с вами. "
              "Подскажете номер заказа?",
        "en": "I'm sorry to hear that! I'm passing this to a manager who will sort it out and contact you. Could "
              "you share your order number?",
    },
    "order_status": {
        "ru": "Передаю ваш вопрос менеджеру — он проверит заказ и ответит здесь в ближайшее время. Подскажете номер "
              "заказа или телефон, на который оформляли?",
        "en": "I'm passing this to a manager who will check your order and reply here shortly. Could you share the "
              "order number or the phone number used for it?",
    },
    "cart_total": {"ru": "Итого: {total}.", "en": "Total: {total}."},
    "ask_contact": {
        "ru": "Менеджер подтвердит заказ и доставку — оставите имя и телефон?",
        "en": "A manager will confirm the order and delivery — could you leave your name and phone number?",
    },
    "cart_summary": {"ru": "В корзине: {lines}. Итого: {total}.", "en": "Your cart: {lines}. Total: {total}."},
    "cart_empty": {"ru": "Корзина пока пуста. Что подобрать?", "en": "Your cart is empty so far. What can I find "
                   "for you?"},
    "cancelled": {"ru": "Хорошо, отменил — корзина пуста.", "en": "Done, I've cancelled it — your cart is empty."},
    "lang_switched": {"ru": "Хорошо, продолжим по-русски. Что вас интересует?",
                      "en": "Sure, let's continue in English. What are you looking for?"},
    "similar_cta": {"ru": "Подойдёт что-то из этого?", "en": "Would one of these work?"},
    "alternative_cta": {"ru": "Показать его или оформим?", "en": "Shall I add it instead?"},
    "question_manager": {
        "ru": "Уточняю этот вопрос у менеджера — он ответит вам здесь.",
        "en": "Let me check that with a manager — they'll answer you here.",
    },
    "smalltalk": {
        "ru": "Я виртуальный консультант {shop}: подскажу цены и наличие и помогу оформить заказ. "
              "Что вы ищете?",
        "en": "I'm {shop}virtual assistant: I can check prices and stock and help you order. What are you "
              "looking for?",
    },
    "order_done": {
        "ru": "Спасибо{name}! Заказ принят: {lines}. Итого: {total}. Менеджер свяжется с вами для подтверждения "
              "оплаты и доставки.",
        "en": "Thank you{name}! Order received: {lines}. Total: {total}. A manager will contact you to confirm "
              "payment and delivery.",
    },
    "order_more": {"ru": "Добавить что-нибудь ещё?", "en": "Would you like to add anything else?"},
    "contact_saved": {
        "ru": "Спасибо{name}, контакт записал — менеджер свяжется с вами.",
        "en": "Thank you{name}, I've saved your contact — a manager will get in touch.",
    },
    "contact_next": {"ru": "Что подобрать для вас?", "en": "What can I find for you?"},
    "discount_promo": {
        "ru": "Цены у нас фиксированные, но сейчас действует акция: {item}.",
        "en": "Our prices are fixed, but there's a promotion right now: {item}.",
    },
    "discount_none": {
        "ru": "Цены в каталоге окончательные, скидку сверх них дать не могу.",
        "en": "Our catalog prices are final, sorry.",
    },
    "discount_manager": {
        "ru": "Могу передать запрос на скидку менеджеру.",
        "en": "I can pass a discount request to a manager.",
    },
    "objection_cheaper": {
        "ru": "Понимаю. Есть вариант дешевле: {item}.",
        "en": "I understand. There's a cheaper option: {item}.",
    },
    "objection_none": {
        "ru": "Понимаю. Это хороший вариант за свои деньги, и он в наличии. Какой бюджет вам комфортен — подберу "
              "под него?",
        "en": "I understand. It's good value and in stock. What budget works for you? I'll find something "
              "that fits.",
    },
    "cta_order": {"ru": "Оформим?", "en": "Shall we place the order?"},
    "thanks": {"ru": "Рад помочь!", "en": "Happy to help!"},
    "bye": {"ru": "Всего доброго! Если что-то понадобится — пишите.", "en": "Goodbye! Write any time you need "
            "something."},
    "refuse": {"ru": "Хорошо, без проблем.", "en": "Sure, no problem."},
    "something_else": {"ru": "Подобрать что-то другое?", "en": "Can I find something else for you?"},
    "opt_out": {
        "ru": "Хорошо, больше не будем писать вам первыми. Если понадобится помощь — просто напишите.",
        "en": "Got it — we won't message you first again. If you need anything, just write.",
    },
    "offtopic": {
        "ru": "Я консультант магазина и помогаю с выбором товаров, ценами и заказами.",
        "en": "I'm the shop's assistant and help with products, prices and orders.",
    },
    "assortment": {
        "ru": "У нас есть: {cats}. Что вас интересует?",
        "en": "We have: {cats}. What are you interested in?",
    },
    "ask_what": {"ru": "Что вас интересует?", "en": "What are you interested in?"},
    "checkout_empty": {
        "ru": "С радостью оформлю! Какой товар и сколько штук?",
        "en": "Happy to place an order! Which item and how many?",
    },
    # bot-initiated messages
    "followup": {
        "ru": "Здравствуйте! Остались вопросы по {what}? Подскажу по наличию и помогу оформить заказ — "
              "продолжим?",
        "en": "Hi! Any questions left about {what}? I can check stock and help you order — shall we continue?",
    },
    "followup_generic": {
        "ru": "Здравствуйте! Удалось что-нибудь выбрать? Могу помочь с подбором — что ищете?",
        "en": "Hi! Did you find what you were looking for? I can help you choose — what do you need?",
    },
    "abandoned_cart": {
        "ru": "Здравствуйте! В вашей корзине ждут: {lines}. Итого: {total}. Оформим заказ?",
        "en": "Hi! Your cart is waiting: {lines}. Total: {total}. Shall we place the order?",
    },
    "holding": {
        "ru": "Секунду, уточняю информацию — скоро вернусь с ответом.",
        "en": "One moment, I'm checking — I'll be right back with an answer.",
    },
    "renotify_customer": {
        "ru": "Менеджер уже получил ваш вопрос и ответит в течение рабочего часа. Спасибо за терпение! "
              "Пока могу помочь с чем-то ещё?",
        "en": "A manager has your question and will reply within a business hour. Thanks for your patience! "
              "Can I help with anything else meanwhile?",
    },
}


def t(key: str, lang: str, **kw: object) -> str:
    table = T[key]
    text = table.get(lang) or table["ru"]
    return text.format(**kw) if kw else text


def item_ref(sku: str, *, stock: bool = True) -> str:
    """An item as slots: name, price and (optionally) stock, never literal figures."""
    ref = f"{{name:{sku}}} — {{price:{sku}}}"
    return f"{ref}, {{stock:{sku}}}" if stock else ref


def _upsell(catalog: Catalog, item: Item, cart_skus: set[str], offered: set[str]) -> Item | None:
    for sku in item.upsell:
        up = catalog.get(sku)
        if up and up.in_stock and up.sku not in cart_skus and up.sku not in offered:
            return up
    return None


def _in_stock_alternative(catalog: Catalog, item: Item, skip: set[str]) -> Item | None:
    """The in-stock item most like this one: by name (search), then same category, closest price."""
    from catalog.search import search  # local: keeps this module importable without building an index

    for hit in search(catalog, item.name, limit=6):
        cand = hit.item
        if cand.sku != item.sku and cand.in_stock and cand.sku not in skip and hit.score >= 0.5 and (
                not item.category or cand.category == item.category):
            return cand
    same = [i for i in catalog.items if i.sku not in skip and i.in_stock and i.sku != item.sku
            and item.category and i.category == item.category]
    if same:
        return min(same, key=lambda i: abs(i.effective_price - item.effective_price))
    return None


_BUDGET = re.compile(r"(?:бюджет\w*|не\s+дороже|в\s+пределах|до|under|within|up\s+to|budget(?:\s+is)?)\D{0,12}?"
                     r"(\d[\d\s]*(?:[.,]\d+)?)\s*(тыс|к\b|k\b)?", re.I)


def budget_limit(text: str) -> Decimal | None:
    """«бюджет до 3000», "under $50", «до 5 тыс» → the amount, else None."""
    m = _BUDGET.search(text or "")
    if not m:
        return None
    try:
        value = Decimal(m.group(1).replace(" ", "").replace(",", "."))
    except ArithmeticError:  # pragma: no cover - the regex only lets digits through
        return None
    return value * 1000 if m.group(2) else value


def _picks(catalog: Catalog, items: list[Item], budget: Decimal | None) -> list[Item]:
    """What to suggest: the items asked about, else promotions, else the shop's range — within the budget."""
    pool = [i for i in (items or catalog.items) if i.in_stock]
    if budget is not None:
        pool = [i for i in pool if i.effective_price <= budget]
        pool.sort(key=lambda i: (i.promo_price is None, -i.effective_price))
    else:
        pool.sort(key=lambda i: i.promo_price is None)
    seen: set[str] = set()
    picks = []
    for i in pool:  # one per category reads better than three of a kind
        if i.category not in seen or items:
            picks.append(i)
            seen.add(i.category)
        if len(picks) == 3:
            break
    return picks


def _cheaper(catalog: Catalog, item: Item) -> Item | None:
    cheaper = [i for i in catalog.items if i.in_stock and i.sku != item.sku and item.category
               and i.category == item.category and i.effective_price < item.effective_price]
    return max(cheaper, key=lambda i: i.effective_price) if cheaper else None


def _categories(catalog: Catalog, limit: int = 6) -> list[str]:
    seen: list[str] = []
    for i in catalog.items:
        if i.category and i.category not in seen:
            seen.append(i.category)
    return seen[:limit]


def _lines(cart_skus_qty: list[tuple[str, int]]) -> str:
    return "; ".join(f"{{line:{sku}:{qty}}}" for sku, qty in cart_skus_qty)


def _shop(name: str, lang: str) -> str:
    """«магазина «Имя»» / "the Name " — or just the generic words when the profile has no shop name."""
    if lang == "en":
        return f"the {name} " if name else "the shop's "
    return f"магазина «{name}»" if name else "магазина"


def _ref(sku: str, req: ReplyRequest, *, stock: bool = True, catalog: Catalog | None = None) -> str:
    """An item as slots; without stock figures (`show_stock = false`) an out-of-stock item still says so."""
    if stock and not req.profile.show_stock and catalog is not None:
        item = catalog.get(sku)
        if item is not None and not item.in_stock:
            return item_ref(sku, stock=True)
    return item_ref(sku, stock=stock and req.profile.show_stock)


class Reply:
    """Parts of one reply and the item it proposes (so a following «да» knows what was offered)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.parts: list[str] = []
        self.offered: str | None = None

    def add(self, key_or_text: str, **kw: object) -> Reply:
        self.parts.append(t(key_or_text, self.lang, **kw) if key_or_text in T else key_or_text)
        return self

    def text(self) -> str:
        return " ".join(p for p in self.parts if p)


def rules_text(req: ReplyRequest, catalog: Catalog, *, card_number: bool = False) -> str:
    return rules_reply(req, catalog, card_number=card_number)[0]


def rules_reply(req: ReplyRequest, catalog: Catalog, *, card_number: bool = False) -> tuple[str, str | None]:
    """Compose the reply (with slots) for one turn and the SKU it offers. Pure: same request → same words."""
    lang = "en" if req.language == "en" else "ru"
    r = Reply(lang)
    _compose(r, req, catalog, card_number)
    _answer_the_rest(r, req, catalog)
    return r.text(), r.offered


# the closing question of a reply; answers added for a message's other questions go before it
CTA_KEYS = ("cta_add", "cta_all", "cta_choose", "cta_order", "ask_contact", "ask_what", "similar_cta",
            "alternative_cta", "something_else", "unknown_next")
INFO_TOPICS = ("delivery", "payment", "hours", "warranty", "returns")
# messages whose reply is a hand-over or a refusal: no sales facts are added to those
_NO_EXTRAS = {"opt_out", "stop_word", "complaint", "order_status", "cancel", "injection", "human_request"}


def _answer_the_rest(r: Reply, req: ReplyRequest, catalog: Catalog) -> None:
    """Every question a message asks gets its answer, not only the first one the script recognised.

    The script answers the message's main point (an item, a cart change, a topic) and returns; a
    message like «сколько весит и сколько стоит?» or "is it in stock and do you deliver?" also asks
    for the price, the item's details or a shop topic. Each of those not yet in the reply is added —
    facts as catalog slots or the profile's own texts, never anything else — before the closing
    question, so the reply still ends with one next step.
    """
    it = set(req.intents)
    kind = _message_kind(req)
    if kind != "text" or it & _NO_EXTRAS or req.unknown_item or not r.parts:
        return
    body = " ".join(r.parts)
    extra: list[str] = []
    items = [i for m in req.matches if (i := catalog.get(m.sku)) is not None]
    top = items[0] if items and (len(items) == 1 or _dominant(req.matches)) else None
    if top is not None and len(req.requested) < 2:
        if it & {"price", "availability"} and f"{{price:{top.sku}}}" not in body and f"{{line:{top.sku}" not in body:
            extra.append(_ref(top.sku, req, catalog=catalog) + ".")
        description = (top.description or "").rstrip(".")
        if "attribute" in it and description and description not in body:
            extra.append(f"{{name:{top.sku}}}: {description}.")
    for topic in INFO_TOPICS:
        info = req.profile.info(topic, r.lang)
        if topic in it and info and info not in body:
            extra.append(info)
    if not extra:
        return
    closing = {t(key, r.lang) for key in CTA_KEYS}
    at = len(r.parts)
    while at > 0 and r.parts[at - 1] in closing:
        at -= 1
    r.parts[at:at] = extra
    if at == len(r.parts) - len(extra):  # the main answer had no closing question: give it one
        r.add("cta_order" if req.cart else "cta_add" if top is not None else "ask_what")
    if top is not None and r.offered is None:
        r.offered = top.sku


def _message_kind(req: ReplyRequest) -> str:
    """`[voice]`, `[photo]`, `[joined]`… prefix the text of non-text messages; plain text is `text`."""
    return req.text.split("]", 1)[0].lstrip("[") if req.text.startswith("[") else "text"


def _compose(r: Reply, req: ReplyRequest, catalog: Catalog, card_number: bool) -> None:
    lang = r.lang
    it = set(req.intents)
    kind = _message_kind(req)
    if "opt_out" in it:
        r.add("opt_out")
        return
    if card_number:
        r.add("card_warning")
    if kind == "joined":
        r.add("joined", shop=_shop(req.profile.shop_name, lang))
        return
    if kind == "voice":
        r.add("voice")
        return
    if kind in ("sticker", "photo", "document", "other", "video", "animation") and not req.matches:
        r.add("media")
        return

    cart_skus = {c.sku.upper() for c in req.cart}
    items = [i for m in req.matches if (i := catalog.get(m.sku)) is not None]
    offered: set[str] = set()

    if "stop_word" in it:
        r.add("stop_word")
        return
    if "order_status" in it:
        r.add("order_status")
        return
    if "human_request" in it and not items:
        r.add("human")
        return
    if it & {"lang_ru", "lang_en"} and not items and not it & {"price", "availability", "buy"}:
        r.add("lang_switched")
        return
    if "cancel" in it:
        if req.needs_human == "cancel_order":  # nothing in the cart: an order already placed — a human's job
            r.add("order_status")
        else:
            r.add("cancelled").add("something_else")
        return
    if "complaint" in it:
        r.add("complaint")
        return

    # an order is being placed: a contact with a cart
    if req.has_contact and req.cart and req.stage == Stage.ORDER and (
            it & {"checkout", "confirm", "contact"} or req.cart_added):
        name = f", {req.customer_name}" if req.customer_name else ""
        r.add("order_done", name=name, lines=_lines([(c.sku, c.qty) for c in req.cart]), total="{total}")
        r.add("order_more")
        return
    if "contact" in it and not req.cart and not it & {"price", "availability", "browse", "discount", "objection"} \
            and not items:
        name = f", {req.customer_name}" if req.customer_name else ""
        r.add("contact_saved", name=name).add("contact_next")
        return

    if req.unknown_item and not items:
        words = re.sub(r"[^\w\s.-]", " ", req.unknown_item).split()
        if 0 < len(words) <= 3 and all(any(ch.isalpha() for ch in w) for w in words):
            r.add("unknown", what=" ".join(words)[:48])
        else:  # long or odd text is never quoted back to the customer
            r.add("unknown_plain")
        for topic in ("delivery", "payment"):  # «есть торт павлова и сколько стоит доставка?»: both answered
            if topic in it and req.profile.info(topic, lang):
                r.add(req.profile.info(topic, lang))
        similar = [s for a in req.alternatives if (s := catalog.get(a.sku)) is not None and s.in_stock][:2]
        if similar:
            r.add(t("similar", lang) + " " + "; ".join(_ref(s.sku, req) for s in similar) + ".")
            r.add("similar_cta")
            r.offered = similar[0].sku
        else:
            r.add("unknown_next")
        return

    # cart changes of this turn
    if req.cart_added or req.cart_skipped:
        if "human_request" in it:  # «человека и палатку»: the person is promised first, whatever else happens
            r.add(t("human", lang).split(".")[0] + ".")
        if req.cart_added:
            r.add("cart_added", lines=_lines([(c.sku, c.qty) for c in req.cart_added]))
            for c in req.cart_added:
                item = catalog.get(c.sku)
                asked = next((q.qty for q in req.requested if q.sku == c.sku and q.qty), None) or req.quantity_asked
                if item and 0 < item.stock <= c.qty and (asked or 0) > item.stock:
                    r.add("cart_limited", stock_slot=f"{{stock:{c.sku}}}") if req.profile.show_stock else \
                        r.add("cart_limited_plain")
        for sku in req.cart_skipped:
            item = catalog.get(sku)
            if item is None:
                continue
            r.add("out_of_stock", name=f"{{name:{sku}}}")
            alt = _in_stock_alternative(catalog, item, cart_skus)
            if alt and not req.cart_added:
                r.add("alternative", item=_ref(alt.sku, req))
                r.offered = alt.sku
                return
        if req.cart:
            if len(req.cart) > 1 or any(c.qty > 1 for c in req.cart):
                r.add("cart_total", total="{total}")
            first = catalog.get(req.cart_added[-1].sku) if req.cart_added else None
            up = _upsell(catalog, first, cart_skus, offered) if first and req.push_upsell else None
            if up:
                r.add("upsell", item=_ref(up.sku, req, stock=False))
            r.add("ask_contact" if not req.has_contact else "cta_order")
        else:
            r.add("no_alternative")
        return
    if "checkout" in it and not req.cart and not it & {"delivery", "payment"}:
        r.add("checkout_empty")
        return
    if "checkout" in it and req.cart and not req.has_contact:
        r.add("cart_summary", lines=_lines([(c.sku, c.qty) for c in req.cart]), total="{total}").add("ask_contact")
        return
    if "cart" in it:
        if req.cart:
            r.add("cart_summary", lines=_lines([(c.sku, c.qty) for c in req.cart]), total="{total}")
            r.add("cta_order" if req.has_contact else "ask_contact")
        else:
            r.add("cart_empty")
        return

    if req.needs_human:
        r.add("question_manager").add("unknown_next")
        return
    for topic in ("hours", "warranty", "returns"):
        if topic in it:
            r.add(req.profile.info(topic, lang))
            r.add("cta_order" if req.cart else "ask_what")
            return
    if "attribute" in it and items and items[0].description:
        r.add(f"{{name:{items[0].sku}}}: {items[0].description.rstrip('.')}.")
        r.add("cta_add")
        r.offered = items[0].sku
        return

    if it & {"advice", "budget"} and not req.cart_added:
        picks = _picks(catalog, items, budget_limit(req.text))
        if picks:
            r.add("advice_intro")
            r.add("; ".join(_ref(i.sku, req) for i in picks) + ".")
            r.add("cta_choose")
            r.offered = picks[0].sku
        else:
            r.add("advice_none")
        return
    if "objection" in it:
        base = items[0] if items else (catalog.get(req.cart[0].sku) if req.cart else None)
        cheaper = _cheaper(catalog, base) if base else None
        if cheaper:
            r.add("objection_cheaper", item=_ref(cheaper.sku, req)).add("alternative_cta")
            r.offered = cheaper.sku
        else:
            r.add("objection_none")
        return
    if "discount" in it:
        pool = items or [i for i in catalog.items if i.sku.upper() in cart_skus] or list(catalog.items)
        promos = [i for i in pool if i.promo_price is not None and i.in_stock]
        if promos:
            r.add("discount_promo", item=_ref(promos[0].sku, req, stock=False))
            r.offered = promos[0].sku
        else:
            r.add("discount_none")
        if req.profile.max_discount_percent > 0:
            r.add("discount_manager")
        r.add("cta_order" if req.cart else "cta_add" if r.offered or items else "ask_what")
        if items and not r.offered:
            r.offered = items[0].sku
        return

    if items:
        if "human_request" in it:
            r.add(t("human", lang).split(".")[0] + ".")
        if len(req.requested) >= 2:  # «5 шариков и мишку»: several things at once, each as asked
            refs = [f"{{line:{q.sku}:{q.qty}}}" if q.qty > 1 else _ref(q.sku, req, catalog=catalog)
                    for q in req.requested]
            r.add("; ".join(refs) + ".")
            r.add("cta_all")
            return
        if len(items) == 1 or ("browse" not in it and _dominant(req.matches)):
            _one_item(r, items[0], catalog, req, cart_skus, offered)
        else:
            ordered = sorted(items[:4], key=lambda i: not i.in_stock)
            r.add("; ".join(_ref(i.sku, req, catalog=catalog) for i in ordered) + ".")
            r.add("cta_choose")
        return

    if "delivery" in it or "payment" in it:
        if "delivery" in it:
            r.add(req.profile.info("delivery", lang))
        if "payment" in it:
            r.add(req.profile.info("payment", lang))
        r.add("cta_order" if req.cart else "ask_what")
        return
    if "refuse" in it:
        r.add("refuse").add("something_else")
        return
    if "bye" in it or "thanks" in it:
        r.add("thanks" if "thanks" in it else "bye")
        r.add("cta_order" if req.cart else "something_else")
        return
    if "smalltalk" in it:
        r.add("smalltalk", shop=_shop(req.profile.shop_name, lang))
        return
    if "greeting" in it and "injection" not in it:
        r.add("greeting", shop=_shop(req.profile.shop_name, lang))
        return
    if "injection" in it:
        r.add("offtopic")
    cats = _categories(catalog)
    r.add("assortment", cats=", ".join(cats)) if cats else r.add("ask_what")


def _dominant(matches: list[ItemFact]) -> bool:
    if len(matches) < 2:
        return True
    return matches[0].confidence - matches[1].confidence >= 0.08


def _one_item(r: Reply, item: Item, catalog: Catalog, req: ReplyRequest, cart_skus: set[str],
              offered: set[str]) -> None:
    if not item.in_stock:
        r.add("out_of_stock", name=f"{{name:{item.sku}}}")
        alt = _in_stock_alternative(catalog, item, cart_skus)
        if alt:
            r.add("alternative", item=_ref(alt.sku, req))
            r.offered = alt.sku
        else:
            r.add("no_alternative")
        return
    r.add(_ref(item.sku, req) + ".")
    asked = req.quantity_asked or next((q.qty for q in req.requested if q.sku == item.sku and q.qty), 0)
    if asked > 1:  # «5 штук можно?»: the line total, computed by the catalog
        r.add(t("qty_line", r.lang, line=f"{{line:{item.sku}:{min(asked, item.stock)}}}"))
    r.offered = item.sku
    if 0 < item.stock <= 3 and req.profile.urgency >= 0.5 and req.profile.show_stock:
        r.add("scarce")  # scarcity only where the stock backs it
    if item.description and req.stage in (Stage.OFFER, Stage.DISCOVERY) and len(item.description) <= 160:
        r.add(item.description.rstrip(".") + ".")
    up = _upsell(catalog, item, cart_skus, offered) if req.push_upsell else None
    if up:
        offered.add(up.sku)
        r.add("upsell", item=_ref(up.sku, req, stock=False))
    r.add("cta_add" if item.sku.upper() not in cart_skus else "cta_order")


def compose_text(req: ComposeRequest, catalog: Catalog, shop: str = "") -> str:
    """Bot-initiated messages: follow-ups, abandoned carts, holding and re-notify notices."""
    lang = "en" if req.language == "en" else "ru"
    if req.kind == "abandoned_cart" and req.cart:
        return t("abandoned_cart", lang, lines=_lines([(c.sku, c.qty) for c in req.cart]), total="{total}")
    if req.kind in ("followup", "abandoned_cart"):
        item = next((catalog.get(s) for s in req.last_skus if catalog.get(s)), None)
        if item:
            return t("followup", lang, what=f"{{name:{item.sku}}}")
        return t("followup_generic", lang)
    if req.kind in T:
        return t(req.kind, lang)
    return req.text_en if lang == "en" and req.text_en else req.text_ru

