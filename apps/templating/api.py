from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.validators import validate_locale
from apps.common.channels import Channel
from apps.common.models import ApiKeyScope
from apps.common.permissions import service_scope
from apps.common.schema import api_schema, results_of
from apps.events.selectors import event_type_list

from .locales import locale_normalize
from .selectors import template_list, template_version_list
from .services import template_create, template_delete, template_email_tracking_set, template_update

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
    email_tracking = serializers.BooleanField(allow_null=True)
    updated_at = serializers.DateTimeField()


class TemplateDetailOutput(TemplateOutput):
    versions = serializers.SerializerMethodField()

    @extend_schema_field(VersionOutput(many=True))
    def get_versions(self, template):
        return VersionOutput(template_version_list(template=template), many=True).data


_LANGUAGE = "A Jinja2 template, rendered in a sandbox with a time and size budget; one that does not compile is 400."


class _Sources(serializers.Serializer):
    subject = serializers.CharField(max_length=2000, allow_blank=True, required=False, default="", help_text=_LANGUAGE)
    body = serializers.CharField(max_length=SOURCE_MAX, trim_whitespace=False, help_text=_LANGUAGE)
    html = serializers.CharField(
        max_length=SOURCE_MAX, allow_blank=True, required=False, default="", help_text=f"{_LANGUAGE} Autoescaped."
    )


_TRACKING = (
    "Email open and click tracking for this template: true or false, or null to follow the "
    "service's EMAIL_TRACKING_ENABLED setting (the default)."
)


def _who(request) -> str:
    return str(request.user)


class TemplateListApi(APIView):
    permission_classes = [service_scope(ApiKeyScope.TEMPLATES_WRITE)]

    class Input(_Sources):
        event_type = serializers.SlugRelatedField(slug_field="key", queryset=event_type_list())
        channel = serializers.ChoiceField(choices=Channel.choices)
        locale = serializers.CharField(max_length=16, validators=[validate_locale])
        email_tracking = serializers.BooleanField(allow_null=True, required=False, default=None, help_text=_TRACKING)

    class Filters(serializers.Serializer):
        event_type = serializers.CharField(required=False, max_length=100)
        channel = serializers.ChoiceField(choices=Channel.choices, required=False)
        locale = serializers.CharField(required=False, max_length=16)

    @api_schema(
        responses=results_of("TemplateList", TemplateOutput),
        operation_id="templates_list",
        parameters=[Filters],
        errors=(400,),
    )
    def get(self, request):
        filters = self.Filters(data=request.query_params)
        filters.is_valid(raise_exception=True)
        templates = template_list(
            event_type_key=filters.validated_data.get("event_type"),
            channel=filters.validated_data.get("channel"),
            locale=locale_normalize(filters.validated_data.get("locale")),
        )
        return Response({"results": TemplateOutput(templates[:500], many=True).data})

    # Sources may be up to SOURCE_MAX characters each: a body near that can pass the request size limit (413).
    @api_schema(request=Input, responses={201: TemplateOutput}, errors=(400, 413))
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
        # Left out: unchanged.
        email_tracking = serializers.BooleanField(allow_null=True, required=False, help_text=_TRACKING)

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

    @api_schema(responses=TemplateDetailOutput, errors=(404,))
    def get(self, request, template_id):
        return Response(TemplateDetailOutput(get_object_or_404(template_list(), pk=template_id)).data)

    @api_schema(request=Input, responses=TemplateDetailOutput, errors=(400, 404, 413))
    def put(self, request, template_id):
        template = get_object_or_404(template_list(), pk=template_id)
        data = self.Input(data=request.data, context={"template": template})
        data.is_valid(raise_exception=True)
        sources = {k: data.validated_data[k] for k in ("subject", "body", "html")}
        template_update(template=template, **sources, created_by=_who(request))
        if "email_tracking" in data.validated_data:
            template_email_tracking_set(template=template, email_tracking=data.validated_data["email_tracking"])
        return Response(TemplateDetailOutput(template_list().get(pk=template.pk)).data)

    @api_schema(responses={204: None}, errors=(404,))
    def delete(self, request, template_id):
        template_delete(template=get_object_or_404(template_list(), pk=template_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
