from .models import Scenario


def scenario_list(*, owner):
    return Scenario.objects.filter(owner=owner).select_related("owner")
