"""The finance beat's scheduler: django-celery-beat's, with a heartbeat (hms/deploy/heartbeat.py).

Set as CELERY_BEAT_SCHEDULER in hms/settings/finance.py. Beat wakes at least every
CELERY_BEAT_MAX_LOOP_INTERVAL seconds, so a beat whose loop hangs stops touching the file.
"""

from django_celery_beat.schedulers import DatabaseScheduler

from hms.deploy import heartbeat


class Scheduler(DatabaseScheduler):
    def tick(self, *args, **kwargs):
        heartbeat.beat()
        return super().tick(*args, **kwargs)
