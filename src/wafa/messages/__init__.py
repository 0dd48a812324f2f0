"""Messages to members: channels, templates, consent, journeys and campaigns."""
