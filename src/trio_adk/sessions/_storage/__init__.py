"""What the durable session stores share: ADK's stored-event documents and scoped state."""
