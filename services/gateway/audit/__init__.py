"""The audit log: every change and denial, written in the caller's transaction, read by admins."""
