from django.urls import path

from .api import ScenarioDetailApi, ScenarioExecuteApi, ScenarioListApi

urlpatterns = [
    path("scenarios/", ScenarioListApi.as_view(), name="scenarios"),
    path("scenarios/<int:scenario_id>/", ScenarioDetailApi.as_view(), name="scenario-detail"),
    path("scenarios/<int:scenario_id>/execute/", ScenarioExecuteApi.as_view(), name="scenario-execute"),
]
