"""The `rules` brain: intent + catalog search + RU/EN templates, no model.

It is the offline default and the failover when the model fails, so it must sell on its own:
answer with the catalog's facts, offer an in-stock alternative, upsell, and always end with a next
step. Texts carry fact slots (`{price:SKU}`), rendered by the catalog like the model's.
"""

from __future__ import annotations

from decimal import Decimal

from catalog.schema import Catalog, Item
from workflows.types import ComposeRequest, ItemFact, ReplyRequest, Stage

T: dict[str, dict[str, str]] = {
    "greeting": {
        "ru": "Здравствуйте! Я консультант магазина «{shop}»: подскажу цены и наличие, помогу подобрать и оформить "
              "заказ. Что вы ищете?",
        "en": "Hello! I'm the {shop} sales assistant: I can check prices and stock, help you choose and place "
              "an order. What are you looking for?",
    },
    "joined": {
        "ru": "Добро пожаловать! Я консультант магазина «{shop}». Если что-то присмотрели — напишите, подскажу "
              "цену и наличие. Что вас интересует?",
        "en": "Welcome! I'm the {shop} assistant. If something caught your eye, write to me and I'll check the "
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
    "cta_choose": {"ru": "Какой вариант вам ближе?", "en": "Which one do you prefer?"},
    "cart_added": {"ru": "Добавил в корзину: {lines}.", "en": "Added to your cart: {lines}."},
    "cart_limited": {
        "ru": "В наличии только {stock_slot}, столько и положил.",
        "en": "Only {stock_slot}, so that's what I added.",
    },
    "cart_total": {"ru": "Итого: {total}.", "en": "Total: {total}."},
    "ask_contact": {
        "ru": "Для оформления оставьте, пожалуйста, имя и телефон — менеджер подтвердит заказ и доставку.",
        "en": "To place the order, please leave your name and phone number — a manager will confirm the order "
              "and delivery.",
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
        "en": "Catalog prices are final; I can't offer a discount beyond them.",
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
    """Closest-priced in-stock item of the same category (or an in-stock upsell link)."""
    same = [i for i in catalog.items if i.sku not in skip and i.in_stock and i.sku != item.sku
            and item.category and i.category == item.category]
    if same:
        return min(same, key=lambda i: abs(i.effective_price - item.effective_price))
    return None


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


def rules_text(req: ReplyRequest, catalog: Catalog, *, card_number: bool = False) -> str:
    """Compose the reply text (with slots) for one turn. Pure: same request → same words."""
    lang = "en" if req.language == "en" else "ru"
    it = set(req.intents)
    parts: list[str] = []
    if card_number:
        parts.append(t("card_warning", lang))

    kind = req.text.split("]", 1)[0].lstrip("[") if req.text.startswith("[") else "text"
    if "opt_out" in it:
        return t("opt_out", lang)
    if kind == "joined":
        return t("joined", lang, shop=req.profile.shop_name)
    if kind == "voice":
        return " ".join([*parts, t("voice", lang)])
    if kind in ("sticker", "photo", "document", "other", "video") and not req.matches:
        return " ".join([*parts, t("media", lang)])

    cart_skus = {c.sku.upper() for c in req.cart}
    matches = [catalog.get(m.sku) for m in req.matches]
    items = [m for m in matches if m is not None]
    offered: set[str] = set()

    if "stop_word" in it:
        return " ".join([*parts, t("stop_word", lang)])
    if "human_request" in it and not items:
        return " ".join([*parts, t("human", lang)])

    # an order is being placed: contact left with a cart
    just_left_contact = req.has_contact and req.cart and (req.stage == Stage.ORDER)
    if just_left_contact and ("checkout" in it or "buy" in it or "confirm" in it or _contact_only(req)):
        name = f", {req.customer_name}" if req.customer_name else ""
        lines = _lines([(c.sku, c.qty) for c in req.cart])
        parts.append(t("order_done", lang, name=name, lines=lines, total="{total}"))
        parts.append(t("order_more", lang))
        return " ".join(parts)
    if _contact_only(req) and not req.cart:
        name = f", {req.customer_name}" if req.customer_name else ""
        parts.append(t("contact_saved", lang, name=name))
        parts.append(t("contact_next", lang))
        return " ".join(parts)

    if req.unknown_item and not items:
        parts.append(t("unknown", lang, what=req.unknown_item))
        similar = [catalog.get(a.sku) for a in req.alternatives]
        similar = [s for s in similar if s is not None and s.in_stock][:2]
        if similar:
            parts.append(t("similar", lang) + " " + "; ".join(item_ref(s.sku) for s in similar) + ".")
        parts.append(t("unknown_next", lang))
        return " ".join(parts)

    # cart changes this turn: confirm and move to checkout
    added = [c for c in req.cart if c.sku.upper() in {i.sku.upper() for i in items}] if items else []
    wants_cart = bool(it & {"buy", "checkout"}) or ("confirm" in it and req.cart)
    if req.cart and (wants_cart or (added and it & {"buy", "confirm"})):
        focus = added or req.cart
        parts.append(t("cart_added", lang, lines=_lines([(c.sku, c.qty) for c in focus])))
        for c in focus:
            item = catalog.get(c.sku)
            if item and 0 < item.stock <= c.qty and c.qty > 1:
                parts.append(t("cart_limited", lang, stock_slot=f"{{stock:{c.sku}}}"))
        if len(req.cart) > 1 or any(c.qty > 1 for c in req.cart):
            parts.append(t("cart_total", lang, total="{total}"))
        first = catalog.get(focus[-1].sku)
        up = _upsell(catalog, first, cart_skus, offered) if first and req.push_upsell else None
        if up:
            offered.add(up.sku)
            parts.append(t("upsell", lang, item=item_ref(up.sku, stock=False)))
        parts.append(t("ask_contact", lang) if not req.has_contact else t("cta_order", lang))
        return " ".join(parts)
    if "checkout" in it and not req.cart and not it & {"delivery", "payment"}:
        parts.append(t("checkout_empty", lang))
        return " ".join(parts)

    if "discount" in it:
        promos = [i for i in (items or catalog.items) if i.promo_price is not None and i.in_stock]
        if promos:
            parts.append(t("discount_promo", lang, item=item_ref(promos[0].sku, stock=False)))
        else:
            parts.append(t("discount_none", lang))
        if req.profile.max_discount_percent > 0:
            parts.append(t("discount_manager", lang))
        parts.append(t("cta_order", lang))
        return " ".join(parts)

    if "objection" in it:
        base = items[0] if items else (catalog.get(req.cart[0].sku) if req.cart else None)
        cheaper = _cheaper(catalog, base) if base else None
        if cheaper:
            parts.append(t("objection_cheaper", lang, item=item_ref(cheaper.sku)))
            parts.append(t("cta_add", lang))
        else:
            parts.append(t("objection_none", lang))
        return " ".join(parts)

    if items:
        if len(items) == 1 or ("browse" not in it and _dominant(req.matches)):
            parts.extend(_one_item(items[0], catalog, req, lang, cart_skus, offered))
        else:
            lines = [item_ref(i.sku) for i in items[:4]]
            parts.append("; ".join(lines) + ".")
            parts.append(t("cta_choose", lang))
        if "human_request" in it:
            parts.insert(0, t("human", lang).split(".")[0] + ".")
        return " ".join(parts)

    if "delivery" in it or "payment" in it:
        if "delivery" in it:
            parts.append(req.profile.delivery_info_en if lang == "en" else req.profile.delivery_info_ru)
        if "payment" in it:
            parts.append(req.profile.payment_info_en if lang == "en" else req.profile.payment_info_ru)
        parts.append(t("cta_order", lang) if req.cart else t("ask_what", lang))
        return " ".join(parts)

    if "refuse" in it:
        parts.append(t("refuse", lang))
        parts.append(t("something_else", lang))
        return " ".join(parts)
    if "bye" in it or "thanks" in it:
        parts.append(t("thanks" if "thanks" in it else "bye", lang))
        parts.append(t("cta_order", lang) if req.cart else t("something_else", lang))
        return " ".join(parts)
    if "greeting" in it and req.stage in (Stage.GREETING, Stage.DISCOVERY) and "injection" not in it:
        return " ".join([*parts, t("greeting", lang, shop=req.profile.shop_name)])

    if "injection" in it:
        parts.append(t("offtopic", lang))
    cats = _categories(catalog)
    parts.append(t("assortment", lang, cats=", ".join(cats)) if cats else t("ask_what", lang))
    return " ".join(parts)


def _contact_only(req: ReplyRequest) -> bool:
    """The message is (mostly) a contact: the analysis found one and nothing else was asked."""
    it = set(req.intents)
    return "contact" in it and not (it & {"price", "availability", "browse", "discount", "objection"})


def _dominant(matches: list[ItemFact]) -> bool:
    if len(matches) < 2:
        return True
    return matches[0].confidence - matches[1].confidence >= 0.08


def _one_item(item: Item, catalog: Catalog, req: ReplyRequest, lang: str, cart_skus: set[str],
              offered: set[str]) -> list[str]:
    out: list[str] = []
    if not item.in_stock:
        out.append(t("out_of_stock", lang, name=f"{{name:{item.sku}}}"))
        alt = _in_stock_alternative(catalog, item, cart_skus)
        out.append(t("alternative", lang, item=item_ref(alt.sku)) if alt else t("no_alternative", lang))
        return out
    out.append(item_ref(item.sku) + ".")
    if 0 < item.stock <= 3 and req.profile.urgency >= 0.5:  # scarcity only where the stock backs it
        out.append(t("scarce", lang))
    if item.description and req.stage in (Stage.OFFER, Stage.DISCOVERY) and len(item.description) <= 160:
        desc = item.description.rstrip(".")
        if not any(ch.isdigit() for ch in desc):  # figures in free text are not verified facts
            out.append(desc + ".")
    up = _upsell(catalog, item, cart_skus, offered) if req.push_upsell else None
    if up:
        offered.add(up.sku)
        out.append(t("upsell", lang, item=item_ref(up.sku, stock=False)))
    out.append(t("cta_add", lang) if item.sku.upper() not in cart_skus else t("cta_order", lang))
    return out


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


def cart_value(req: ComposeRequest, catalog: Catalog) -> tuple[Decimal, str | None]:
    total = Decimal(0)
    currency = None
    for line in req.cart:
        item = catalog.get(line.sku)
        if item:
            total += item.effective_price * line.qty
            currency = currency or item.currency
    if not req.cart:
        for sku in req.last_skus[:1]:
            item = catalog.get(sku)
            if item:
                total, currency = item.effective_price, item.currency
    return total, currency
