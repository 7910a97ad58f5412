//! The team store's schema: its migrations (refinery, `migrations/`, append-only), run by the
//! owner role, and the check each desk makes that its own role cannot change the schema
//! (docs/adr/0001-team-store.md, §7; docs/TEAM.md).

use super::connect;
use super::url::StoreUrl;
use crate::{Result, VaultError};

mod embedded {
    refinery::embed_migrations!("src/team/migrations");
}

/// The schema every table lives in.
pub const SCHEMA: &str = "desk";
/// The role the desks connect as: the app's tables only, no DDL.
pub const APP_ROLE: &str = "boarding_desk_app";

/// The migrations this build knows, oldest first, as `V<n>__<name>`.
pub fn known() -> Vec<String> {
    embedded::migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| m.to_string())
        .collect()
}

/// What `desk team migrate` did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Migrated {
    /// The migrations applied now, oldest first.
    pub applied: Vec<String>,
    /// The store's version after the run.
    pub version: u32,
}

fn sql(context: &'static str) -> impl FnOnce(postgres::Error) -> VaultError {
    VaultError::store(context)
}

/// Brings the store at `owner` to this build's schema, as the owner role: creates the `desk`
/// schema if needed and applies the migrations it lacks, each in its own transaction.
/// Refuses a store whose applied migrations differ from this build's (a different or newer
/// build migrated it).
pub fn migrate(owner: &StoreUrl) -> Result<Migrated> {
    crate::sql::off_runtime(|| migrate_blocking(owner))
}

fn migrate_blocking(owner: &StoreUrl) -> Result<Migrated> {
    let mut client = connect::connect(owner)?;
    // One migration run at a time (released when this connection closes).
    client
        .batch_execute("SELECT pg_advisory_lock(hashtext('boarding-desk/migrate'))")
        .map_err(sql("waiting for another migration"))?;
    let app_role = client
        .query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&APP_ROLE])
        .map_err(sql("looking up the desks' role"))?;
    if app_role.is_none() {
        return Err(VaultError::invalid(
            "team store",
            format!(
                "the role {APP_ROLE} does not exist: create it first (docs/TEAM.md, \"Roles\")"
            ),
        ));
    }
    let owner_of_schema: Option<String> = client
        .query_opt(
            "SELECT pg_get_userbyid(nspowner)::text FROM pg_namespace WHERE nspname = $1",
            &[&SCHEMA],
        )
        .map_err(sql("looking up the schema"))?
        .map(|r| r.get(0));
    let me: String = client
        .query_one("SELECT current_user::text", &[])
        .map_err(sql("looking up the database user"))?
        .get(0);
    match owner_of_schema {
        None => client
            .batch_execute(&format!("CREATE SCHEMA {SCHEMA}"))
            .map_err(sql("creating the schema"))?,
        Some(owner) if owner == me => {}
        Some(_) => {
            return Err(VaultError::invalid(
                "team store",
                format!("the schema {SCHEMA} belongs to another role: migrate as its owner"),
            ))
        }
    }
    client
        .batch_execute(&format!("SET search_path TO {SCHEMA}"))
        .map_err(sql("choosing the schema"))?;
    let report = embedded::migrations::runner()
        .set_abort_divergent(true)
        .set_abort_missing(true)
        .run(&mut client)
        .map_err(|e| VaultError::Storage {
            context: "migrating the team store",
            message: e.to_string(),
        })?;
    let applied = report
        .applied_migrations()
        .iter()
        .map(|m| m.to_string())
        .collect();
    Ok(Migrated {
        applied,
        version: version(&mut client)?,
    })
}

/// The newest migration applied to the store (0 for none).
fn version(client: &mut postgres::Client) -> Result<u32> {
    let row = client
        .query_one(
            &format!(
                "SELECT COALESCE(MAX(version), 0)::BIGINT FROM {SCHEMA}.refinery_schema_history"
            ),
            &[],
        )
        .map_err(sql("reading the store's version"))?;
    Ok(u32::try_from(row.get::<_, i64>(0)).unwrap_or(0))
}

/// What a desk finds when it connects: the store's version and whether its role is as narrow
/// as docs/TEAM.md says.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Standing {
    /// The database role the desk connected as.
    pub role: String,
    /// Whether this connection runs over TLS, as the server sees it.
    pub tls: bool,
    pub version: u32,
    /// The newest version this build knows.
    pub expected: u32,
}

