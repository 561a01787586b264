"""Bearer-token authentication of API clients."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from forms_app.models import ApiClient, hash_token

_MAX_TOKEN_LENGTH = 128


class ApiClientAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>`; the request acts as the client's service user.

    Only the token's SHA-256 is looked up: the token is 256 random bits, so a fast
    hash is safe and no timing difference reveals anything usable.
    """

    keyword = "bearer"

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                "Send the header as 'Authorization: Bearer <token>'.")
        try:
            token = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        if len(token) > _MAX_TOKEN_LENGTH:
            raise exceptions.AuthenticationFailed("Invalid token.")
        client = (ApiClient.objects.select_related("user", "care_team__organisation")
                  .filter(token_hash=hash_token(token)).first())
        if client is None or not client.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid or inactive token.")
        # Fail closed: the client's reach is its service user's team membership, which
        # must be exactly its own team. If someone added the service user to another
        # team, refuse rather than widen what the client sees.
        teams = list(client.user.care_teams.values_list("pk", flat=True)[:2])
        if teams != [client.care_team_id]:
            raise exceptions.AuthenticationFailed(
                "This client's team membership has changed; ask an administrator.")
        return client.user, client

    def authenticate_header(self, request):
        # Makes DRF answer 401 (not 403) to a request without a valid token.
        return 'Bearer realm="api"'


class IsApiClient(permissions.BasePermission):
    """Only requests authenticated by an API client token reach the API."""

    def has_permission(self, request, view):
        return isinstance(request.auth, ApiClient)


class ApiClientAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = ApiClientAuthentication
    name = "apiClientToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "The API client's token, shown once when the client is "
                           "created (admin, or `manage.py create_api_client`).",
        }
