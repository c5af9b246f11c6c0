"""The bus's second baseline: raw Celery running the bus's own handler for grant.approved
(Finance obligating the award), one plain task per event, with no outbox, relay, inbox, aggregate
position or acknowledgement. The Finance service's own settings (DJANGO_SETTINGS_MODULE), so
the task runs exactly as a bus worker would run the handler; its queue is `bench.handler`, under
its own key prefix (BROKER_KEY_PREFIX).
"""

import django
from celery import Celery

django.setup()

app = Celery("bench_handler")
app.config_from_object("django.conf:settings", namespace="CELERY")


@app.task(name="bench.obligate", acks_late=True)
def obligate(payload: dict) -> None:
    from apps.finance.handlers import obligate_awards_for_approved_grants
    from hms.bus.inbox import Applying
    from hms.events.grants import GrantApproved

    event = GrantApproved.model_validate(payload)
    task_id = obligate.request.id
    obligate_awards_for_approved_grants([Applying(event, task_id, task_id)])