/// Checks, on a desk's connection, that the store is migrated to this build and that the role
/// it connects as is not a superuser and can create nothing; sets the search path.
pub fn check_desk_role(client: &mut postgres::Client) -> Result<Standing> {
    crate::sql::off_runtime(|| check_blocking(client))
}

fn check_blocking(client: &mut postgres::Client) -> Result<Standing> {
    // Everything that would let the desks' role change the schema or what is append-only:
    // attributes, memberships (a NOINHERIT one still allows SET ROLE), ownership, TEMP, and
    // grants wider than the migrations give.
    let row = client
        .query_one(
            "SELECT r.rolsuper, r.rolcreaterole, r.rolcreatedb, current_user::text,
                    has_database_privilege(current_database(), 'CREATE'),
                    COALESCE((SELECT bool_or(has_schema_privilege(n.oid, 'CREATE'))
                              FROM pg_namespace n
                              WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'), FALSE),
                    EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1),
                    r.rolbypassrls,
                    EXISTS (SELECT 1 FROM pg_auth_members m WHERE m.member = r.oid),
                    has_database_privilege(current_database(), 'TEMP'),
                    EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                            WHERE n.nspname = $1 AND pg_has_role(c.relowner, 'MEMBER')),
                    COALESCE(has_table_privilege(to_regclass('desk.audit'), 'UPDATE,DELETE,TRUNCATE'), FALSE)
                    OR COALESCE(has_table_privilege(to_regclass('desk.audit_checkpoints'), 'UPDATE,DELETE,TRUNCATE'), FALSE)
                    OR COALESCE(has_table_privilege(to_regclass('desk.erasure_requests'), 'UPDATE,DELETE,TRUNCATE'), FALSE)
                    OR COALESCE(has_table_privilege(to_regclass('desk.keyring'), 'DELETE,TRUNCATE'), FALSE)
                    OR COALESCE(has_table_privilege(to_regclass('desk.sign_in_events'), 'UPDATE,DELETE,TRUNCATE'), FALSE)
                    OR COALESCE(has_table_privilege(to_regclass('desk.refinery_schema_history'), 'INSERT,UPDATE,DELETE,TRUNCATE'), FALSE),
                    COALESCE((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), FALSE)
             FROM pg_roles r WHERE r.rolname = current_user",
            &[&SCHEMA],
        )
        .map_err(sql("checking the desks' role"))?;
    let (superuser, createrole, createdb): (bool, bool, bool) =
        (row.get(0), row.get(1), row.get(2));
    let role: String = row.get(3);
    let (create_db, create_schema, has_schema): (bool, bool, bool) =
        (row.get(4), row.get(5), row.get(6));
    let (bypass_rls, member, temp, owns, wide): (bool, bool, bool, bool, bool) =
        (row.get(7), row.get(8), row.get(9), row.get(10), row.get(11));
    let tls: bool = row.get(12);
    let too_wide = if superuser {
        Some("is a superuser")
    } else if createrole || createdb {
        Some("may create roles or databases")
    } else if create_db {
        Some("may create schemas in the database")
    } else if create_schema {
        Some("may create tables in a schema (revoke CREATE on it, public included)")
    } else if bypass_rls {
        Some("bypasses row security")
    } else if member {
        Some("is a member of another role (it could act as that role)")
    } else if temp {
        Some("may create temporary tables (revoke ALL on the database from PUBLIC)")
    } else if owns {
        Some("owns tables of the store (only the owner role may)")
    } else if wide {
        Some("may change or remove audit entries, checkpoints, erasure records, sign-in events or the migration history, or remove the keyring")
    } else {
        None
    };
    if let Some(problem) = too_wide {
        return Err(VaultError::invalid(
            "team store",
            format!(
                "the desks' database role {problem}: a desk connects only as a role that cannot change the schema (docs/TEAM.md, \"Roles\")"
            ),
        ));
    }
    if !has_schema {
        return Err(VaultError::invalid(
            "team store",
            "the store has no schema yet: run `desk team migrate` as the owner role first",
        ));
    }
    client
        .batch_execute(&format!("SET search_path TO {SCHEMA}"))
        .map_err(sql("choosing the schema"))?;
    let version = version(client)?;
    let expected = known().len() as u32;
    if version != expected {
        return Err(VaultError::invalid(
            "team store",
            if version < expected {
                format!("the store is at version {version} and this desk needs {expected}: run `desk team migrate` with this build")
            } else {
                format!("the store is at version {version}, newer than this desk knows ({expected}): update this desk")
            },
        ));
    }
    Ok(Standing {
        role,
        tls,
        version,
        expected,
    })
}
