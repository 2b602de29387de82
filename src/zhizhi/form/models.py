"""Tables of the form domain (报表).

None yet: a form is computed on demand from the registers (registry/models.py, read as of a date and
as known at an instant) and the events (event/models.py), and every export is recorded in the audit
log (core/audit.py) with the form, org unit, period, statistical date and knowledge instant, which
is enough to compute the same numbers again. The form catalogue and admission (报表目录/准入), form
tasks issued to towns, adjusted and signed-off answers, and burden statistics (issue 4 §4) will add
their tables here.
"""
