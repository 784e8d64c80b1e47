"""The people the desk knows: the directory, and who holds a role for a ticket."""
