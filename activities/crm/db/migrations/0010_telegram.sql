-- Telegram gateway: what must survive a restart of the process that owns the Telethon connection.

-- Ledger of outgoing messages. One row per part of a split message, claimed (message_id NULL)
-- before the request and completed after it: a retried send skips completed parts and re-sends a
-- claimed one with the same random_id, which Telegram itself refuses to deliver twice.
CREATE TABLE telegram_sent (
    key         text    NOT NULL,
    part        integer NOT NULL,
    lead_id     text    NOT NULL,
    chat_id     text    NOT NULL,
    random_id   bigint  NOT NULL,
    message_id  bigint,
    claimed_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz,
    PRIMARY KEY (key, part)
);
CREATE INDEX telegram_sent_lead_idx ON telegram_sent (lead_id);

-- Telegram's update state per account (entity_id 0 = the account's pts/qts/date/seq, otherwise a
-- channel's pts); a StringSession keeps none, so catch-up after a restart starts from here.
CREATE TABLE telegram_update_state (
    account     text    NOT NULL,
    entity_id   bigint  NOT NULL,
    pts         integer NOT NULL,
    qts         integer NOT NULL DEFAULT 0,
    date        timestamptz,
    seq         integer NOT NULL DEFAULT 0,
    access_hash bigint,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account, entity_id)
);

-- Messages the gateway posted in the operators' chat (escalation cards, forwarded customer
-- messages): a reply to one of them is relayed to that lead's customer.
CREATE TABLE telegram_operator_posts (
    chat_id     bigint NOT NULL,
    message_id  bigint NOT NULL,
    lead_id     text   NOT NULL,
    kind        text   NOT NULL DEFAULT 'card',
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chat_id, message_id)
);

-- Peers the gateway must be able to address after a restart with an empty StringSession
-- (supergroups and channels need an access hash).
CREATE TABLE telegram_peers (
    peer_id     bigint PRIMARY KEY,
    access_hash bigint,
    username    text,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- New-subscriber trigger: each user is greeted at most once.
CREATE TABLE telegram_greeted (
    user_id     bigint PRIMARY KEY,
    chat_id     bigint NOT NULL,
    greeted_at  timestamptz NOT NULL DEFAULT now()
);
