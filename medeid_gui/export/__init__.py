"""Batch export: discover -> plan -> de-identify -> write -> manifest/ledger; resumable. No Qt, no torch at import."""
