"""Alerts to the operations team (docs/alerts.md): one message per event, never repeated.

The events: a delivery's gate blocks; a run fails; a period's planned publication date
is near while it is incomplete, blocked or not signed off; a planned date passed without
a release; a period was signed off or published; and, raised by the portal itself
(``portal/access/alarms.py``), one of its request limits refused a caller. Each goes out by e-mail (SMTP with the
portal's mail settings, else a file under ``<data dir>/alerts/mail/``) and, when
``SPIEGEL_ALERT_WEBHOOK_URL`` is set, as a JSON POST.

- ``messages.py``: the words of each alert and its key;
- ``events.py``: which events there are now, from the platform's own records;
- ``sending.py``: mail, webhook and the sent log that makes each event go out once;
- ``check.py``: one check (find, then send what is new), shared by everything below;
- ``automation.py``: the Dagster sensors, the daily schedule and its job;
- ``settings.py``: the environment.

``spiegel alerts check`` (``commands/alerts.py``) runs one check without Dagster.
"""
