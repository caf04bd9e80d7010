"""Conversations: the core default plugin and the encrypted store the chat plugin writes to."""
