"""How a message becomes a reply: messages, button payloads, routing, dialog state, errors."""
