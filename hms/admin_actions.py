"""Admin actions that change state: always through a service, as the signed-in staff member.

Every service's admin uses this one mixin, so an action behaves the same everywhere: it acts as
the staff member's platform identity, reports each refusal by name (nothing is changed behind
it), counts what succeeded, and, where it needs input (a reason, an amount), first shows the one
intermediate page `admin/action_form.html` listing what it will act on.

The same actions are buttons on an object's own page (`object_actions_for`: only those this
person may take now), posted to `<id>/do/<action>/`. There a refusal is shown on the action's
page, above what was typed, with what to do instead; the person corrects it or cancels back to
the object.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from hms.auth import Identity
from hms.errors import ApplicationError
from hms.staff import identity_of

ACTION_FORM_TEMPLATE = "admin/action_form.html"


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 4, "cols": 80}), max_length=2000)


@dataclass(frozen=True)
class ObjectAction:
    """A button on an object's page: `name` is the admin action it runs on that one object."""

    name: str
    label: str
    primary: bool = False  # the usual next step, drawn as the default button


class ServiceActionsMixin:
    """For a ModelAdmin whose actions call services."""

    # The intermediate page's table: (heading, value of a row); by default each row's str().
    action_columns: Sequence[tuple[str, Callable[[object], object]]] = ()
    change_form_template = "admin/hms_change_form.html"

    def object_actions_for(self, request, obj) -> list[ObjectAction]:
        """The buttons of `obj`'s page: the actions this person may take on it now."""
        return []

    def get_urls(self):
        opts = self.model._meta
        own = [
            path(
                "<path:object_id>/do/<str:action>/",
                self.admin_site.admin_view(self.object_action_view),
                name=f"{opts.app_label}_{opts.model_name}_do",
            )
        ]
        return own + super().get_urls()

    def change_context(self, request, obj) -> dict:
        """What a ModelAdmin adds to its object's page (before its buttons are chosen)."""
        return {}

    def get_object(self, request, object_id, from_field=None):
        # The page and Django's change view ask for the same object: load it once per request.
        cached = getattr(request, "hms_object", None)
        if cached is not None and from_field is None and str(cached.pk) == str(object_id):
            return cached
        obj = super().get_object(request, object_id, from_field)
        if from_field is None:
            request.hms_object = obj
        return obj

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        context = self.change_context(request, obj) if obj is not None else {}
        buttons = self.object_actions_for(request, obj) if obj is not None else []
        context = {**context, "object_actions": buttons, **(extra_context or {})}
        if obj is not None:  # "Application HMS-2026-000009", not Django's "Change application"
            name, described = self.model._meta.verbose_name.capitalize(), str(obj)
            title = described if described.lower().startswith(name.lower()) else f"{name} {obj}"
            context.setdefault("title", title)
            context.setdefault("subtitle", "")
        return super().change_view(request, object_id, form_url, context)

    def object_action_view(self, request, object_id, action):
        """Run one of the object's buttons: its admin action on a queryset of that one object."""
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404(f"No {self.model._meta.verbose_name} with this id.")
        # Actions need the model's "change" permission, as in the list (whatever a record's own
        # page allows: finance's records are read-only on screen and change only by action).
        if request.method != "POST" or not self.has_change_permission(request):
            raise DjangoPermissionDenied
        change_url = reverse(
            f"admin:{self.model._meta.app_label}_{self.model._meta.model_name}_change",
            args=[obj.pk],
            current_app=self.admin_site.name,
        )
        offered = {button.name for button in self.object_actions_for(request, obj)}
        if action not in offered:
            self.message_user(
                request,
                "That action is not open to you on this record any more; the page shows what is.",
                messages.WARNING,
            )
            return HttpResponseRedirect(change_url)
        request.hms_acting_on = obj  # ask_then_run and run_service read it: a one-object action
        request.hms_return_url = change_url
        func, _name, _description = self.get_action(action)
        response = func(self, request, self.model._default_manager.filter(pk=obj.pk))
        return response or HttpResponseRedirect(change_url)

    def is_one_object(self, request, queryset) -> bool:
        """An action that works on one record at a time: say so when several were selected."""
        if queryset.count() == 1:
            return True
        name = self.model._meta.verbose_name
        self.message_user(request, f"Select exactly one {name}.", messages.WARNING)
        return False

    def acting_identity(self, request) -> Identity:
        """The platform identity of the signed-in staff member; PermissionDenied if none."""
        return identity_of(request.user)

    def run_service(
        self,
        request,
        objects: Iterable,
        call: Callable[[Identity, object], object],
        *,
        done: str | Callable[[int], str] = "",
    ) -> int:
        """`call(actor, obj)` for each object; each refusal reported, then `done`: a message with
        {count}, or a function of the count."""
        try:
            actor = self.acting_identity(request)
        except ApplicationError as exc:  # a local account with no platform identity
            self.message_user(request, exc.message, messages.ERROR)
            return 0
        succeeded = 0
        form = getattr(request, "hms_action_form", None)
        for obj in objects:
            try:
                call(actor, obj)
            except ApplicationError as exc:
                if form is not None and getattr(request, "hms_acting_on", None) is not None:
                    form.add_error(None, exc.message)  # shown above what was typed
                else:
                    self.message_user(request, f"{obj}: {exc.message}", messages.ERROR)
            else:
                succeeded += 1
        if succeeded and done:
            message = done(succeeded) if callable(done) else done.format(count=succeeded)
            self.message_user(request, message, messages.SUCCESS)
        return succeeded

    @staticmethod
    def submitted_form_data(request):
        """The intermediate page's answer, or None when the action was only chosen."""
        return request.POST if "apply" in request.POST else None

    def ask_then_run(
        self,
        request,
        queryset,
        *,
        form: forms.Form,
        apply: Callable[[dict], object],
        title: str,
        intro: str,
        submit_label: str,
        columns: Sequence[tuple[str, Callable[[object], object]]] = (),
    ) -> TemplateResponse | None:
        """Show `form` for the selected rows; once it is submitted and valid, `apply` its data.
        `columns` describe the rows (default: the ModelAdmin's `action_columns`).

        An `apply` that adds errors to the form (a refusal the person can correct) shows the page
        again with them, and what was typed.
        """
        request.hms_action_form = form
        if form.is_bound and form.is_valid():
            apply(form.cleaned_data)
            if not form.errors:
                return None
        columns = (
            columns or self.action_columns or [(self.model._meta.verbose_name.capitalize(), str)]
        )
        return_url = getattr(request, "hms_return_url", None)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "intro": intro,
            "submit_label": submit_label,
            "form": form,
            "headings": [heading for heading, _value in columns],
            "rows": [(obj.pk, [value(obj) for _heading, value in columns]) for obj in queryset],
            "action": request.POST.get("action", ""),
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            # On an object's page the form posts back to its button, and Cancel returns there.
            "form_url": request.path if return_url else "",
            "cancel_url": return_url
            or reverse(
                f"admin:{self.model._meta.app_label}_{self.model._meta.model_name}_changelist",
                current_app=self.admin_site.name,
            ),
        }
        return TemplateResponse(request, ACTION_FORM_TEMPLATE, context)

    def form_action(
        self,
        request,
        queryset,
        form_class: type[forms.Form],
        call: Callable[[Identity, object, dict], object],
        *,
        done: str | Callable[[int], str],
        form_kwargs: dict | None = None,
        **page,
    ) -> TemplateResponse | None:
        """An action that asks for input first, then calls `call(actor, obj, data)` for each."""
        return self.ask_then_run(
            request,
            queryset,
            form=form_class(
                self.submitted_form_data(request),
                request.FILES if "apply" in request.POST else None,
                **(form_kwargs or {}),
            ),
            apply=lambda data: self.run_service(
                request, queryset, lambda actor, obj: call(actor, obj, data), done=done
            ),
            **page,
        )

    def reason_action(
        self,
        request,
        queryset,
        call: Callable[[Identity, object, str], object],
        *,
        done: str | Callable[[int], str],
        form_class: type[forms.Form] = ReasonForm,
        **page,
    ) -> TemplateResponse | None:
        """An action that asks for a reason first, then calls `call(actor, obj, reason)` for each."""
        return self.form_action(
            request,
            queryset,
            form_class,
            lambda actor, obj, data: call(actor, obj, data["reason"]),
            done=done,
            **page,
        )
