"""Passkeys (WebAuthn), session cookies and bearer tokens (default plugin ``auth``)."""
