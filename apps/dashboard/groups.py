"""The two staff groups of the delivery dashboard, and what each may do. The data
migration creates them; `staff_groups_ensure` is written against the models it is given,
so the migration passes its historical models and the tests the real ones."""

VIEW = [
    "delivery.view_delivery",
    "delivery.view_deliveryevent",
    "delivery.view_earlyproviderevent",
    "delivery.view_suppression",
    "notifications.view_usernotification",
    "notifications.view_directsend",
    "events.view_event",
    "events.view_eventtype",
]

STAFF_GROUPS = {
    # Answers people's questions: sees everything about a delivery, changes nothing.
    "support": VIEW,
    # Runs delivery: may also send dead letters again and stop deliveries.
    "operator": [*VIEW, "delivery.requeue_delivery", "delivery.cancel_delivery"],
}


def staff_groups_ensure(*, group_model, permission_model) -> None:
    """Create the groups (or reset their permissions to the lists above)."""
    for name, codenames in STAFF_GROUPS.items():
        permissions = []
        for dotted in codenames:
            app_label, codename = dotted.split(".")
            permissions.append(permission_model.objects.get(content_type__app_label=app_label, codename=codename))
        group, _ = group_model.objects.get_or_create(name=name)
        group.permissions.set(permissions)
