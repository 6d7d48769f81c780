"""PS3.15 header de-identification: profile table, options, keyed pseudonyms, dates, UIDs.

Entry points (see docs/DEVELOPING.md): ``options.Option`` / ``options.PRESETS``,
``keys.ProjectKey``, ``pseudonyms.Pseudonymizer``, ``engine.DeidConfig`` /
``engine.Deidentifier`` / ``engine.Action``, ``uid_rule`` (which UIDs are replaced, which
kept, and why). Imports neither Qt nor torch.
"""
