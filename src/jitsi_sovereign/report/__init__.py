"""One report model for ``verify`` and ``audit``: findings, hosting and personal-data
facts, rendered for a terminal, as JSON (schema ``report/schema/report-v1.json``) and as
one self-contained HTML page in French or English (see ``model.py``)."""
