"""Text normalisation shared by catalog search and product-phrase extraction (Russian + English).

Both the catalog and the customer's question go through the same `terms()` pipeline, so any
canonicalisation (numbers, units, dropped words) is symmetric and cannot make an item unfindable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer

_RU = snowballstemmer.stemmer("russian")
_EN = snowballstemmer.stemmer("english")

_CYR = re.compile(r"[а-я]")
_TRANSLIT_STEMS: dict[str, str] = {}  # filled below, once `stem` exists
# A token is a number (with an optional decimal part) or a run of letters; everything else separates.
_TOKEN = re.compile(r"\d+(?:[.,]\d+)?|[a-zа-я]+")
_APOSTROPHES = re.compile(r"['’`´]")
# Chat slang: "4 da beans" / "4 u" — a lone 4 before a determiner or pronoun is "for", not a number.
_SLANG_FOR = re.compile(r"(?<![\w.,])4(?=\s+(?:the|da|tha|a|an|u|you|ya|me|my|ur|your|this|that|it)\b)")


def normalize(text: str) -> str:
    """Lowercase, `ё→е`, drop apostrophes (men's → mens) — the form every comparison uses."""
    return _APOSTROPHES.sub("", text.lower().replace("ё", "е"))


def tokens(text: str) -> list[str]:
    """Raw word/number tokens of `text` (already normalised); punctuation and symbols separate."""
    return _TOKEN.findall(_SLANG_FOR.sub("for", normalize(text)))


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Snowball stem in the word's own script; numbers pass through unchanged."""
    if word[0].isdigit():
        return word.replace(",", ".")
    return (_RU if _CYR.search(word) else _EN).stemWord(word)


def _forms(*groups: str) -> frozenset[str]:
    return frozenset(w for g in groups for w in g.split())


# Function words and the vocabulary of *asking* (price, availability, greetings, politeness):
# none of them names a product, so they must neither match items nor dilute coverage.
STOP_WORDS: frozenset[str] = _forms(
    # Russian function words
    "а и или но в во на с со к ко у о об обо от до по за из изо для без при про над под через ли же бы "
    "не ни да нет вот это этот эта эти этих то тот та те так там тут здесь как какой какая какие каких "
    "какое какую каким какими что чем чего кто где когда куда почему зачем сколько можно нельзя "
    "мне меня мой моя мои моих нам нас наш наша наши вам вас ваш ваша ваши вы ты я мы он она оно они "
    "его ее их им тебе тебя вами нами также тоже еще уже очень самый самая самое самые все всё весь "
    "вся всех либо нибудь ну ой ох ага ок окей ладно хорошо просто вообще сейчас сегодня завтра "
    "какой-то какие-то что-то кто-то такой такая такие свой свои х ух ех ти ми го",
    # Russian shop / question / greeting words (inflected forms listed where stems would over-reach)
    "есть имеется имеются бывает бывают был была было были будет будут стоит стоят стоить стоило "
    "стоила стоили стоимость стоимости цена цены цену ценой ценник почем почему-то наличие наличии "
    "наличия остаток остатки осталось остался осталась остались товар товара товары товаров "
    "ассортимент ассортименте штука штуки штук шт руб рублей рубля рубль р пожалуйста плиз пжл "
    "спасибо благодарю привет приветствую здравствуйте здравствуй здрасте добрый доброе добрая доброго "
    "день дня вечер утро ночи скажите скажи подскажите подскажи посоветуйте посоветуй покажите покажи "
    "хочу хотел хотела хотели хотим хочется купить куплю купим покупка покупку заказать закажу заказ "
    "заказа оформить взять возьму беру брать надо нужен нужна нужно нужны ищу ищем искать найти "
    "найдется интересует интересуют интересно вариант варианты размер размера размеры размеров "
    "скидка скидки скидку акция акции акцию распродажа промо доставка доставки доставку оплата "
    "сколько-нибудь дешево дорого недорого подешевле дешевле "
    "запишите запиши записать записаться записывайте запись оформите оформляйте оформляем добавьте добавь "
    "положите продаете продаёте продаете продают ремонтируете делаете поменяете замените сделаете",
    # English function words
    "a an the and or but to of in on at for with without from by about as into than is are was were "
    "be been being do does did done you your yours i me my mine we us our it its this that these those "
    "there here have has had having any some can could would will shall should may might must what "
    "which who whom how much many when where why if so just also too very really ok okay yes no not "
    "still more most something anything kind kinds sort type types one's",
    # English shop / question / greeting words
    "please pls plz thanks thank thx hi hello hey good morning evening afternoon price prices pricing "
    "cost costs buy buying purchase order ordering sell sells selling sold available availability "
    "stock want wanna like need needs looking look get got offer offers carry tell know dollars usd "
    "rub rubles item items product products size sizes discount discounts sale sales promo delivery "
    "shipping cheap cheaper cheapest expensive best",
    # Buying, confirming and chatting: a message made only of these names no product
    "беру берем берём бери возьму возьмем возьмём давай давайте оформляйте оформляем оформите оформи "
    "добавьте добавь добавить добавим положите положи отлично супер норм нормально понятно ясно ок спс "
    "скок скока скоко почем почём чё че плз вместо другой другое другие другую что-нибудь "
    "посоветуете посоветуешь порекомендуйте теперь тогда пока срочно быстрее "
    "add take took taking great cool nice awesome perfect sure fine alright cart checkout "
    "place recommend recommended suggest suggestion advise instead else another alternative alternatives "
    "ill ive im id youre dont doesnt cant wont isnt arent thats whats hows now then "
    "sorry answer english russian по-русски по-английски русски русском английски английском "
    "них ним ними него нему нем ней нее ею them they their he she him her his "
    "здрасьте здрасти приветик приветики хай салют",
    # Shop places («на складе», "in stock"), money and time: they qualify the question, never the item
    "склад склада складе складу складом складах складов warehouse warehouses stocked instock "
    "eur euro euros евро usd доллар долларов рубли рублях "
    "год года году годом годы лет месяц месяца месяцев месяцу месяце неделя неделю недели недель неделе "
    "дней днем сутки вчера послезавтра year years month months week weeks day days today tomorrow "
    "yesterday tonight",
    # Talking about the conversation itself (instructions, memory, quizzes): no product there
    "step steps remember answer answers number numbers question questions told tell said say says "
    "before after conversation chat previous previously earlier repeat forget forgot "
    "шаг шага шаге запомни запомните запомнил ответ ответь ответьте вопрос вопроса вопросы разговор "
    "разговора разговоре диалог диалога беседа беседы ранее раньше",
    # Chat slang
    "yo ya u ur da lol lmao omg bro btw idk tho pls",
    # Amounts without a number («а его на складе много?»)
    "много мало немного несколько побольше поменьше пару парочку couple few several",
)

# Inflected verbs/adjectives of asking, matched by stem so every form drops (продаёте/продаются...).
STOP_STEMS: frozenset[str] = frozenset(
    stem(w) for w in _forms(
        "продаете подскажите интересует нужна поищите ищу имеется имеются хочу хотите купить "
        "дешевый недорогой дорогой лучший хороший качественный подобрать посмотреть "
        # services asked about (the product is the thing repaired), call-backs, recipients of a gift
        "ремонтируете ремонтируют чините почините почините меняете поменяете поменяйте поменять делаете "
        "сделаете перезвоните позвоните напишите свяжитесь мама маме маму мамы папа папе жена жене мужу "
        "девушке парню подруге другу сыну дочке дочери бабушке дедушке ребенку коллеге подарок подарка "
        "fix fixing "
        # «подходит ли он для котят?»: suitability is asked about an item, it names none
        "подходит подходят подойдет подойдут годится suitable"
    )
)

# Words meaning "person/place" after a number (2 person, 2-местная, на 2 человека): the number
# carries the meaning, the unit word only differs between phrasings.
CAPACITY_WORDS: frozenset[str] = _forms(
    "местная местный местное местные местной местную местных мест места человек человека "
    "человек чел персоны персон person persons people pers man seater seat seats",
)

_NUMBER_WORDS: dict[str, str] = {
    w: n
    for n, group in {
        "1": "один одна одно одного одной одному одну одним single solo one",
        "2": "два две двух двум двумя двое двоих вдвоем two double",
        "3": "три трех трем тремя трое троих втроем three triple",
        "4": "четыре четырех четырем четверо четверых вчетвером four",
        "5": "пять пяти пятеро пятерых five",
        "6": "шесть шести шестеро шестерых six",
        "7": "семь семи seven",
        "8": "восемь восьми eight",
        "9": "девять девяти nine",
        "10": "десять десяти ten",
    }.items()
    for w in group.split()
}

# Compound numerals (двухместная, трехслойный): split into number + remainder.
_NUM_PREFIXES: tuple[tuple[str, str], ...] = (
    ("четырех", "4"), ("двух", "2"), ("трех", "3"), ("пяти", "5"), ("шести", "6"), ("одно", "1"),
)
# "одно-" starts too many unrelated words (одноразовый); only split it before these roots.
_ONE_ROOTS = ("мест", "комнат", "слой", "ярус", "спальн", "камер")

_UNITS: dict[str, str] = {
    **dict.fromkeys(_forms("л l lt литр литра литров литре liter liters litre litres"), "литр"),
    **dict.fromkeys(_forms("мл ml миллилитров milliliter milliliters"), "мл"),
    **dict.fromkeys(_forms("г гр g грамм грамма граммов gram grams gr"), "г"),
    **dict.fromkeys(_forms("кг kg килограмм килограмма килограммов кило кила kilo kilos kilogram kilograms"), "кг"),
    **dict.fromkeys(_forms("см cm сантиметров"), "см"),
    **dict.fromkeys(_forms("мм mm миллиметров"), "мм"),
    **dict.fromkeys(_forms("м m метр метра метров meter meters metre metres"), "метр"),
}

# Packaging a quantity comes in (3 мешка, 2 пачки, "a pack of"): every form → one canonical word, on the
# catalog and the question alike, so «мешки»/«мешочек» meet «Мешок для мусора». Whether the word names
# the product or only counts it is decided against the catalog at search time.
_PACKAGING: dict[str, str] = {
    form: group.split()[0]
    for group in (
        "мешок мешка мешку мешком мешке мешки мешков мешкам мешками мешках мешочек мешочка мешочки мешочков",
        "пачка пачки пачку пачкой пачке пачек пачкам пачками пачках",
        "упаковка упаковки упаковку упаковкой упаковке упаковок упаковкам упаковками уп упак",
        "банка банки банку банкой банке банок банкам банками баночка баночки баночку баночек",
        "флакон флакона флакону флаконом флаконе флаконы флаконов флакончик флакончика флакончики",
        "бутылка бутылки бутылку бутылкой бутылке бутылок бутылкам бутылочка бутылочки бутылочку",
        "коробка коробки коробку коробкой коробке коробок коробкам коробочка коробочки коробочку",
        "тюбик тюбика тюбики тюбиков тюбике",
        "пакет пакета пакету пакеты пакетов пакетик пакетика пакетики пакетиков",
        "ящик ящика ящики ящиков",
        "рулон рулона рулоны рулонов",
        "канистра канистры канистру канистр",
        "bag bags sack sacks",
        "pack packs package packages packet packets",
        "box boxes carton cartons",
        "jar jars tin tins",
        "bottle bottles",
        "tube tubes",
    )
    for form in group.split()
}
PACKAGING_WORDS: frozenset[str] = frozenset(_PACKAGING.values())
# Words that count like a number before a packaging word («пару пачек», "a pack of").
QUANTITY_WORDS: frozenset[str] = _forms("a an пару пара парочку несколько couple few several")

# Places the shop keeps stock («на складе», "in stock"): a purpose word right before one does not make
# the following words a modifier («сколько на складе косточек» asks about the treats themselves).
_PLACE_WORDS: frozenset[str] = _forms("склад склада складе складу складах stock warehouse")
# Pronouns standing for an item already talked about: «а он для котят подходит?» asks about that item,
# and in «для него чехол» the purpose is the pronoun, so the words after it are no modifier.
_ITEM_PRONOUNS: frozenset[str] = _forms("он она оно они его ее их него нее них нему ней ним it them")

# Russian diminutive/colloquial suffixes: фонарик → фонар(ь), котелок → котел, ножик → нож.
_DIMINUTIVE = ("ичек", "очек", "ечек", "ичк", "ечк", "очк", "ушк", "юшк", "ышк", "чик", "ик", "ек", "ок")


# Brand and model words Russian customers write in Cyrillic: mapped onto the Latin stem a catalog uses
# («аккумулятор айфон 11» finds «аккумулятор iphone 11»). Applied to catalog and question alike.
_TRANSLIT: dict[str, str] = {
    "айфон": "iphone", "айпад": "ipad", "айпэд": "ipad", "макбук": "macbook", "аймак": "imac",
    "эпл": "apple", "эппл": "apple", "эирподс": "airpods", "аирподс": "airpods", "эйрподс": "airpods",
    "самсунг": "samsung", "галакси": "galaxy", "сяоми": "xiaomi", "ксиоми": "xiaomi", "редми": "redmi",
    "хуавей": "huawei", "хуавэй": "huawei", "хонор": "honor", "нокиа": "nokia",
    "леново": "lenovo", "асус": "asus", "логитек": "logitech", "джибиэль": "jbl", "анкер": "anker",
    "плейстейшн": "playstation", "иксбокс": "xbox", "нинтендо": "nintendo", "андроид": "android",
    "найк": "nike", "найки": "nike", "адидас": "adidas", "пума": "puma",
}


_TRANSLIT_STEMS.update({stem(ru): stem(en) for ru, en in _TRANSLIT.items()})


def word_stem(word: str) -> str:
    """`stem()` plus the Cyrillic→Latin brand map (айфона → iphon), so both spellings meet."""
    value = stem(word)
    return _TRANSLIT_STEMS.get(value, value)


@dataclass(frozen=True, slots=True)
class Term:
    """One comparable unit of text: a stem (`is_number` for canonical numbers).

    `packaging` marks a container word (мешок, pack); `quantity` that it follows a number or a quantity
    word («3 мешка», "a pack of") and so most likely counts the product rather than names it.
    """

    value: str
    is_number: bool = False
    packaging: bool = False
    quantity: bool = False


def is_stop(word: str) -> bool:
    """True for words that never name a product (asking, greeting, function words)."""
    return word in STOP_WORDS or (not word[0].isdigit() and stem(word) in STOP_STEMS)


def _expand(word: str) -> list[str]:
    """Number words → digits, compound numerals → digits + remainder, units → canonical unit."""
    if word in _NUMBER_WORDS:
        return [_NUMBER_WORDS[word]]
    if word in _UNITS:
        return [_UNITS[word]]
    if word in _PACKAGING:
        return [_PACKAGING[word]]
    for prefix, number in _NUM_PREFIXES:
        rest = word[len(prefix):]
        if word.startswith(prefix) and len(rest) >= 4 and (number != "1" or rest.startswith(_ONE_ROOTS)):
            return [number, rest]
    return [word]


# After these, words name what the item is *for* (фонарь для палатки, чехол на телефон), not what it is.
PURPOSE_WORDS: frozenset[str] = _forms("для к ко на под for")


def terms(text: str) -> list[Term]:
    """The searchable terms of `text`, in order: stems and canonical numbers, noise removed."""
    return [term for term, _ in marked_terms(text)]


def _walk(text: str) -> list[tuple[str, bool]]:
    """Every expanded word of `text` with its purpose flag: True once для/for came before.

    A purpose word followed by a stock place («на складе») opens no modifier: nothing is "for" there.
    """
    out: list[tuple[str, bool]] = []
    modifier = opened = False  # `opened`: a purpose word came and no product word after it yet
    for raw in tokens(text):
        if raw in PURPOSE_WORDS:
            opened = opened or not modifier
            modifier = True
        elif opened and (raw in _PLACE_WORDS or raw in _ITEM_PRONOUNS):
            modifier = opened = False
        for word in _expand(raw):
            out.append((word, modifier))
            if opened and raw not in PURPOSE_WORDS and (word[0].isdigit() or not is_stop(word)):
                opened = False
    return out


def marked_terms(text: str) -> list[tuple[Term, bool]]:
    """`terms()` with a flag: True once a purpose word (для, for) came before — a modifier.

    A number right before a packaging word («3 мешка») only counts packages and is dropped.
    """
    out: list[tuple[Term, bool]] = []
    words = _walk(text)
    previous_number = False
    quantity = False  # a number or quantity word came since the last product word
    for i, (word, modifier) in enumerate(words):
        if word[0].isdigit():
            if i + 1 >= len(words) or words[i + 1][0] not in PACKAGING_WORDS:
                out.append((Term(stem(word), True), modifier))
            previous_number = quantity = True
            continue
        if word in PACKAGING_WORDS:
            out.append((Term(word_stem(word), packaging=True, quantity=quantity), modifier))
            previous_number = quantity = False
            continue
        if word in QUANTITY_WORDS:
            quantity = True
        if (previous_number and word in CAPACITY_WORDS) or is_stop(word):
            continue
        if len(word) == 1 and _CYR.match(word) and word not in _UNITS.values():
            continue
        out.append((Term(word_stem(word)), modifier))
        previous_number = quantity = False
    return out


def diminutive_base(word_stem: str) -> str | None:
    """The stem with a diminutive suffix removed (фонарик → фонар), or None if there is none."""
    if not _CYR.search(word_stem):
        return None
    for suffix in _DIMINUTIVE:
        if word_stem.endswith(suffix) and len(word_stem) - len(suffix) >= 3:
            return word_stem[: -len(suffix)]
    return None


_CONNECTIVES = _forms("на для до с со из от по без под в и с и для for with of and to up from in")
_WORD = re.compile(r"[+\-−]?\w+(?:[-.,/]\w+)*", re.UNICODE)

# ---- contact data --------------------------------------------------------------------------------

# Words that introduce contact data («мой тел», "phone:", «почта»): never a product in a message
# that carries a contact, and never part of a product phrase.
CONTACT_WORDS: frozenset[str] = _forms(
    "phone phones telephone tel mobile cell email mail gmail whatsapp telegram viber tg contact contacts "
    "телефон телефона телефону телефоном тел моб мобильный мобильного номер номера номеру номером почта "
    "почту почты почтой емейл имейл мейл мыло вотсап ватсап телеграм телеграмм тг вайбер контакт контакты"
)
_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+", re.UNICODE)
_HANDLE = re.compile(r"(?<![\w@])@\w{3,}", re.UNICODE)
# A phone number: 7+ digits, optionally grouped by spaces, dashes, dots or parentheses, optional +.
_PHONE = re.compile(r"(?<![\w.,/])\+?\(?\d[\d\s\-().]{5,}\d(?![\w/])")


def _is_phone(match: str) -> bool:
    return sum(c.isdigit() for c in match) >= 7


def strip_contacts(text: str) -> tuple[str, bool]:
    """`text` without e-mails, @handles and phone numbers; True when any was there."""
    found = False

    def blank(match: re.Match[str]) -> str:
        nonlocal found
        found = True
        return " "

    text = _EMAIL.sub(blank, text)
    text = _HANDLE.sub(blank, text)

    def phone(match: re.Match[str]) -> str:
        nonlocal found
        if not _is_phone(match.group()):
            return match.group()
        found = True
        return " "

    return _PHONE.sub(phone, text), found


def is_contact_word(word: str) -> bool:
    return normalize(word) in CONTACT_WORDS


# ---- typos of asking words -----------------------------------------------------------------------

_VOWELS = frozenset("aeiouyаеиоуыэюяё")


def _stop_typos() -> frozenset[str]:
    """Common misspellings of asking words: adjacent swaps (teh) and dropped vowels (mch, скока)."""
    variants: set[str] = set()
    for word in STOP_WORDS:
        if not word.isalpha() or len(word) < 3:
            continue
        if len(word) <= 6:
            for i in range(1, len(word) - 1):
                variants.add(word[:i] + word[i + 1] + word[i] + word[i + 2:])
        if len(word) >= 4:
            for i in range(1, len(word)):
                if word[i] in _VOWELS:
                    variants.add(word[:i] + word[i + 1:])
    reserved = STOP_WORDS | set(_NUMBER_WORDS) | set(_UNITS) | CAPACITY_WORDS
    return frozenset(v for v in variants if len(v) >= 3 and v not in reserved)


STOP_TYPOS: frozenset[str] = _stop_typos()


def is_stop_typo(word: str) -> bool:
    """A likely misspelling of an asking/function word ("mch", "teh"); callers decide whether to trust it."""
    return normalize(word) in STOP_TYPOS


# ---- phrases ---------------------------------------------------------------------------------------


def phrase_in(phrase: str, text: str) -> bool:
    """True when `phrase`'s words occur consecutively in `text`, compared by stem (any word form).

    «жалоба» matches «напишу жалобу»; «живой человек» matches «с живым человеком»; whole words only,
    so «суд» does not match «судак» or «посуда».
    """
    needle = [stem(t) for t in tokens(phrase)]
    if not needle:
        return False
    hay = [stem(t) for t in tokens(text)]
    n = len(needle)
    return any(hay[i:i + n] == needle for i in range(len(hay) - n + 1))


def phrase_stems(text: str) -> list[tuple[str, bool, bool]]:
    """Every token of `text` as (stem, names a product?, after a purpose word?), nothing dropped.

    For exact-phrase matching: numbers and units are canonicalised like `terms()`; the product flag is
    False for asking/function words and numbers, so a match can be weighed by the product words it covers.
    """
    out: list[tuple[str, bool, bool]] = []
    for word, modifier in _walk(text):
        if word[0].isdigit():
            out.append((stem(word), False, modifier))
        else:
            out.append((word_stem(word), not is_stop(word) and word not in CAPACITY_WORDS, modifier))
    return out


PACKAGING_STEMS: frozenset[str] = frozenset(word_stem(w) for w in PACKAGING_WORDS)


# ---- numbers: model numbers vs quantities ----------------------------------------------------------

_COUNT_WORDS = _forms("шт штук штуки штука pcs pc pieces piece пар пары пару набор набора наборов упаковки "
                      "упаковок уп x х times раз раза") | frozenset(_PACKAGING)


def model_numbers(text: str) -> frozenset[str]:
    """Numbers in `text` that identify a model rather than count something.

    A number glued to letters (s24, a52, xm5, 65w, 2m) or right after a product word ("iphone 14",
    «Луч 300», «джинсы 32») is a model/size the item must carry. A number before the word
    («3 вазы», "2 USB-C cables"), after an asking/buying word («беру 2»), before a count word
    («25 штук», "3 pcs") or a capacity word ("2 person") is a quantity/capacity and stays soft.
    A single digit after a Cyrillic word («кепку 2») is treated as a quantity too.
    """
    norm = normalize(text)
    found = list(_TOKEN.finditer(norm))
    out: set[str] = set()
    for i, match in enumerate(found):
        value = match.group()
        if not value[0].isdigit():
            continue
        previous = found[i - 1].group() if i else ""
        following = found[i + 1].group() if i + 1 < len(found) else ""
        glued_before = match.start() > 0 and norm[match.start() - 1].isalpha()
        glued_after = match.end() < len(norm) and norm[match.end()].isalpha()
        if (glued_after and following in _COUNT_WORDS) or (glued_before and previous in _COUNT_WORDS):
            continue  # 3x, x3, 3шт
        if following in _COUNT_WORDS or following in CAPACITY_WORDS:
            continue
        if glued_before or glued_after:
            out.add(stem(value))
            continue
        if not previous or previous[0].isdigit() or is_stop(previous) or previous in _NUMBER_WORDS:
            continue
        gap = norm[found[i - 1].end():match.start()]
        if gap.strip(" -–—") or previous in PURPOSE_WORDS:
            continue  # punctuation between: «худи, 2» is a list, not a model
        if "." in value or "," in value or len(value) >= 2 or not _CYR.search(previous):
            out.add(stem(value))
    return frozenset(out)


# ---- product phrase --------------------------------------------------------------------------------

# Words that show a message is about the bot itself (prompt injection, settings), not a product.
_META_STEMS: frozenset[str] = frozenset(
    stem(w) for w in _forms(
        "system systems prompt prompts instruction instructions ignore override admin administrator api "
        "key keys token tokens developer assistant jailbreak chatgpt openai gpt update confirm "
        "система системный системное системные системного системы промпт промпта инструкция инструкции "
        "инструкций игнорируй игнорировать игнорируя забудь админ администратор разработчик ключ ключи "
        "токен ассистент обновление подтверди подтвердите"
    )
)
_NUMBER = re.compile(r"[+\-−]?\d+(?:[.,]\d+)?")
_MAX_PHRASE_WORDS = 4


def _content(word: str) -> bool:
    """A word (not a number) that may name a product."""
    if "_" in word or re.search(r"[a-zа-я][./][a-zа-я]", normalize(word)):
        return False  # identifiers and domains (OPENAI_API_KEY, mail.ru) are not product words
    parts = tokens(word)
    if not any(p[0].isalpha() for p in parts):
        return False
    if not any(c.isalpha() for c in word) or any(len(run) > 4 for run in re.findall(r"\d+", word)):
        return False
    return any(not p[0].isdigit() and not is_stop(p) and p not in _NUMBER_WORDS and p not in STOP_TYPOS
               and p not in CONTACT_WORDS for p in parts)


def product_phrase(text: str) -> str | None:
    """The product words of a message in the customer's own spelling, noise removed.

    «Сколько стоит палатка на двоих?» → «палатка на двоих». Connectives survive only between
    two kept words; a number survives only right after a product word (a model: «iPhone 15»), never
    a price or a phone number. None when nothing product-like remains, when the message is about the
    bot itself (system, prompt, инструкции...) or when more than 4 product words remain (a long
    description is not an item name).
    """
    text, _ = strip_contacts(text)
    words = _WORD.findall(_APOSTROPHES.sub("", text))
    if any(stem(p) in _META_STEMS for w in words for p in tokens(w)):
        return None
    content = [_content(w) for w in words]
    for i, word in enumerate(words):  # «3 мешка корма», "a pack of gum": the package only counts the product
        previous = normalize(words[i - 1]) if i else ""
        counted = bool(previous) and (previous[0].isdigit() or previous in _NUMBER_WORDS or previous in QUANTITY_WORDS)
        if content[i] and counted and normalize(word) in _PACKAGING and sum(content) > 1:
            content[i] = False
    purpose = [False] * len(words)
    for i in range(1, len(words)):
        previous = normalize(words[i - 1])
        opened = previous in PURPOSE_WORDS
        closed = i >= 2 and normalize(words[i - 2]) in PURPOSE_WORDS and previous in _ITEM_PRONOUNS | _PLACE_WORDS
        purpose[i] = opened or (purpose[i - 1] and not closed)
    refers = any(normalize(w) in _ITEM_PRONOUNS for w in words)
    if refers and all(p for p, c in zip(purpose, content, strict=True) if c):
        return None  # only what the item is for, about an item named before («а он для котят?»)
    keep = list(content)
    for i, word in enumerate(words):
        number = _NUMBER.fullmatch(word) is not None and not word.startswith("+") and "." not in word \
            and "," not in word and len(word.lstrip("-−")) <= 4
        number = number or normalize(word) in _NUMBER_WORDS
        if not number or content[i]:
            continue
        bridged = i >= 2 and content[i - 2] and normalize(words[i - 1]) in _CONNECTIVES
        keep[i] = (i >= 1 and content[i - 1]) or bridged
    result: list[str] = []
    for i, word in enumerate(words):
        bridge = normalize(word) in _CONNECTIVES and 0 < i < len(words) - 1 and keep[i - 1] and keep[i + 1]
        if keep[i] or bridge:
            result.append(word)
    count = sum(content)
    if not count or count > _MAX_PHRASE_WORDS:
        return None
    return " ".join(result)
