"""Data dir, atomic writes, secrets in the keyring, AES-GCM and the SQLite database."""
