"""What accounts tell the rest of the portal, which listens without accounts knowing it."""

from django.dispatch import Signal

# Something that looks like an attack on an account or on personal data. Sent with
# `kind` (what happened, e.g. "sign_in_ceiling"), `account` (the user concerned, or None),
# `details` (JSON-able values the alert shows) and `now`. complaints.security alerts the
# privacy officers.
security_event = Signal()
