"""A small OAuth2 authority (client-credentials grant) and the bearer-token check of the Web API.

msal's ConfidentialClientApplication fetches `<authority>/v2.0/.well-known/openid-configuration`
and posts to the token endpoint named there; the Web API then checks the JWT it got: signature,
expiry and audience (the organisation URL), as Dataverse does.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

TOKEN_LIFETIME_SECONDS = 3600
SIGNING_KEY_FILE = "token-signing.key"
KEY_ID = "local-dataverse-1"
VALIDATED_TOKEN_CACHE_SIZE = 1024
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class AuthError(Exception):
    """A request the authority or the Web API refuses."""


class TokenRequestError(AuthError):
    """The token endpoint refuses a grant: answered in Entra ID's error shape."""

    def __init__(self, status: int, error: str, code: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.code = code
        self.description = description

    def body(self) -> dict[str, Any]:
        return {
            "error": self.error,
            "error_description": f"AADSTS{self.code}: {self.description}",
            "error_codes": [self.code],
            "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
            "trace_id": str(uuid.uuid4()),
            "correlation_id": str(uuid.uuid4()),
        }


class InvalidBearerToken(AuthError):
    """The Web API refuses the bearer token (missing, expired, wrong audience, bad signature)."""


@dataclass(frozen=True)
class ClientRegistration:
    """An app registration: a client id with a secret and/or a certificate (PEM) it signs with."""

    client_id: str
    secret: str | None = None
    certificate_pem: bytes | None = None
    object_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass(frozen=True)
class Caller:
    """Who a valid bearer token says the caller is."""

    client_id: str
    object_id: str
    tenant: str


def load_signing_key(data_dir: Path) -> rsa.RSAPrivateKey:
    path = data_dir / SIGNING_KEY_FILE
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if isinstance(key, rsa.RSAPrivateKey):
            return key
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    data_dir.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)
    return key


