"""Sessions of offerings: scheduling, registrations with capacity and a waitlist, attendance."""
