"""The finance beat's scheduler: django-celery-beat's, with a heartbeat (hms/deploy/heartbeat.py)
and one leader among replicas (hms/deploy/leader.py).

Set as CELERY_BEAT_SCHEDULER in hms/settings/finance.py. Beat wakes at least every
CELERY_BEAT_MAX_LOOP_INTERVAL seconds, so a beat whose loop hangs stops touching the file.

Any number of beats may run (two during a rolling update, or a standby on another machine):
only the one holding the leader lock sends scheduled tasks. The others touch their heartbeat
and try the lock every BEAT_STANDBY_SECONDS, so when the leader dies one of them takes over
within that time.
"""

from django.conf import settings
from django_celery_beat.schedulers import DatabaseScheduler

from hms.deploy import heartbeat
from hms.deploy.leader import LeaderLock


class Scheduler(DatabaseScheduler):
    def __init__(self, *args, **kwargs):
        self.leader = LeaderLock("finance-beat")
        super().__init__(*args, **kwargs)

    def tick(self, *args, **kwargs):
        heartbeat.beat()
        was_leading = self.leader.leading
        if not self.leader.holds():
            return settings.BEAT_STANDBY_SECONDS
        if not was_leading:
            # Taking over: read the schedule again, with the last runs the old leader saved,
            # rather than this process's copy from when it started.
            self._initial_read = True
            self._heap_invalidated = True
        return super().tick(*args, **kwargs)

    def close(self):
        self.leader.release()
        super().close()
