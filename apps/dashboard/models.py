from apps.delivery.models import Delivery


class DeliveryDashboard(Delivery):
    """No table of its own: the admin lists a model in its index and gives it pages, so
    the dashboard is registered through this proxy of Delivery (see admin.py)."""

    class Meta:
        proxy = True
        verbose_name = "delivery dashboard"
        verbose_name_plural = "delivery dashboard"
        # Who may open it follows the permissions on Delivery: none of its own.
        default_permissions = ()
