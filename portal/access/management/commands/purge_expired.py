"""``python portal/manage.py purge_expired``: delete what is past its retention period
(portal/access/retention.py) and print what was deleted. ``spiegel portal purge-expired`` runs
the same with a data directory; deploy/spiegel-portal-purge.timer runs that daily."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from portal.access import retention


class Command(BaseCommand):
    help = (
        "delete expired sessions, old login records, old contact messages and unconfirmed sign-ups "
        "(the retention periods of the privacy statement) and print the counts"
    )

    def handle(self, *args, **options):
        for line in retention.purge().lines():
            self.stdout.write(line)
