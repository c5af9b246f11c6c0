"""The bus in each service's admin: the outbox backlog and the dead letters, with replay."""

from django.contrib import admin, messages

from hms.admin_readonly import ReadOnlyModelAdmin
from hms.bus.inbox import HandlerFailed, Undeliverable, replay_dead_letter
from hms.bus.models import DeadLetter, OutboxEvent


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyModelAdmin):
    list_display = ["id", "event_type", "version", "aggregate", "created_at", "sent_at", "attempts"]
    list_filter = ["event_type", ("sent_at", admin.EmptyFieldListFilter)]
    search_fields = ["event_id", "aggregate"]
    date_hierarchy = "created_at"


@admin.register(DeadLetter)
class DeadLetterAdmin(ReadOnlyModelAdmin):
    list_display = [
        "id",
        "created_at",
        "consumer",
        "event_type",
        "reason",
        "attempts",
        "replayed_at",
    ]
    list_filter = ["reason", "event_type", ("replayed_at", admin.EmptyFieldListFilter)]
    search_fields = ["event_id", "event_type", "error"]
    actions = ["replay"]

    def has_change_permission(self, request, obj=None):
        # Viewing and the replay action need "change"; the fields themselves stay read-only.
        return request.user.has_perm("bus.change_deadletter")

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    @admin.action(description="Replay the selected events", permissions=["change"])
    def replay(self, request, queryset):
        replayed = failed = 0
        for letter in queryset.filter(replayed_at__isnull=True):
            try:
                replay_dead_letter(letter)
                replayed += 1
            except (Undeliverable, HandlerFailed) as exc:
                failed += 1
                self.message_user(request, f"{letter}: {exc}", messages.ERROR)
        self.message_user(request, f"Replayed {replayed} event(s); {failed} still failing.")
