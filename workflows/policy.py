"""The sales script as pure, deterministic functions: intents, language, stages, CTA and escalation rules.

Workflows and tests import these directly; nothing here does I/O or reads a clock, so the
same message always leads to the same decision on replay.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from catalog.text import phrase_in  # stem-aware: «жалоба» matches «напишу жалобу»
from workflows.profile import Profile
from workflows.types import CartLine, LeadState, LeadStatus, Stage

# ---- language -----------------------------------------------------------------------------------

_CYR_WORD = re.compile(r"\b[а-яё][а-яё-]*\b", re.I)
_LAT_WORD = re.compile(r"\b[a-z][a-z'-]*\b", re.I)
_NOT_LANGUAGE = re.compile(r"\S+@\S+|https?://\S+|@\w+|\{[^}]*\}|\b\w*\d\w*\b", re.I)


_EN_WORDS = frozenset("""hi hello hey thanks thank you yes yeah no ok okay please how much what where when which who why
is are do does can could would will i i'm i'll my me we the a an and or for to of in on it this that price cost buy
want need have get take order cart stock available sorry sure great good bye""".split())


def detect_language(text: str, previous: str = "ru", *, sticky: bool = True) -> str:
    """RU or EN by words, not counting e-mails, links, @handles and model numbers.

    A short Latin-only message inside a Russian dialogue («iphone 13», "ok") keeps Russian, and a
    message without words (a phone number, an emoji) keeps the previous language.
    """
    clean = _NOT_LANGUAGE.sub(" ", text)
    cyr, lat = len(_CYR_WORD.findall(clean)), len(_LAT_WORD.findall(clean))
    if cyr == 0 and lat == 0:
        return previous
    latin = [w.lower() for w in _LAT_WORD.findall(clean)]
    if sticky and cyr == 0 and previous == "ru" and lat <= 2 and not any(w in _EN_WORDS for w in latin):
        return "ru"  # «iphone 13» inside a Russian dialogue is a model name, not a switch to English
    if lat == 0 and previous == "en" and cyr <= 1 and len(clean.strip()) <= 3:  # pragma: no cover - rare
        return "en"
    raw_latin = _LAT_WORD.findall(clean)
    if cyr and all(w[:1].isupper() and w.lower() not in _EN_WORDS for w in raw_latin):
        return "ru"  # «есть кроссовки Nike Air Max?»: capitalised brand names inside Russian
    if sticky and cyr and lat and max(cyr, lat) < 2 * min(cyr, lat):
        return previous  # «есть кроссовки Nike Air Max?»: brand names do not switch the language
    return "ru" if cyr >= lat else "en"


# ---- intents ------------------------------------------------------------------------------------


def _rx(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.I)


INTENT_PATTERNS: dict[str, re.Pattern[str]] = {
    "greeting": _rx(r"^\W*(привет\w*|здравств\w*|здрасьт\w*|добр(ый|ое|ого)\s+(день|утро|вечер|дня|вечера)|"
                    r"доброго\s+времени|салют|хай|hi|hello|hey|hiya|good\s+(morning|afternoon|evening))\b"),
    "price": _rx(r"сколько\s+(стоит|стоят|будет|за|по\s+цене)", r"\bцен[аыуе]?\b", r"\bпоч[её]м\b", r"стоимост",
                 r"\bпрайс", r"how\s+much", r"\bhow\s+much\s+(r|are)\b", r"\bprices?\b", r"\bcosts?\b",
                 r"\bquote\b", r"\bpricing\b",
                 r"^\W*(а\s+)?сколько\W*$", r"\bрасценк"),
    "availability": _rx(r"\bесть\s+(ли|в\s+наличии)", r"в\s+наличии", r"\bналичи", r"\bесть\b.*\?",
                        r"\bостал(ось|ись)", r"\bavailab", r"in\s+stock",
                        r"do\s+(you|u|ya)\s+(have|sell|carry|stock|do|fix|repair|got)",
                        r"\b(got|have)\s+(any|u\s+got)\b",
                        r"\bany\b.*\bleft\b", r"\bпрода[её]т(е|ся)?\b", r"\bпродают\b", r"\bбывают\b", r"\bимеются\b",
                        r"\bремонтиру", r"\bчинит", r"\bпочинит", r"\bпоменя(ете|ть|йте)\b", r"\bзамени(те|ть)\b",
                        r"\bделаете\b", r"\bcan\s+you\s+(fix|repair|replace)", r"\bdo\s+you\s+offer"),
    "need": _rx(r"\bнуж(ен|на|но|ны)\b", r"\bищу\b", r"\bподбер", r"\bхочу\b", r"\bi\s+need\b", r"\blooking\s+for\b",
                r"\bi('m|\s+am)\s+looking", r"\bi\s+want\b", r"\bi'?d\s+like\b"),
    "buy": _rx(r"хочу\s+(купить|заказать|взять|оформить)", r"\bкуплю\b", r"\bберу\b", r"\bвозьму\b", r"\bвозьм[её]м\b",
               r"\bбер[её]м\b", r"\bкупим\b", r"\bзакажем\b",
               r"\bзаказ(ать|ываю|ала|ал)\b", r"добав(ь|ьте|ить|лю)\b", r"\bв\s+корзину\b", r"\bположи(те)?\b",
               r"\bi('ll|\s+will)\s+take\b", r"\bbuy\b", r"\bi\s+want\s+(to\s+(buy|order)|it|this|that|one|two|\d)",
               r"\badd\b.*\b(cart|basket|order|too|also|as\s+well)\b", r"\badd\s+(it|this|that|one|\d)",
               r"\bi('d|\s+would)\s+like\s+to\s+(buy|order)", r"\bpurchase\b", r"\bлет\s+ми\b", r"\bдавайте\s+\d",
               r"\bgive\s+me\s+\d+\s*(x|pcs|pieces|of)?\s+[a-z]", r"\bi'?ll\s+get\b", r"\badd\b", r"\bbuying\b",
               r"\bordering\b", r"\bi'?ll\s+have\b"),
    "checkout": _rx(r"оформ(ить|ляем|ляйте|им|и|ляю)", r"\bзапиш(и|ите)\b", r"\bзаписыва(йте|й|ть)\b",
                    r"\bbook\s+(it|me|a|an|the|\d)\b", r"\breserve\b", r"\bкак\s+заказать", r"\bcheck\s*out\b",
                    r"place\s+(an?\s+|the\s+|my\s+)?order", r"\bоформление", r"\bconfirm\s+(the\s+|my\s+)?order"),
    "advice": _rx(r"\bподар(ок|ка|ки|ить)\b", r"\bgift\b", r"\bpresent\s+for\b", r"\bпосовету\w*",
                  r"\bчто\s+(выбрать|взять|лучше)\b", r"\brecommend\w*", r"\bsuggest\w*",
                  r"\bwhat\s+should\s+i\s+(get|buy)",
                  r"\bподскажите,?\s+что\b", r"\bне\s+знаю,?\s+что\b"),
    "budget": _rx(r"\bбюджет\w*", r"\bне\s+дороже\b", r"\bв\s+пределах\b", r"\bдо\s+\d[\d\s]*(₽|р|руб|тыс|к\b|\$|€)?",
                  r"\bunder\s+[$€£]?\d", r"\bwithin\s+[$€£]?\d", r"\bbudget\b", r"\bup\s+to\s+[$€£]?\d"),
    "browse": _rx(r"\bчто\s+(есть|у\s+вас|предлож|можете\s+предлож)",
                  r"\bкакие\b.*\b(есть|бывают|у\s+вас)",
                  r"посовет(уй|уйте)", r"\bассортимент", r"\bкаталог", r"\bвыбор\b",
                  r"what\s+do\s+you\s+(have|sell|offer)", r"\brecommend", r"\bsuggest", r"\bcatalog",
                  r"\bwhat\s+\w+\s+do\s+you\s+have", r"\bwhat\s+(kinds?|types?|options)\b", r"\bвариант(ы|ов)\b"),
    "delivery": _rx(r"\bдостав", r"\bсамовывоз", r"\bкурьер", r"\bпривез", r"\bпришл[её]те\b",
                    r"\bsdek|сдэк|почт[аойу]\b",
                    r"\bdeliver", r"\bshipping\b", r"\bship\b", r"\bpick\s*up\b", r"\bcourier"),
    "payment": _rx(r"\bоплат", r"\bкартой\b", r"\bналичны", r"\bрассрочк", r"\bсч[её]т\b",
                   r"\bpay(ment)?\b", r"\bpaypal\b", r"\b(take|accept)\s+(cards?|paypal|cash|apple\s+pay)",
                   r"\bcash\b", r"\binvoice\b", r"\bcredit\s+card", r"\binstallment"),
    "discount": _rx(r"\bскидк", r"^\W*(\w+\W+){0,3}\d{1,2}\s*%\W*\??\W*$", r"\d+\s*%\s*(off|discount|скидк)",
                    r"\bсбавь", r"\bподешевле\s+отда",
                    r"\bпромокод", r"\bуступ", r"\bторг(\b|уетесь)", r"\bакци",
                    r"\bdiscount", r"\bpromo\s*code", r"\bcoupon", r"\bsale\b"),
    "objection": _rx(r"\bдорого", r"\bдороговат", r"\bподумаю\b", r"\bподумать\b", r"\bне\s+уверен", r"\bсомнева",
                     r"\bу\s+конкурент", r"\bдешевле\b", r"\bподешевле\b", r"\bбюджетн", r"\bexpensive\b",
                     r"too\s+much",
                     r"think\s+about\s+it", r"\bnot\s+sure\b", r"\bpricey\b", r"\bcheaper\b", r"\bless\s+expensive",
                     r"\bon\s+a\s+budget\b"),
    "opt_out": _rx(r"\bотпиш", r"\bне\s+пиш(ите|и)\b", r"\bотстань", r"\bне\s+беспокой", r"\bбольше\s+не\s+пиш",
                   r"^\s*стоп\s*$", r"^\s*stop\s*$", r"\bunsubscribe\b", r"\bstop\s+(messaging|writing|texting)",
                   r"\bdon'?t\s+(message|write|text|contact)\s+me", r"\bleave\s+me\s+alone"),
    "thanks": _rx(r"\bспасибо\b", r"\bблагодар", r"\bthanks?\b", r"\bthank\s+you\b", r"\bthx\b"),
    "bye": _rx(r"\bпока\b", r"\bдо\s+свидания\b", r"\bвсего\s+доброго\b", r"\bbye\b", r"\bgoodbye\b"),
    "cancel": _rx(r"\bпередумал", r"\bотмен(а|ите|ить|яю)", r"\bне\s+буду\s+(брать|заказывать|покупать)",
                  r"\bcancel\b", r"\bchanged\s+my\s+mind\b", r"\bnever\s*mind\b"),
    "refuse": _rx(r"\bне\s+надо\b", r"\bне\s+нужно\b", r"^\W*нет\b", r"\bno\s+thanks\b", r"^\W*no\b",
                  r"\bnot\s+interested", r"\bне\s+интересно"),
    "confirm": _rx(r"^\W*(\w+\W+)?(давай(те)?|беру|оформляем)\W*$", r"^\W*(вс[её]\s+)?(верно|правильно)\b",
                   r"^\W*(that'?s\s+)?(correct|right)\b",
                   r"^\W*(да|давай(те)?|ок|окей|ok|хорошо|конечно|согласен|согласна|подходит|го|ага|угу|отлично|супер|"
                   r"норм|нормально|пойд[её]т|подойд[её]т|устраивает|годится|ладно|можно|"
                   r"беру|yes|yeah|yep|yup|sure|ok(ay)?|deal|sounds\s+good|let'?s\s+do\s+it|please\s+do|great|perfect)\b"),
    "cart": _rx(r"\bчто\s+(у\s+меня\s+)?в\s+корзин", r"\bмоя\s+корзин", r"\bсколько\s+(всего|итого|в\s+сумме)",
                r"\bитого\b", r"\bmy\s+(cart|basket|order)\b", r"\b(what'?s|what\s+is)\s+(my|the)\s+total\b",
                r"\bin\s+my\s+cart\b"),
    "photo_ref": _rx(r"\b(как|такой|такую|такое|такие)\s+(же\s+)?(как\s+)?на\s+(фото|картинке|фотке|скрине)",
                     r"\bс\s+(фото|картинки|скрина)\b", r"\bна\s+(фото|фотке|скрине)\b",
                     r"\b(in|on|from)\s+the\s+(photo|picture|"
                     r"pic|screenshot|post)\b", r"\blike\s+in\s+the\s+(photo|picture)"),
    "attribute": _rx(r"\bцвет", r"\bразмер", r"\bдлин[аыу]", r"\bвес\b", r"\bвесит", r"\bматериал", r"\bсостав\b",
                     r"\bгабарит", r"\bхарактеристик", r"\bcolou?rs?\b", r"\bsizes?\b", r"\blength\b", r"\bweigh",
                     r"\bmaterial", r"\bdimensions?\b", r"\bspecs?\b", r"\bподробнее\b", r"\bdetails?\b"),
    "hours": _rx(r"\bчасы\s+работы", r"\bработаете\s+(в|во|по)\s+\w+", r"\bкогда\s+(вы\s+)?работаете",
                 r"\b(open|work)\s+on\s+(sun|sat|mon|tue|wed|thu|fri|week)",
                 r"\b(can|could|will)\s+you\b.*\b(today|tomorrow|tonight)\b",
                 r"\b(успеете|сделаете|сможете|можно)\b.*\b(сегодня|завтра)\b", r"\bв\s+какое\s+время\b",
                 r"\bwhat\s+time\b",
                 r"\bдо\s+скольки\b", r"\bво\s+сколько\s+(вы\s+)?(открыва|закрыва|работа)",
                 r"\bрежим\s+работы", r"\bвыходн", r"\bopening\s+hours",
                 r"\bwhen\s+(are\s+you|do\s+you|r\s+u|are\s+u)\s+open", r"\b(your|ur)\s+hours\b",
                 r"\bwhat\s+(are|r)\s+(your|ur)\s+hours",
                 r"\bbusiness\s+hours", r"\bадрес\s+магазин", r"\bгде\s+(вы\s+)?находит"),
    "warranty": _rx(r"\bгарант", r"\bwarrant", r"\bguarantee"),
    "returns": _rx(r"\bвозврат", r"\bвернуть\b", r"\bобмен(ять)?\b", r"\breturns?\b", r"\brefund", r"\bexchange\b"),
    "lang_ru": _rx(r"\bпо-?\s?русски\b", r"\bна\s+русском\b", r"\bin\s+russian\b", r"\bspeak\s+russian\b"),
    "lang_en": _rx(r"\bпо-?\s?английски\b", r"\bна\s+английском\b", r"\bin\s+english\b", r"\bspeak\s+english\b",
                   r"\benglish\s+please\b"),
    "human_request": _rx(r"\b(поговорить|связаться|соедините|свяжите)\s+(меня\s+)?с\s+(менеджером|оператором|человеком|"
                         r"продавцом|консультантом)", r"\bперезвон\w*", r"\bсвяжитесь\s+со\s+мной",
                         r"\bcall\s+me\s+(back)?\b",
                         r"\b(talk|speak)\s+(to|with)\s+(a\s+|the\s+)?(manager|human|person|"
                         r"operator|someone|real)", r"\b(позовите|позови|дайте|нужен)\s+(менеджера|оператора|человека|"
                         r"менеджер|оператор)"),
    "complaint": _rx(r"\bdamaged\b", r"\bbroken\b", r"\bcrushed\b", r"\brip\s*-?\s*off\b", r"\bworst\b",
                     r"\bterrible\b",
                     r"\bawful\b", r"\bdisgusting\b", r"\bразбит\w*", r"\bсломан\w*", r"\bиспорчен\w*", r"\bбрак\w*",
                     r"\bужасн\w*", r"\bотвратительн\w*", r"\bобманули\b", r"\bхамств\w*", r"\bне\s+работает\b",
                     r"\bwrong\s+(item|size|order)", r"\bне\s+то\s+(прислали|привезли)", r"\bверните\s+деньги",
                     r"\bmoney\s+back\b", r"\brefund\b.*\b(now|want|demand)|\b(want|demand)\b.*\brefund"),
    "swap": _rx(r"\binstead\b", r"\bswap\b", r"\bchange\s+(it\s+)?to\b", r"\bвместо\b", r"\bзамени(те)?\s+на\b",
                r"\bпоменяй(те)?\s+на\b", r"\bлучше\s+(возьму|давайте|дайте)\b"),
    "set_qty": _rx(r"\bmake\s+it\s+(\d{1,3})\b", r"\bсделай(те)?\s+(\d{1,3})\b", r"\bпусть\s+будет\s+(\d{1,3})\b",
                   r"\bchange\s+(the\s+)?(qty|quantity)\s+to\s+(\d{1,3})", r"\bне\s+\d+,?\s+а\s+(\d{1,3})\b"),
    "remove": _rx(r"\bremove\b", r"\btake\s+out\b", r"\bdelete\b", r"\bубер(и|ите)\b", r"\bудали(те)?\b",
                  r"\bуберите\s+из\s+корзины", r"\bне\s+нужн[ыао]\s+больше\b"),
    "order_status": _rx(r"\bгде\s+(мой|наш)\s+заказ", r"\bстатус\s+заказа",
                        r"\bкогда\s+(привезут|доставят|будет\s+заказ)",
                        r"\bзаказ\s+(не\s+пришёл|не\s+пришел|не\s+доставили|задержива)",
                        r"\bwhere\s*(is|'?s)\s+my\s+(order|parcel|package|delivery)",
                        r"\border\s+status\b", r"\bmy\s+order\s+(hasn'?t|has\s+not|didn'?t)",
                        r"\btrack(ing)?\s+(number|my)"),
    "smalltalk": _rx(r"\bкак\s+(у\s+тебя\s+|у\s+вас\s+)?(дела|жизнь|поживаешь)", r"\bhow'?s\s+(your|it|the)\s+\w+",
                     r"\bhow\s+is\s+your\s+day", r"\bwhat'?s\s+up\b", r"\bчто\s+нового\b", r"\bкто\s+(ты|вы)\b",
                     r"\bты\s+(бот|робот|человек|живой)", r"\bвы\s+(бот|робот)", r"\bhow\s+are\s+you",
                     r"\bwho\s+are\s+you", r"\bare\s+you\s+(a\s+)?(bot|robot|human|real|ai)"),
    "injection": _rx(r"ignore\s+(all\s+)?(previous|prior|above|your)", r"игнорир",
                     r"забудь\s+(все|всё|предыдущ|инструкц)",
                     r"system\s*prompt", r"системн\w*\s+промпт", r"<\s*/?\s*(system|assistant|user)",
                     r"\[\s*system\s*\]",
                     r"\bDAN\b", r"jailbreak", r"api[\s_-]*key", r"\bключ\w*\s+api", r"\btoken\b", r"from\s+now\s+on",
                     r"с\s+этого\s+момента", r"теперь\s+(ты|всё|все)", r"you\s+are\s+now", r"developer\s+mode",
                     r"режим\s+разработчика", r"pretend\s+to\s+be", r"притвор", r"role\s*-?\s*play", r"ролев",
                     r"price\s+update", r"new\s+prices?\b", r"новые\s+цены", r"твои\s+инструкции",
                     r"your\s+instructions",
                     r"\bпароль\b", r"\bpassword\b", r"what\s+were\s+you\s+told", r"before\s+this\s+conversation",
                     r"(repeat|print|show|reveal)\s+(the\s+|your\s+)?(instructions|prompt|rules|text\s+above)",
                     r"(повтори|покажи|выведи)\s+(свои\s+|твои\s+)?(инструкции|промпт|правила)",
                     r"\bstep\s+\d+\s*:", r"\bsecret\b", r"\bсекрет"),
}

BUYING_INTENTS = frozenset({"price", "availability", "buy", "checkout", "discount", "need"})
_SHORT_CONFIRM_WORDS = 6


def detect_intents(text: str, profile: Profile) -> list[str]:
    """All intents a message carries, in a stable order. Profile phrases add `human_request`/`stop_word`."""
    found = [name for name, rx in INTENT_PATTERNS.items() if rx.search(text)]
    if re.search(r"\b(если|if)\b", text, re.I) and "?" in text:  # «а если возьму два?» asks, it does not buy
        found = [f for f in found if f not in ("buy", "confirm", "checkout")]
        found.append("price")
    if _AGREE_START.match(text) and "objection" in found:  # «ладно, давайте тот, что дешевле»: agreeing
        found.remove("objection")
        found.append("confirm")
    asks = {"price", "availability", "browse", "need", "attribute", "discount"} & set(found)
    if "confirm" in found and (("?" in text and asks) or len(text.split()) > _SHORT_CONFIRM_WORDS
                               or {"objection", "refuse", "cancel", "thanks", "bye", "discount"} & set(found)):
        found.remove("confirm")  # «ок, а мишка есть?» asks; it does not agree to the last offer
    if "cancel" in found and _changed_mind_back(text):
        found.remove("cancel")  # «передумал, всё-таки оформляйте»: the last word counts
    if "cancel" in found and "refuse" not in found:
        found.append("refuse")
    if "browse" in found and "availability" in found:
        found.remove("availability")  # «что есть из букетов?» browses; it does not ask for one item
    if "swap" in found and "cancel" in found:
        found.remove("cancel")  # «changed my mind, get the 42 instead»: a swap, not a cancellation
        if "refuse" in found:
            found.remove("refuse")
    if "complaint" in found and "returns" in found:
        found.remove("returns")
    for shadowed in ("checkout", "cart"):
        if "order_status" in found and shadowed in found:
            found.remove(shadowed)
    if "human_request" not in found and any(phrase_in(p, text) for p in profile.escalation_phrases):
        found.append("human_request")
    if any(phrase_in(w, text) for w in profile.stop_words):
        found.append("stop_word")
    return found


_AGREE_START = re.compile(r"^\W*((ладно|хорошо|ок|ok|окей|да|ну)\W+)?(давайте|давай|беру|возьму|берём|i'?ll\s+take)\b",
                          re.I)
_BUY_AGAIN = re.compile(r"оформ\w*|\bбер[уё]м?\b|возьм\w*|закаж\w*|заказыва\w*|добав\w*|верни\w*|checkout|"
                        r"place\s+(the\s+)?order|take\s+it|\bbuy\b|\badd\b", re.I)


def _changed_mind_back(text: str) -> bool:
    cancel = INTENT_PATTERNS["cancel"]
    last_cancel = max((m.end() for m in cancel.finditer(text)), default=-1)
    return any(m.start() > last_cancel for m in _BUY_AGAIN.finditer(text)) and last_cancel >= 0


# ---- quantities ---------------------------------------------------------------------------------

_NUM_WORDS = {
    "один": 1, "одну": 1, "одна": 1, "два": 2, "две": 2, "пару": 2, "три": 3, "четыре": 4, "пять": 5,
    "шесть": 6, "семь": 7, "восемь": 8, "девять": 9, "десять": 10,
    "one": 1, "two": 2, "couple": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10,
}
_QTY = re.compile(
    r"(?:(\d{1,3})\s*(?:шт|штук|штуки|pcs|pieces|x\b|х\b|×|меш\w*|пач\w*|упаков\w*|набор\w*|рулон\w*|"
    r"лист\w*|буханк\w*|коробк\w*|банок|банки|флакон\w*|бутыл\w*|комплект\w*|порци\w*|bags?\b|packs?\b|boxes\b|"
    r"sets?\b|rolls?\b|sheets?\b|units?\b))|(?:(?:^|\s)[x×х]\s*(\d{1,3})\b)"
    r"|(?:\b(?:нужно|нужен|нужна|нужны|надо|беру|возьму|хочу|закажу|дайте|давайте|давай|купить|взять|заказать|"
    r"положите|добавьте|buy|get|order|book|i\s+need|i'?ll\s+take|"
    r"i\s+want|give\s+me|add|take)\s+(\d{1,3})\b)"
    r"|(?:^\W*(?:а|и|ну|ок|ok|and|so)?\s*(\d{1,3})\s*(?:шт|штук|pcs|pieces)?\W*$)", re.I)
_QTY_WORD = re.compile(r"\b(" + "|".join(_NUM_WORDS) + r")\b(?!\s+(человек|person|people|мест))", re.I)


def extract_quantity(text: str) -> int | None:
    """A quantity the customer asks for («2 шт», «беру 3», «две штуки», "I'll take 2"), else None.

    Numbers that describe the item («палатка на 2 человек», "2 person tent") are not quantities.
    """
    m = _QTY.search(text)
    if m:
        value = next(g for g in m.groups() if g)
        n = int(value)
        return n if 0 < n <= 999 else None
    m = _QTY_WORD.search(text)
    if m and re.search(r"шт|штук|pcs|pieces|беру|возьму|нужн|хочу|закаж|take|need|want|buy", text, re.I):
        return _NUM_WORDS[m.group(1).lower()]
    return None


# ---- stages and status --------------------------------------------------------------------------


def next_stage(current: Stage, intents: Iterable[str], *, has_matches: bool, cart_nonempty: bool,
               has_contact: bool) -> Stage:
    """Move the sales script forward; it never goes back past an order."""
    it = set(intents)
    if current == Stage.ORDER:
        return Stage.ORDER
    if cart_nonempty and has_contact:
        return Stage.ORDER
    if "checkout" in it or (cart_nonempty and ("buy" in it or "confirm" in it)):
        return Stage.CLOSING
    if cart_nonempty and current == Stage.CLOSING:
        return Stage.CLOSING
    if "objection" in it or "discount" in it:
        return Stage.OBJECTIONS
    if has_matches or "buy" in it:
        return Stage.OFFER
    if it & {"browse", "price", "availability"}:
        return Stage.DISCOVERY
    if current == Stage.GREETING and "greeting" in it:
        return Stage.GREETING
    return current if current != Stage.GREETING else Stage.DISCOVERY


_STATUS_RANK = {LeadStatus.NEW: 0, LeadStatus.QUALIFIED: 1, LeadStatus.CART: 2, LeadStatus.CHECKOUT: 3,
                LeadStatus.WON: 4}
_TERMINAL = {LeadStatus.WON, LeadStatus.LOST, LeadStatus.OPTED_OUT, LeadStatus.UNREACHABLE}


def next_status(state: LeadState) -> LeadStatus:
    """Lead status from the state: qualified on buying intent, cart, checkout once a contact is left.

    Escalation is a flag (`Escalated` search attribute), not a status, except for a lead that had
    not got further than `qualified`: then `escalated` is the most useful thing to show a manager.
    """
    current = state.lead.status
    if current in _TERMINAL:
        return current
    target = LeadStatus.NEW
    if state.lead.captured:
        target = LeadStatus.QUALIFIED
    if state.cart:
        target = LeadStatus.CART
    if state.cart and state.lead.contact:
        target = LeadStatus.CHECKOUT
    if state.escalated and _STATUS_RANK.get(target, 0) <= 1 and state.mode == "bot":
        return LeadStatus.ESCALATED
    if current == LeadStatus.ESCALATED and not state.escalated:
        return target
    if current in _STATUS_RANK and _STATUS_RANK[current] > _STATUS_RANK[target] and state.cart:
        return current
    return target


# ---- CTA / upsell / escalation ------------------------------------------------------------------


def should_push(aggressiveness: float, turn: int, salt: int = 0) -> bool:
    """Deterministic "push with probability = aggressiveness": spread over turns, no randomness."""
    if aggressiveness >= 1.0:
        return True
    if aggressiveness <= 0.0:
        return False
    bucket = ((turn + 1) * 7919 + salt * 104729) % 100
    return bucket < int(aggressiveness * 100)


ESCALATING_INTENTS = {"human_request": "human_request", "stop_word": "stop_word"}


def escalation_reason(intents: Iterable[str], *, unknown_item: str | None) -> str | None:
    """Why this message needs a human, if it does. Order = priority."""
    it = set(intents)
    if "stop_word" in it:
        return "stop_word"
    if "complaint" in it:
        return "complaint"
    if "human_request" in it:
        return "human_request"
    if "order_status" in it:
        return "order_status"
    if unknown_item:
        return "unknown_item"
    return None


def add_to_cart(cart: list[CartLine], sku: str, qty: int) -> list[CartLine]:
    """A new cart with `qty` of `sku` (set, not added: «беру 2» after «беру» means two, not three)."""
    out = [c.model_copy() for c in cart]
    for line in out:
        if line.sku.upper() == sku.upper():
            line.qty = qty
            return out
    out.append(CartLine(sku=sku, qty=qty))
    return out


def clip(text: str, limit: int = 80) -> str:
    """A one-line preview for activity summaries in the Temporal UI."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


_SET_QTY = re.compile(r"(?:make\s+it|сделай(?:те)?|пусть\s+будет|to|а)\s+(\d{1,3})\b", re.I)


def set_qty_value(text: str) -> int | None:
    """«make it 3», «пусть будет 2», «не 2, а 3» → the new quantity."""
    m = _SET_QTY.search(text)
    return int(m.group(1)) if m and 0 < int(m.group(1)) <= 999 else None


_ORDINALS = {
    "перв": 0, "втор": 1, "трет": 2, "четвёрт": 3, "четверт": 3, "first": 0, "second": 1, "third": 2, "fourth": 3,
}


def ordinal_choice(text: str) -> int | None:
    """«вторую», "the second one", «последний» → index into the items just listed (-1 = last)."""
    low = text.lower()
    if re.search(r"\b(последн\w*|the\s+last(\s+one)?)\b", low):
        return -1
    for stem, index in _ORDINALS.items():
        if re.search(rf"\b{stem}\w*\b", low) and len(low.split()) <= 5:
            return index
    return None
