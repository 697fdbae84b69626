"""Who may see a scenario, and so subscribe to its events: its owner, or anyone once
it is shared. Registered with the subscriptions' access rule in ScenariosConfig.ready()."""

from django.db.models import Q

from .models import Scenario

SCENARIO_SUBJECT_TYPE = Scenario._meta.label_lower  # as events name it (apps.events.subjects)


def scenario_visible(user, subject_id: str) -> bool:
    if not subject_id.isdigit() or len(subject_id) > 18:  # not an id: not a scenario
        return False
    return Scenario.objects.filter(Q(owner_id=user.pk) | Q(shared=True), pk=int(subject_id)).exists()
