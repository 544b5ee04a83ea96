"""What the voice gateway keeps in PostgreSQL (`migrations/0100_voice.sql`): call records, and the
look-up that sends a known customer's call to their existing lead."""

from __future__ import annotations

from activities.crm.db.database import Database
from neuroseller.pii import mask_pii
from workflows.types import CallRecord


class VoiceStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def save_call(self, call: CallRecord) -> None:
        """Upsert by call id: a retried write (or the gateway's restart) never duplicates a call."""
        pool = await self.db.pool()
        await pool.execute(
            "INSERT INTO calls (call_id, lead_id, direction, phone, transport, started_at, ended_at, duration_s,"
            " end_reason, phrases, recording_path, transcript) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)"
            " ON CONFLICT (call_id) DO UPDATE SET ended_at = EXCLUDED.ended_at, duration_s = EXCLUDED.duration_s,"
            " end_reason = EXCLUDED.end_reason, phrases = EXCLUDED.phrases,"
            " recording_path = EXCLUDED.recording_path, transcript = EXCLUDED.transcript",
            call.call_id, call.lead_id, call.direction, call.phone, call.transport, call.started_at, call.ended_at,
            call.duration_s, call.end_reason, call.phrases, call.recording_path, mask_pii(call.transcript))

    async def calls(self, lead_id: str) -> list[CallRecord]:
        pool = await self.db.pool()
        rows = await pool.fetch("SELECT * FROM calls WHERE lead_id = $1 ORDER BY started_at", lead_id)
        return [CallRecord(call_id=r["call_id"], lead_id=r["lead_id"], direction=r["direction"], phone=r["phone"],
                           transport=r["transport"], started_at=r["started_at"], ended_at=r["ended_at"],
                           duration_s=float(r["duration_s"] or 0), end_reason=r["end_reason"] or "",
                           phrases=r["phrases"], recording_path=r["recording_path"], transcript=r["transcript"])
                for r in rows]

    async def lead_for_phone(self, phone: str) -> tuple[str, str, str] | None:
        """(lead_id, channel, chat_id) of the most recent non-phone lead with this number, if any."""
        pool = await self.db.pool()
        row = await pool.fetchrow(
            "SELECT lead_id, channel, chat_id FROM leads WHERE phone = $1 AND channel <> 'phone'"
            " ORDER BY updated_at DESC NULLS LAST LIMIT 1", phone)
        return (row["lead_id"], row["channel"], row["chat_id"]) if row else None
