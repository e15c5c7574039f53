"""Adapter: the local stand-ins ``make local`` starts, fills and always stops.

A throwaway TLS MariaDB (or the user's own MySQL), a moto server on 127.0.0.1, the
environment's KMS key and secrets made as template.yaml makes them, and the
application's database user. Only this module (and ``db_admin``) touch boto3, moto's
model and the database; :class:`LocalWorld` is entered with ``with`` and undoes
everything it did on every exit path, Ctrl-C included.
"""

from __future__ import annotations

import json
import os
import secrets as _random
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Self

from scripts.local_run.db_admin import DatabaseAdmin
from scripts.local_run.template_specs import (
    function_environment,
    key_alias,
    secret_specs,
)
from scripts.sam_template import DeployedTemplate

if TYPE_CHECKING:
    from collections.abc import Callable, MutableMapping
    from types import TracebackType

    from mypy_boto3_secretsmanager import SecretsManagerClient
    from scripts.local_run.config import LocalConfig
    from scripts.local_run.template_specs import SecretSpec

__all__ = ["LocalWorld", "SecretHandle"]

ACCOUNT_ID = "123456789012"
# Loopback: fail a frozen server within seconds so the fault drill stays short.
LOCAL_DB_CONNECT_TIMEOUT_S = "1"


@dataclass(frozen=True)
class SecretHandle:
    kind: str
    name: str
    arn: str
    generated: str = ""
    """How the value was made, for the progress line (never the value)."""


