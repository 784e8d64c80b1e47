"""maildesk: an email-driven helpdesk daemon for technical-support teams."""

__version__ = "0.1.0"
