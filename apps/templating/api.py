from django.shortcuts import get_object_or_404
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.validators import validate_locale
from apps.common.channels import Channel
from apps.common.models import ApiKeyScope
from apps.common.permissions import service_scope
from apps.events.selectors import event_type_list

from .locales import locale_normalize
from .selectors import template_list, template_version_list
from .services import template_create, template_delete, template_update

SOURCE_MAX = 100_000


class VersionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.IntegerField()
    subject = serializers.CharField()
    body = serializers.CharField()
    html = serializers.CharField()
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField()
    restored_from = serializers.IntegerField(source="restored_from_id", allow_null=True)


class TemplateOutput(serializers.Serializer):
    id = serializers.IntegerField()
    event_type = serializers.CharField(source="event_type.key")
    channel = serializers.CharField()
    locale = serializers.CharField()
    version = serializers.IntegerField(source="current_version.number", allow_null=True)
    subject = serializers.CharField(source="current_version.subject", allow_null=True)
    body = serializers.CharField(source="current_version.body", allow_null=True)
    html = serializers.CharField(source="current_version.html", allow_null=True)
    updated_at = serializers.DateTimeField()


class _Sources(serializers.Serializer):
    subject = serializers.CharField(max_length=2000, allow_blank=True, required=False, default="")
    body = serializers.CharField(max_length=SOURCE_MAX, trim_whitespace=False)
    html = serializers.CharField(max_length=SOURCE_MAX, allow_blank=True, required=False, default="")


def _who(request) -> str:
    return str(request.user)


class TemplateListApi(APIView):
    permission_classes = [service_scope(ApiKeyScope.TEMPLATES_WRITE)]

    class Input(_Sources):
        event_type = serializers.SlugRelatedField(slug_field="key", queryset=event_type_list())
        channel = serializers.ChoiceField(choices=Channel.choices)
        locale = serializers.CharField(max_length=16, validators=[validate_locale])

    def get(self, request):
        templates = template_list(
            event_type_key=request.query_params.get("event_type"),
            channel=request.query_params.get("channel"),
            locale=locale_normalize(request.query_params.get("locale")),
        )
        return Response({"results": TemplateOutput(templates[:500], many=True).data})

    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        template = template_create(**data.validated_data, created_by=_who(request))
        return Response(TemplateOutput(template).data, status=status.HTTP_201_CREATED)


class TemplateDetailApi(APIView):
    permission_classes = [service_scope(ApiKeyScope.TEMPLATES_WRITE)]

    class Input(_Sources):
        # The identity of a template is fixed; a PUT may repeat it but not change it.
        event_type = serializers.CharField(required=False)
        channel = serializers.CharField(required=False)
        locale = serializers.CharField(required=False)

        def validate(self, attrs):
            template = self.context["template"]
            current = {"event_type": template.event_type.key, "channel": template.channel, "locale": template.locale}
            errors = {
                field: ["A template's event type, channel and locale cannot change; create another template."]
                for field, value in current.items()
                if field in attrs and (locale_normalize(attrs[field]) if field == "locale" else attrs[field]) != value
            }
            if errors:
                raise serializers.ValidationError(errors)
            return attrs

    def get(self, request, template_id):
        template = get_object_or_404(template_list(), pk=template_id)
        versions = VersionOutput(template_version_list(template=template), many=True).data
        return Response({**TemplateOutput(template).data, "versions": versions})

    def put(self, request, template_id):
        template = get_object_or_404(template_list(), pk=template_id)
        data = self.Input(data=request.data, context={"template": template})
        data.is_valid(raise_exception=True)
        sources = {k: data.validated_data[k] for k in ("subject", "body", "html")}
        template_update(template=template, **sources, created_by=_who(request))
        template = template_list().get(pk=template.pk)
        versions = VersionOutput(template_version_list(template=template), many=True).data
        return Response({**TemplateOutput(template).data, "versions": versions})

    def delete(self, request, template_id):
        template_delete(template=get_object_or_404(template_list(), pk=template_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
