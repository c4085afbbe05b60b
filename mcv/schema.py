"""OpenAPI schema generation: every operation documents the errors it can answer with.

drf-spectacular documents the success response of each view; the errors come from
the project-wide machinery (authentication, the MFA gate, throttling, scoped 404s,
validation), so they are added here once rather than on every view. The API is
fuzzed against this schema (tests/test_api_schema_fuzz.py), so an undocumented
status code is a test failure.
"""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

_ERROR = inline_serializer(
    "Error", {"detail": serializers.CharField(help_text="What went wrong, in words a person can act on.")}
)
_ERRORS = {
    "401": OpenApiResponse(_ERROR, description="Not authenticated (a bad or missing token)."),
    "403": OpenApiResponse(
        _ERROR,
        description="Not allowed: not signed in, not your role, or an officer without two-factor authentication.",
    ),
    "429": OpenApiResponse(_ERROR, description="Too many requests; try again later."),
}
_NOT_FOUND = OpenApiResponse(_ERROR, description="No such object, or not one you may see.")
_INVALID = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description="Invalid input: an object mapping each field (or `detail`) to its messages. Nothing was changed.",
)


class AutoSchema(SpectacularAutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        # 404 for every operation: an object out of scope, or a page past the end of a list.
        extra = {**_ERRORS, "404": _NOT_FOUND}
        if self.method in ("POST", "PUT", "PATCH"):
            extra["400"] = _INVALID
        for code, response in extra.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code, direction=direction)
        return responses
