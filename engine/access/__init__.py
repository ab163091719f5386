"""Who is asking: API keys and their scopes."""
