"""Pixel de-identification orchestration: burned-in text, identity blocking at level p. No Qt."""
