from rest_framework.permissions import SAFE_METHODS, BasePermission

from .auth import ServicePrincipal
from .models import ApiKeyScope


class IsPerson(BasePermission):
    """A signed-in person (token or session), not a service key."""

    message = "This endpoint is for people; sign in with a token or session."

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and not isinstance(user, ServicePrincipal))


class IsService(BasePermission):
    """A service's API key, not a person: for what belongs to the key itself."""

    message = "This endpoint is for services; authenticate with an API key."

    def has_permission(self, request, view):
        return isinstance(request.user, ServicePrincipal)


def service_scope(write_scope: str):
    """Permission for service endpoints: an API key with the scope (or `read` for
    safe methods), or a staff person."""

    class HasServiceScope(BasePermission):
        message = f"This API key lacks the '{write_scope}' scope."

        def has_permission(self, request, view):
            user = request.user
            if isinstance(user, ServicePrincipal):
                needed = ApiKeyScope.READ if request.method in SAFE_METHODS else write_scope
                return user.api_key.has_scope(needed) or user.api_key.has_scope(write_scope)
            return bool(user and user.is_authenticated and user.is_staff)

    HasServiceScope.__name__ = f"HasServiceScope[{write_scope}]"
    return HasServiceScope
