"""The answer to a locked-out sign-in (django-axes' AXES_LOCKOUT_CALLABLE).

The API answers 429 in the error envelope; the HTML sign-in forms (/accounts/login/,
/admin/login/) answer 429 with a page that says what happened and for how long. Both
carry Retry-After: the whole cool-off, because every attempt during a lock-out starts it
again (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT, axes' default).
"""

import math

from axes.helpers import get_cool_off
from django.shortcuts import render

from apps.common.errors import error_response


def signin_lockout_response(request, original_response=None, credentials=None):
    retry_after = math.ceil(get_cool_off(request).total_seconds())
    if request.path.startswith("/api/"):
        response = error_response(
            429,
            "Too many failed sign-ins for this username or from this address; try again later.",
            code="signin_locked",
            details={"retry_after": retry_after},
        )
    else:
        context = {"retry_minutes": max(1, math.ceil(retry_after / 60))}
        response = render(request, "accounts/signin_locked.html", context, status=429)
    response["Retry-After"] = str(retry_after)
    return response
