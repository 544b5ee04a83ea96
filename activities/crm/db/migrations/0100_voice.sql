-- Voice channel: one row per call (inbound or outbound), written by the voice gateway when the call
-- ends; the lead's dialogue link points at the recording.
CREATE TABLE calls (
    call_id         text PRIMARY KEY,
    lead_id         text NOT NULL,
    direction       text NOT NULL DEFAULT 'inbound',
    phone           text,
    transport       text NOT NULL DEFAULT 'sip',
    started_at      timestamptz NOT NULL,
    ended_at        timestamptz,
    duration_s      numeric(10, 2),
    end_reason      text,
    phrases         integer NOT NULL DEFAULT 0,
    recording_path  text,
    transcript      text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX calls_lead_idx ON calls (lead_id);
CREATE INDEX calls_phone_idx ON calls (phone);
CREATE INDEX leads_phone_idx ON leads (phone);
