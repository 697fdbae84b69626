from django.urls import path

from .api import TemplateDetailApi, TemplateListApi

urlpatterns = [
    path("templates/", TemplateListApi.as_view(), name="templates"),
    path("templates/<int:template_id>/", TemplateDetailApi.as_view(), name="template-detail"),
]
