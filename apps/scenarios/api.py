from django.shortcuts import get_object_or_404
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.permissions import IsPerson
from apps.common.schema import api_schema, results_of

from .selectors import scenario_list
from .services import scenario_create, scenario_delete, scenario_execute, scenario_share_set


class ScenarioOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    shared = serializers.BooleanField()
    execution_count = serializers.IntegerField()
    last_executed_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


SHARED_HELP = "Anyone may subscribe to this scenario's events as their subject; else only its owner."


class ScenarioListApi(APIView):
    permission_classes = [IsPerson]

    class Input(serializers.Serializer):
        name = serializers.CharField(max_length=200)
        description = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")
        shared = serializers.BooleanField(required=False, default=False, help_text=SHARED_HELP)

    @api_schema(responses=results_of("ScenarioList", ScenarioOutput), operation_id="scenarios_list")
    def get(self, request):
        return Response({"results": ScenarioOutput(scenario_list(owner=request.user)[:200], many=True).data})

    @api_schema(request=Input, responses={201: ScenarioOutput}, errors=(400,))
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        scenario = scenario_create(owner=request.user, **data.validated_data)
        return Response(ScenarioOutput(scenario).data, status=status.HTTP_201_CREATED)


class ScenarioDetailApi(APIView):
    permission_classes = [IsPerson]

    class Input(serializers.Serializer):
        shared = serializers.BooleanField(help_text=SHARED_HELP)

    @api_schema(responses=ScenarioOutput, errors=(404,))
    def get(self, request, scenario_id):
        return Response(ScenarioOutput(get_object_or_404(scenario_list(owner=request.user), pk=scenario_id)).data)

    @api_schema(
        request=Input,
        responses=ScenarioOutput,
        errors=(400, 404),
        description="Share or stop sharing. Once not shared, the others' subscriptions to it as a subject are removed.",
    )
    def patch(self, request, scenario_id):
        scenario = get_object_or_404(scenario_list(owner=request.user), pk=scenario_id)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(
            ScenarioOutput(scenario_share_set(scenario=scenario, shared=data.validated_data["shared"])).data
        )

    @api_schema(responses={204: None}, errors=(404,))
    def delete(self, request, scenario_id):
        scenario_delete(scenario=get_object_or_404(scenario_list(owner=request.user), pk=scenario_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ScenarioExecuteApi(APIView):
    permission_classes = [IsPerson]

    @api_schema(request=None, responses=ScenarioOutput, errors=(404,))
    def post(self, request, scenario_id):
        scenario = get_object_or_404(scenario_list(owner=request.user), pk=scenario_id)
        return Response(ScenarioOutput(scenario_execute(scenario=scenario)).data)
