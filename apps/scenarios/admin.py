from django.contrib import admin

from .models import Scenario
from .services import scenario_share_set


@admin.register(Scenario)
class ScenarioAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "owner", "shared", "execution_count", "last_executed_at", "created_at")
    list_filter = ("shared",)
    search_fields = ("name", "owner__username")
    raw_id_fields = ("owner",)

    def save_model(self, request, obj, form, change):
        shared = obj.shared
        if change and "shared" in form.changed_data:
            obj.shared = not shared  # as stored: the service sees the change and applies it
            super().save_model(request, obj, form, change)
            scenario_share_set(scenario=obj, shared=shared)
        else:
            super().save_model(request, obj, form, change)
