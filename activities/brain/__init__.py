"""The brain: reading a customer's message, generating a reply (rules or a model), the facts guard."""
