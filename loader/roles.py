"""python -m loader.roles: bring the schema up to date (which creates the service roles) and
set their passwords from CATALOG_DB_PASSWORD and RECOMMENDER_DB_PASSWORD, where given.

Run it as the database owner, like the loader. Locally, with trust authentication, the roles
need no password and this step is not needed.
"""

import argparse
import sys

from psycopg import sql
from pydantic import SecretStr, ValidationError, ValidationInfo, field_validator

from common.db import engine_at, sqlalchemy_url
from common.settings import DatabaseSettings, refuse_placeholder
from loader.load import migrate

ROLES = {"catalog": "streamrec_catalog", "recommender": "streamrec_recommender"}


def role_url(owner_url: str, service: str, password: str | None = None) -> str:
    """The owner's URL, with the service's role, and its password if it has one (none for
    trust authentication)."""
    url = sqlalchemy_url(owner_url).set(username=ROLES[service], password=password)
    return url.render_as_string(hide_password=False)


def set_passwords(owner_url: str, passwords: dict[str, str]) -> list[str]:
    with (
        engine_at(owner_url, application_name="loader.roles") as engine,
        engine.connect() as conn,
    ):
        migrate(conn)
        driver = conn.connection.driver_connection
        for service, password in passwords.items():
            statement = sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                sql.Identifier(ROLES[service]), sql.Literal(password)
            )
            conn.exec_driver_sql(statement.as_string(driver))
        conn.commit()
    return [ROLES[s] for s in passwords]


class RoleSettings(DatabaseSettings):
    catalog_db_password: SecretStr | None = None
    recommender_db_password: SecretStr | None = None

    @field_validator("catalog_db_password", "recommender_db_password", mode="before")
    @classmethod
    def _real(cls, value: object, info: ValidationInfo) -> object:
        """Empty is unset; the placeholders of .env.example are refused."""
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if text is None or (isinstance(text, str) and not text.strip()):
            return None
        refuse_placeholder(info.field_name.upper(), str(text))
        return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loader.roles", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--database-url", help="the owner's URL (default: $DATABASE_URL)")
    args = parser.parse_args(argv)
    try:
        settings = RoleSettings()
    except ValidationError as exc:
        print(f"roles: error: {exc.errors()[0]['msg']}", file=sys.stderr)
        return 1
    url = args.database_url or settings.resolved_database_url()
    given = {
        "catalog": settings.catalog_db_password,
        "recommender": settings.recommender_db_password,
    }
    passwords = {service: secret.get_secret_value() for service, secret in given.items() if secret}
    done = set_passwords(url, passwords)
    print(f"roles ready; passwords set for: {', '.join(done) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