@dataclass
class LocalWorld:
    """Everything ``make local`` runs against. Use as a context manager."""

    config: LocalConfig
    progress: Callable[[str, str], None]
    """``progress(label, detail)`` prints one setup line."""
    region: str = "ap-northeast-1"
    endpoint_url: str = ""
    db: DatabaseAdmin | None = None
    pause_db: Callable[[], None] | None = None
    resume_db: Callable[[], None] | None = None
    app_username: str = ""
    app_database: str = ""
    template: DeployedTemplate | None = None
    secrets: dict[str, SecretHandle] = field(default_factory=dict)
    master_secret_arn: str = ""
    rotation_env: dict[str, str] = field(default_factory=dict)
    canary_env: dict[str, str] = field(default_factory=dict)
    _client: Any = None
    _stack: ExitStack = field(default_factory=ExitStack)
    _saved_environ: dict[str, str] = field(default_factory=dict)

    # -- lifecycle -------------------------------------------------------------------

    def __enter__(self) -> Self:
        self._saved_environ = dict(os.environ)
        try:
            self._start_database()
            self._start_aws()
            self._create_key_and_secrets()
            self._create_app_user()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop and remove everything started, in reverse order; restore os.environ."""
        if self.resume_db is not None:
            self.resume_db()  # a frozen server cannot stop
        try:
            self._stack.close()
        finally:
            os.environ.clear()
            os.environ.update(self._saved_environ)

    # -- what the flow uses ------------------------------------------------------------

    @property
    def client(self) -> SecretsManagerClient:
        if self._client is None:
            import boto3  # type: ignore[import-untyped,unused-ignore]

            self._client = boto3.client(
                "secretsmanager", region_name=self.region, endpoint_url=self.endpoint_url
            )
        client: SecretsManagerClient = self._client
        return client

    @property
    def can_freeze_database(self) -> bool:
        return self.pause_db is not None

    def use_function_environment(self, variables: dict[str, str]) -> None:
        """Set a function's variables in os.environ, as Lambda would (restored at close)."""
        os.environ.update(variables)

    def secret_document(self, kind: str, *, stage: str = "AWSCURRENT") -> dict[str, Any]:
        """A secret's JSON (for checks only: the caller never prints it)."""
        value = self.client.get_secret_value(SecretId=self.secrets[kind].arn, VersionStage=stage)[
            "SecretString"
        ]
        document: dict[str, Any] = json.loads(value)
        return document

    def version_with(self, kind: str, stage: str) -> str | None:
        versions = self.client.describe_secret(SecretId=self.secrets[kind].arn).get(
            "VersionIdsToStages", {}
        )
        return next((v for v, stages in versions.items() if stage in stages), None)

    def record_rotation_date(self, kind: str) -> None:
        """What Secrets Manager does when a rotation completes: set LastRotatedDate.

        harness.rotation emulates RotateSecret's start and moto cannot run our function,
        so nobody else sets it; the canary's DaysSinceLastRotation reads it.
        """
        from moto.secretsmanager.models import secretsmanager_backends

        secret: Any = secretsmanager_backends[ACCOUNT_ID][self.region].secrets[
            self.secrets[kind].arn
        ]
        secret.last_rotation_date = int(time.time())

    def every_secret_value(self) -> set[str]:
        """Every secret string ever stored here (all versions) and the admin password."""
        values: set[str] = set()
        if self.db is not None:
            values.add(self.db.password)
        arns = [h.arn for h in self.secrets.values()]
        if self.master_secret_arn:
            arns.append(self.master_secret_arn)
        for arn in arns:
            listed = self.client.list_secret_version_ids(SecretId=arn, IncludeDeprecated=True)
            for version in listed["Versions"]:
                try:
                    text = self.client.get_secret_value(
                        SecretId=arn, VersionId=version["VersionId"]
                    )["SecretString"]
                except self.client.exceptions.ResourceNotFoundException:
                    continue  # a valueless AWSPENDING version
                values |= _secret_leaves(json.loads(text))
        return {v for v in values if len(v) >= 8}

    # -- set-up steps ------------------------------------------------------------------

    def _start_database(self) -> None:
        config = self.config
        if config.db_host is None:
            from harness.mariadb import MariaDBServer

            started = time.perf_counter()
            server = self._stack.enter_context(MariaDBServer())
            self.db = DatabaseAdmin(
                host=server.host,
                port=server.port,
                user=server.admin_user,
                password=server.admin_password,
                ca_path=server.ca_path,
            )
            self.pause_db, self.resume_db = server.pause, server.resume
            self.app_username, self.app_database = "", ""  # the template's defaults
            self.progress(
                "database",
                f"throwaway MariaDB with TLS on {server.host}:{server.port} "
                f"({time.perf_counter() - started:.1f} s)",
            )
        else:
            self.db = DatabaseAdmin(
                host=config.db_host,
                port=config.db_port,
                user=config.db_admin_user,
                password=config.db_admin_password,
                ca_path=config.db_ca_path,
            )
            self.db.check_login()
            suffix = uuid.uuid4().hex[:6]
            self.app_username = f"sg_rehearsal_{suffix}"
            self.app_database = f"sg_rehearsal_{suffix}"
            self.progress(
                "database",
                f"your MySQL at {config.db_host}:{config.db_port} (admin {config.db_admin_user}; "
                f"rehearsal user {self.app_username}, dropped at the end)",
            )

    def _start_aws(self) -> None:
        import logging

        from harness.aws import MotoServer, offline_environment

        werkzeug = logging.getLogger("werkzeug")  # moto's HTTP server logs every request
        self._stack.callback(werkzeug.setLevel, werkzeug.level)
        werkzeug.setLevel(logging.ERROR)

        _loopback_only(os.environ)
        os.environ.update(offline_environment())
        server = self._stack.enter_context(MotoServer())
        self.endpoint_url = server.endpoint_url
        # moto keeps its state in process-wide backends: start empty, leave nothing.
        _reset_moto()
        self._stack.callback(_reset_moto)
        os.environ["AWS_ENDPOINT_URL"] = server.endpoint_url
        self.region = os.environ["AWS_DEFAULT_REGION"]
        self.progress("aws", f"moto server on {server.endpoint_url} (region {self.region})")

    def _overrides(self) -> dict[str, str]:
        assert self.db is not None
        overrides = {
            "DatabaseStackName": "",
            "NetworkStackName": "",
            "DatabaseClusterIdentifier": "",
            "DatabaseHost": self.db.host,
            "DatabasePort": str(self.db.port),
            "RdsCaBundlePath": self.db.ca_path or "",
            "DatabaseRotationStrategy": self.config.strategy,
            "MasterSecretArn": self.master_secret_arn,
        }
        if self.app_username:
            overrides["DatabaseUsername"] = self.app_username
            overrides["DatabaseName"] = self.app_database
        return overrides

    def _create_key_and_secrets(self) -> None:
        import boto3  # type: ignore[import-untyped,unused-ignore]

        assert self.db is not None
        template = DeployedTemplate.for_environment(
            self.config.environment,
            app_name=self.config.app_name,
            region=self.region,
            account_id=ACCOUNT_ID,
            overrides=self._overrides(),
        )
        kms = boto3.client("kms", region_name=self.region, endpoint_url=self.endpoint_url)
        key_id = kms.create_key(Description=f"local {template.app_name}-{template.environment}")[
            "KeyMetadata"
        ]["KeyId"]
        kms.enable_key_rotation(KeyId=key_id)
        alias = key_alias(template)
        kms.create_alias(AliasName=alias, TargetKeyId=key_id)
        self.progress("kms", f"customer-managed key {alias} (key rotation on)")

        if self.config.strategy == "alternating-users":
            # Not in the template (MasterSecretArn is a parameter): the admin's login.
            master = {
                "engine": "mysql",
                "host": self.db.host,
                "port": self.db.port,
                "username": self.db.user,
                "password": self.db.password,
                "ssl": True,
            }
            name = f"{template.app_name}-{template.environment}-secret-database-master"
            self.master_secret_arn = self.client.create_secret(
                Name=name, KmsKeyId=alias, SecretString=json.dumps(master)
            )["ARN"]
            self.progress("secret", f"{name} (the admin login, for alternating-users)")
            template = DeployedTemplate.for_environment(
                self.config.environment,
                app_name=self.config.app_name,
                region=self.region,
                account_id=ACCOUNT_ID,
                overrides=self._overrides(),
            )
        self.template = template
        for spec in secret_specs(template):
            handle = self._create_secret(spec, alias)
            self.secrets[spec.kind] = handle
            self.progress("secret", f"{handle.name} ({handle.generated})")

        self.rotation_env = function_environment(template, "RotationFunction") | {
            "DB_CONNECT_TIMEOUT_S": LOCAL_DB_CONNECT_TIMEOUT_S
        }
        self.canary_env = function_environment(template, "HealthCheckFunction") | {
            "DB_CONNECT_TIMEOUT_S": LOCAL_DB_CONNECT_TIMEOUT_S
        }

    def _create_secret(self, spec: SecretSpec, alias: str) -> SecretHandle:
        document = json.loads(json.dumps(spec.document))
        if spec.generated is not None:
            # What CloudFormation does for GenerateSecretString: GetRandomPassword.
            document[spec.generated.key] = self.client.get_random_password(
                **spec.generated.get_random_password_args()
            )["RandomPassword"]
            how = f"generated {spec.generated.key}, {spec.generated.length} characters"
        else:
            filled = _fill_placeholders(document)
            how = "template value" + (
                f"; {filled} empty fields filled with local placeholders, as docs/deploy.md "
                "has operators do after deployment"
                if filled
                else ""
            )
        arn = self.client.create_secret(
            Name=spec.name, KmsKeyId=alias, SecretString=json.dumps(document)
        )["ARN"]
        return SecretHandle(kind=spec.kind, name=spec.name, arn=arn, generated=how)

    def _create_app_user(self) -> None:
        assert self.db is not None
        document = self.secret_document("database")
        username, database = str(document["username"]), str(document.get("dbname") or "")
        self.db.create_app_user(
            username=username, password=str(document["password"]), database=database
        )
        self._stack.callback(self.db.drop_app_user, username=username, database=database)
        self.progress(
            "app user",
            f"{username} on database {database} (REQUIRE SSL, password = the secret's)",
        )


