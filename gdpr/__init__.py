"""The rules, pure: rights, lifecycle, deadlines, identity, routing. No I/O, no clock reads."""
