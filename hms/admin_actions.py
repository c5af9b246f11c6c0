"""Admin actions that change state: always through a service, as the signed-in staff member.

Every service's admin uses this one mixin, so an action behaves the same everywhere: it acts as
the staff member's platform identity, reports each refusal by name (nothing is changed behind
it), counts what succeeded, and, where it needs input (a reason, an amount), first shows the one
intermediate page `admin/action_form.html` listing what it will act on.
"""

from collections.abc import Callable, Iterable, Sequence

from django import forms
from django.contrib import messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.template.response import TemplateResponse

from hms.auth import Identity
from hms.errors import ApplicationError
from hms.staff import identity_of

ACTION_FORM_TEMPLATE = "admin/action_form.html"


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 4, "cols": 80}), max_length=2000)


class ServiceActionsMixin:
    """For a ModelAdmin whose actions call services."""

    # The intermediate page's table: (heading, value of a row); by default each row's str().
    action_columns: Sequence[tuple[str, Callable[[object], object]]] = ()

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
        for obj in objects:
            try:
                call(actor, obj)
            except ApplicationError as exc:
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
    ) -> TemplateResponse | None:
        """Show `form` for the selected rows; once it is submitted and valid, `apply` its data.

        An `apply` that adds errors to the form (a refusal the person can correct) shows the page
        again with them, and what was typed.
        """
        if form.is_bound and form.is_valid():
            apply(form.cleaned_data)
            if not form.errors:
                return None
        columns = self.action_columns or [(self.model._meta.verbose_name.capitalize(), str)]
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
        }
        return TemplateResponse(request, ACTION_FORM_TEMPLATE, context)

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
        return self.ask_then_run(
            request,
            queryset,
            form=form_class(self.submitted_form_data(request)),
            apply=lambda data: self.run_service(
                request,
                queryset,
                lambda actor, obj: call(actor, obj, data["reason"]),
                done=done,
            ),
            **page,
        )
