"""``jitsi-sovereign audit URL``: a black-box audit of any Jitsi Meet server, from outside.

``target.parse_target`` checks the command line before anything is sent; ``engine.run``
runs the areas (``engine.AREAS``, one module each with ``run(ctx) -> list[Finding]``)
against one ``context.AuditContext`` and returns a ``report.model.Report``.
"""
