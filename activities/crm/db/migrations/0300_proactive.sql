-- Proactive selling (issue 11): the lead's A/B arm (`profile:arm`), so conversion compares per variant.
ALTER TABLE leads ADD COLUMN IF NOT EXISTS variant text;
CREATE INDEX IF NOT EXISTS leads_variant_idx ON leads (variant) WHERE variant IS NOT NULL;
