from django.contrib import admin

from .models import Scenario
from .services import scenario_subscriptions_recheck


@admin.register(Scenario)
class ScenarioAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "owner", "shared", "execution_count", "last_executed_at", "created_at")
    list_filter = ("shared",)
    search_fields = ("name", "owner__username")
    raw_id_fields = ("owner",)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "shared" in form.changed_data and not obj.shared:
            scenario_subscriptions_recheck(scenario=obj)
