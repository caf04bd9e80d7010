"""Request-body caps by handler class (bytes). Over a cap the answer is 413 JSON."""

KIB = 1024
MIB = 1024 * KIB

JSON_BODY_MAX = 1 * MIB
"""Settings, connections, auth ceremonies, drafts: small JSON."""

CHAT_BODY_MAX = 32 * MIB
"""Chat requests and whole conversations: long histories, inline images."""

CARD_BODY_MAX = 20 * MIB
"""Character and persona cards and avatars."""

VOICE_BODY_MAX = 50 * MIB
"""Voice-library samples."""

WORKFLOW_BODY_MAX = 5 * MIB
"""ComfyUI workflow JSON."""

ATTACHMENT_BODY_MAX = 20 * MIB
"""Image attachments."""
