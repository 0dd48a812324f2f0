"""Messages to people: e-mail through the configured SMTP server."""
