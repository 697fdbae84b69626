from django.contrib import admin

from .models import Scenario


@admin.register(Scenario)
class ScenarioAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "owner", "shared", "execution_count", "last_executed_at", "created_at")
    list_filter = ("shared",)
    search_fields = ("name", "owner__username")
    raw_id_fields = ("owner",)
