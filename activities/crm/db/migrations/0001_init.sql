-- Leads (the CRM view, upserted by lead_id), the dialogue log and metric events.
-- messages/events have no foreign key to leads: a dialogue is logged before buying intent makes it a lead.

CREATE TABLE leads (
    lead_id           text PRIMARY KEY,
    workflow_id       text NOT NULL,
    channel           text NOT NULL,
    chat_id           text NOT NULL,
    name              text,
    contact           text,
    phone             text,
    email             text,
    username          text,
    request           text,
    items             jsonb NOT NULL DEFAULT '[]'::jsonb,
    amount            numeric(14, 2),
    currency          text,
    status            text NOT NULL DEFAULT 'new',
    stage             text NOT NULL DEFAULT 'greeting',
    escalated         boolean NOT NULL DEFAULT false,
    escalation_reason text,
    dialogue_link     text,
    ui_link           text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX leads_updated_at_idx ON leads (updated_at DESC);
CREATE INDEX leads_status_idx ON leads (status, updated_at DESC);

CREATE TABLE messages (
    key     text PRIMARY KEY,
    seq     bigserial,
    lead_id text NOT NULL,
    role    text NOT NULL,
    text    text NOT NULL,
    at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_lead_idx ON messages (lead_id, at, seq);

CREATE TABLE events (
    key     text PRIMARY KEY,
    seq     bigserial,
    lead_id text NOT NULL,
    kind    text NOT NULL,
    data    jsonb NOT NULL DEFAULT '{}'::jsonb,
    at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_lead_idx ON events (lead_id, at, seq);
CREATE INDEX events_kind_idx ON events (kind, at);