# Settings of the user's shell that would send the run's AWS calls elsewhere than its
# own moto server: a profile, service-specific endpoints, ignoring AWS_ENDPOINT_URL.
_REDIRECTING_VARIABLES = ("AWS_PROFILE", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
# Powertools' debugging switches in the user's shell: Lambda gives a function only the
# template's variables, and the canary refuses these (they silence its metrics).
_SHELL_ONLY_VARIABLES = ("POWERTOOLS_DEV", "POWERTOOLS_METRICS_DISABLED")
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


def _loopback_only(environ: MutableMapping[str, str]) -> None:
    """Keep every call of this process on 127.0.0.1 (``close`` restores the environment).

    Drops the variables that redirect boto3 (``AWS_ENDPOINT_URL_<SERVICE>`` included)
    and the Powertools switches no deployed function would have, and adds loopback to
    ``NO_PROXY``: with a corporate ``HTTP(S)_PROXY`` set, calls to the moto server would
    otherwise go to the proxy.
    """
    for name in [n for n in environ if n.startswith("AWS_ENDPOINT_URL_")]:
        del environ[name]
    for name in (*_REDIRECTING_VARIABLES, *_SHELL_ONLY_VARIABLES):
        environ.pop(name, None)
    for name in ("NO_PROXY", "no_proxy"):
        hosts = [h.strip() for h in environ.get(name, "").split(",") if h.strip()]
        environ[name] = ",".join([*hosts, *(h for h in _LOOPBACK_HOSTS if h not in hosts)])


def _reset_moto() -> None:
    """Every emulated service back to empty, as moto's ``/moto-api/reset`` endpoint does.

    Called in this thread, not over HTTP through the server's: at a Ctrl-C the server's
    request threads may wait on a moto lock the interrupted main thread still holds (an
    RLock, which this thread may take again), and the clean-up must not wait on them.
    """
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()


def _fill_placeholders(document: Any) -> int:
    """Replace empty strings with random local values; return how many were filled."""
    filled = 0
    if isinstance(document, dict):
        for key, value in document.items():
            if value == "":
                document[key] = f"local-{key}-{_random.token_urlsafe(12)}"
                filled += 1
            else:
                filled += _fill_placeholders(value)
    return filled


_SECRET_KEYS = frozenset({"password", "signingKey", "apiKey", "secretKey", "token"})


def _secret_leaves(document: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(document, dict):
        for key, value in document.items():
            if key in _SECRET_KEYS and isinstance(value, str):
                found.add(value)
            else:
                found |= _secret_leaves(value)
    return found
