from django.contrib import admin

from .models import Scenario


@admin.register(Scenario)
class ScenarioAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "owner", "execution_count", "last_executed_at", "created_at")
    search_fields = ("name", "owner__username")
    raw_id_fields = ("owner",)
