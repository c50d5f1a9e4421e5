import httpx
import pytest

from load.auth import DataverseAuth
from load.config import ConfigError, DataverseSettings, LoadPaths

ENV = {
    "DATAVERSE_URL": "https://contoso.crm.dynamics.com/",
    "DATAVERSE_TENANT_ID": "00000000-0000-0000-0000-0000000000aa",
    "DATAVERSE_CLIENT_ID": "app",
    "DATAVERSE_CLIENT_SECRET": "secret",
}


def test_settings_from_environment():
    settings = DataverseSettings.from_env(ENV)

    assert settings.url == "https://contoso.crm.dynamics.com"
    assert (
        settings.authority
        == "https://login.microsoftonline.com/00000000-0000-0000-0000-0000000000aa"
    )
    assert settings.scope == "https://contoso.crm.dynamics.com/.default"
    assert settings.api_url == "https://contoso.crm.dynamics.com/api/data/v9.2/"


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("DATAVERSE_URL", "DATAVERSE_URL is not set"),
        ("DATAVERSE_TENANT_ID", "DATAVERSE_TENANT_ID is not set"),
        ("DATAVERSE_CLIENT_ID", "DATAVERSE_CLIENT_ID is not set"),
        ("DATAVERSE_CLIENT_SECRET", "DATAVERSE_CLIENT_SECRET .* or DATAVERSE_CLIENT_CERT"),
    ],
)
def test_missing_variable_is_named(missing, message):
    env = {k: v for k, v in ENV.items() if k != missing}

    with pytest.raises(ConfigError, match=message):
        DataverseSettings.from_env(env)


def test_authority_and_ca_bundle_overrides(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    env = {
        **ENV,
        "DATAVERSE_AUTHORITY": "https://127.0.0.1:8443/local/",
        "DATAVERSE_CA_BUNDLE": str(ca),
    }

    settings = DataverseSettings.from_env(env)

    assert settings.authority == "https://127.0.0.1:8443/local"
    assert settings.ca_bundle == ca


def test_insecure_or_missing_files_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="https"):
        DataverseSettings.from_env({**ENV, "DATAVERSE_URL": "http://org.example"})
    with pytest.raises(ConfigError, match="tenant"):
        DataverseSettings.from_env({**ENV, "DATAVERSE_AUTHORITY": "https://127.0.0.1:8443"})
    with pytest.raises(ConfigError, match="DATAVERSE_CA_BUNDLE"):
        DataverseSettings.from_env({**ENV, "DATAVERSE_CA_BUNDLE": str(tmp_path / "nope.pem")})


def test_paths_default_under_var_and_follow_overrides(tmp_path):
    default = LoadPaths.from_env({}, root=tmp_path)
    moved = LoadPaths.from_env(
        {"MIGRATE_VAR": str(tmp_path / "v"), "MIGRATE_LEDGER": str(tmp_path / "l.duckdb")},
        root=tmp_path,
    )

    assert default.duckdb == tmp_path / "var" / "migration.duckdb"
    assert default.ledger == tmp_path / "var" / "ledger.duckdb"
    assert default.manifest == tmp_path / "target" / "manifest.json"
    assert moved.duckdb == tmp_path / "v" / "migration.duckdb"
    assert moved.ledger == tmp_path / "l.duckdb"
    assert moved.reports == tmp_path / "v" / "reports"


class FakeMsal:
    """Stands in for msal.ConfidentialClientApplication: hands out numbered tokens."""

    def __init__(self, expires_in=3600):
        self.issued = 0
        self.expires_in = expires_in
        self.removed = 0

    def acquire_token_for_client(self, scopes):
        assert scopes == ["https://org.example/.default"]
        self.issued += 1
        return {"access_token": f"t{self.issued}", "expires_in": self.expires_in}

    def remove_tokens_for_client(self):
        self.removed += 1


def send(auth, handler, times=1):
    with httpx.Client(auth=auth, transport=httpx.MockTransport(handler)) as client:
        return [client.get("https://org.example/api/data/v9.2/WhoAmI") for _ in range(times)]


def test_bearer_token_is_reused_while_valid():
    app = FakeMsal()
    tokens = []

    send(
        DataverseAuth(app, "https://org.example/.default"),
        lambda r: tokens.append(r.headers["Authorization"]) or httpx.Response(200),
        times=3,
    )

    assert tokens == ["Bearer t1"] * 3 and app.issued == 1


def test_token_close_to_expiry_is_renewed():
    app = FakeMsal(expires_in=60)  # inside the refresh margin: every request renews
    tokens = []

    send(
        DataverseAuth(app, "https://org.example/.default"),
        lambda r: tokens.append(r.headers["Authorization"]) or httpx.Response(200),
        times=2,
    )

    assert tokens == ["Bearer t1", "Bearer t2"]


def test_401_renews_the_token_and_retries_once():
    app = FakeMsal()
    seen = []

    def handler(request):
        seen.append(request.headers["Authorization"])
        return httpx.Response(401 if request.headers["Authorization"] == "Bearer t1" else 200)

    (response,) = send(DataverseAuth(app, "https://org.example/.default"), handler)

    assert response.status_code == 200
    assert seen == ["Bearer t1", "Bearer t2"]
    assert app.removed == 1