class Authority:
    """Issues and checks tokens for one tenant of one local organisation."""

    def __init__(
        self,
        tenant: str,
        signing_key: rsa.RSAPrivateKey,
        clients: list[ClientRegistration],
        clock: Any = time.time,
    ) -> None:
        self.tenant = tenant
        self._signing_key = signing_key
        self._public_key = signing_key.public_key()
        self._clients = {client.client_id.lower(): client for client in clients}
        self._clock = clock
        self.org_url = ""
        # token -> (issuer it was checked against, exp, caller): a token's signature and claims
        # are checked once, as a resource server caches validated tokens; expiry every request.
        self._validated: dict[str, tuple[str, int, Caller]] = {}

    def set_org_url(self, org_url: str) -> None:
        self.org_url = org_url.rstrip("/")

    @property
    def authority_url(self) -> str:
        return f"{self.org_url}/{self.tenant}"

    @property
    def issuer(self) -> str:
        return f"{self.authority_url}/v2.0"

    def openid_configuration(self) -> dict[str, Any]:
        base = self.authority_url
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
            "response_types_supported": ["code", "id_token", "token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "grant_types_supported": ["client_credentials"],
            "tenant_region_scope": "local",
        }

    def jwks(self) -> dict[str, Any]:
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self._public_key, as_dict=True)
        jwk.update({"kid": KEY_ID, "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}

    def accepted_audiences(self) -> set[str]:
        audiences = {self.org_url, f"{self.org_url}/"}
        if "://127.0.0.1:" in self.org_url:
            localhost = self.org_url.replace("://127.0.0.1:", "://localhost:")
            audiences |= {localhost, f"{localhost}/"}
        return audiences

    def issue_token(self, form: dict[str, str]) -> dict[str, Any]:
        """Answer a token request (form fields) or raise TokenRequestError."""
        grant_type = form.get("grant_type", "")
        if grant_type != "client_credentials":
            raise TokenRequestError(
                400,
                "unsupported_grant_type",
                70003,
                f"The app requested an unsupported grant type '{grant_type}'.",
            )
        client = self._authenticate_client(form)
        resource = self._resource_from_scope(form.get("scope", ""))
        now = int(self._clock())
        claims = {
            "aud": resource,
            "iss": self.issuer,
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_LIFETIME_SECONDS,
            "appid": client.client_id,
            "azp": client.client_id,
            "oid": client.object_id,
            "sub": client.object_id,
            "tid": self.tenant,
            "idtyp": "app",
            "ver": "2.0",
        }
        token = jwt.encode(claims, self._signing_key, algorithm="RS256", headers={"kid": KEY_ID})
        return {
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME_SECONDS,
            "ext_expires_in": TOKEN_LIFETIME_SECONDS,
            "access_token": token,
        }

    def _authenticate_client(self, form: dict[str, str]) -> ClientRegistration:
        client_id = form.get("client_id", "")
        client = self._clients.get(client_id.lower())
        if client is None:
            raise TokenRequestError(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{self.tenant}'.",
            )
        if "client_assertion" in form:
            self._check_client_assertion(client, form)
            return client
        secret = form.get("client_secret")
        if secret is None:
            raise TokenRequestError(
                401,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' "
                "or 'client_secret'.",
            )
        if client.secret is None or secret != client.secret:
            raise TokenRequestError(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is "
                f"the client secret value, not the client secret ID, for a secret added to app "
                f"'{client.client_id}'.",
            )
        return client

    def _check_client_assertion(self, client: ClientRegistration, form: dict[str, str]) -> None:
        if form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE:
            raise TokenRequestError(400, "invalid_request", 50027, "Invalid client_assertion_type.")
        if client.certificate_pem is None:
            raise TokenRequestError(
                401,
                "invalid_client",
                700027,
                "The certificate with identifier used to sign the client assertion is not "
                "registered on application.",
            )
        from cryptography import x509

        public_key = x509.load_pem_x509_certificate(client.certificate_pem).public_key()
        try:
            jwt.decode(
                form["client_assertion"],
                public_key,  # type: ignore[arg-type]
                algorithms=["RS256", "PS256", "ES256"],
                options={"verify_aud": False},
            )
        except jwt.PyJWTError as error:
            raise TokenRequestError(
                401, "invalid_client", 700027, f"Client assertion failed validation: {error}."
            ) from error

    def _resource_from_scope(self, scope: str) -> str:
        for item in scope.split():
            if item.endswith("/.default"):
                resource = item[: -len("/.default")].rstrip("/")
                if resource in self.accepted_audiences():
                    return resource
        raise TokenRequestError(
            400,
            "invalid_scope",
            1002012,
            f"The provided value for scope {scope} is not valid. Client credential flows must "
            f"have a scope value with /.default suffixed to the resource identifier "
            f"(application ID URI).",
        )

    def check_bearer(self, authorization: str | None) -> Caller:
        """The caller of a valid `Authorization: Bearer` header; else InvalidBearerToken."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise InvalidBearerToken("Bearer token is missing.")
        token = authorization[len("bearer ") :].strip()
        issuer = self.issuer
        cached = self._validated.get(token)
        if cached is not None and cached[0] == issuer:
            if cached[1] <= time.time():  # as PyJWT: expired once `exp <= now`
                del self._validated[token]
                raise InvalidBearerToken("The access token has expired.")
            return cached[2]
        try:
            claims = jwt.decode(
                token,
                self._public_key,
                algorithms=["RS256"],
                audience=sorted(self.accepted_audiences()),
                issuer=self.issuer,
                options={"require": ["exp", "aud", "iss"]},
            )
        except jwt.ExpiredSignatureError as error:
            raise InvalidBearerToken("The access token has expired.") from error
        except jwt.InvalidAudienceError as error:
            raise InvalidBearerToken("The access token audience is not valid.") from error
        except jwt.PyJWTError as error:
            raise InvalidBearerToken(f"The access token is not valid: {error}.") from error
        caller = Caller(claims.get("appid", ""), claims.get("oid", ""), claims.get("tid", ""))
        if len(self._validated) >= VALIDATED_TOKEN_CACHE_SIZE:
            self._validated.clear()
        self._validated[token] = (issuer, int(claims["exp"]), caller)
        return caller

    def challenge_header(self) -> str:
        return (
            f"Bearer authorization_uri={self.authority_url}/oauth2/authorize, "
            f"resource_id={self.org_url}/"
        )
