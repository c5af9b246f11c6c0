"""Editable table rows in the admin that assistive technology can name."""

from django.contrib import admin


class LabelledTabularInline(admin.TabularInline):
    """A table's column heading is not a label: each field of a row names itself with
    `aria-label` (WCAG 1.3.1, 4.1.2), as "<field_label_prefix><field's verbose name>"."""

    field_label_prefix = ""

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        name = self.model._meta.verbose_name

        class LabelledFormSet(formset):
            def add_fields(self, form, index):
                super().add_fields(form, index)
                if "DELETE" in form.fields:  # the row's "Delete?" box, added by the formset
                    row = "" if index is None else f" {index + 1}"
                    form.fields["DELETE"].widget.attrs["aria-label"] = f"Delete {name}{row}"

        return LabelledFormSet

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is not None:
            field.widget.attrs["aria-label"] = f"{self.field_label_prefix}{db_field.verbose_name}"
        return field
