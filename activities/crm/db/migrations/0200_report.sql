-- The sales report (`neuroseller report`) selects a period's dialogues by time: messages and events
-- need an index on `at` alone (the existing ones lead with lead_id or kind).
CREATE INDEX IF NOT EXISTS messages_at_idx ON messages (at);
CREATE INDEX IF NOT EXISTS events_at_idx ON events (at);
