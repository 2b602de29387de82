"""Forms (报表): upper-level report forms declared once as data and computed from the registers (台账)
and the event loop (一表通, issue 4 §4)."""
