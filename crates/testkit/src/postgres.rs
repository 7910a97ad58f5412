//! A throwaway PostgreSQL cluster of the test's own (issue 17; docs/adr/0001-team-store.md, §8):
//! `initdb` into a temp folder (as the `postgres` OS user when the tests run as root, since
//! PostgreSQL refuses to run as root), started on a free loopback port with its socket in the
//! same folder, stopped when dropped. Nothing of the machine's own clusters is touched.
//! `scripts/install-prereqs.sh` installs `postgresql`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    socket: PathBuf,
    pub port: u16,
    as_postgres: bool,
    /// The CA that signed the server's certificate, when the cluster was started with TLS.
    pub ca_pem: Option<PathBuf>,
    /// The options `pg_ctl start` passes the server (`restart` reuses them).
    options: String,
    _dir: tempfile::TempDir,
}

/// The newest installed server's `bin` folder (`/usr/lib/postgresql/<major>/bin` on Debian),
/// else whatever `initdb` is on the PATH.
fn server_bin() -> PathBuf {
    let newest = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let major: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((major, bin))
        })
        .max_by_key(|(major, _)| *major);
    newest.map(|(_, bin)| bin).unwrap_or_default()
}

fn is_root() -> bool {
    effective_uid() == 0
}

/// The effective user id, read from `/proc` (the test kit keeps no system-call crate).
fn effective_uid() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(u32::MAX)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Cluster {
    /// A cluster that takes plaintext connections on loopback.
    pub fn start() -> Self {
        Self::start_with(false)
    }

    /// A cluster that also takes TLS, with a server certificate for `localhost` signed by a
    /// throwaway CA (`ca_pem`), and one other CA's certificate beside it (`other_ca.pem`) that
    /// signed nothing of this server.
    pub fn start_tls() -> Self {
        Self::start_with(true)
    }

    fn start_with(tls: bool) -> Self {
        let bin = server_bin();
        let dir = tempfile::tempdir().expect("a temp folder for the cluster");
        let as_postgres = is_root();
        if as_postgres {
            // The server runs as `postgres`: it must own its folder.
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .expect("chown");
            assert!(
                status.success(),
                "the cluster's folder could not be given to postgres"
            );
        }
        let data = dir.path().join("data");
        let socket = dir.path().to_path_buf();
        let cluster = Self {
            bin,
            data,
            socket,
            port: free_port(),
            as_postgres,
            ca_pem: None,
            options: String::new(),
            _dir: dir,
        };
        let mut cluster = cluster;
        let out = cluster.run(
            "initdb",
            &[
                "-D",
                path(&cluster.data),
                "--auth=trust",
                "--username=postgres",
                "--encoding=UTF8",
                "--no-sync",
            ],
        );
        assert!(out.status.success(), "initdb: {}", text(&out));
        cluster.options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            cluster.port,
            path(&cluster.socket)
        );
        if tls {
            let tls_options = cluster.certify();
            cluster.options.push_str(&tls_options);
        }
        cluster.pg_ctl_start();
        cluster
    }

    /// Writes the server's key and certificate into the data folder and the CAs beside it;
    /// returns the server options that turn TLS on.
    fn certify(&mut self) -> String {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
        let ca = |name: &str| {
            let key = KeyPair::generate().expect("a CA key");
            let mut params = CertificateParams::new(Vec::new()).expect("CA parameters");
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.distinguished_name.push(DnType::CommonName, name);
            let cert = params.self_signed(&key).expect("a CA certificate");
            (cert.pem(), Issuer::new(params, key))
        };
        let (ca_pem, issuer) = ca("boarding desk test CA");
        let (other_pem, _) = ca("another CA");
        let key = KeyPair::generate().expect("a server key");
        let server = CertificateParams::new(vec!["localhost".to_string()])
            .expect("server parameters")
            .signed_by(&key, &issuer)
            .expect("a server certificate");
        let write = |name: &str, body: &str, private: bool| {
            let file = self.data.join(name);
            std::fs::write(&file, body).expect("a certificate file");
            if private {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                    .expect("a private key's mode");
            }
            file
        };
        let cert_file = write("server.crt", &server.pem(), false);
        let key_file = write("server.key", &key.serialize_pem(), true);
        if self.as_postgres {
            let status = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&cert_file)
                .arg(&key_file)
                .status()
                .expect("chown");
            assert!(
                status.success(),
                "the server's key could not be given to postgres"
            );
        }
        let ca_file = self.socket.join("ca.pem");
        std::fs::write(&ca_file, ca_pem).expect("the CA file");
        std::fs::write(self.socket.join("other_ca.pem"), other_pem).expect("the other CA file");
        self.ca_pem = Some(ca_file);
        format!(
            " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
            path(&cert_file),
            path(&key_file)
        )
    }

    fn pg_ctl_start(&self) {
        let log = self.socket.join("server.log");
        let out = self.run(
            "pg_ctl",
            &[
                "-D",
                path(&self.data),
                "-o",
                &self.options,
                "-l",
                path(&log),
                "-w",
                "-t",
                "30",
                "start",
            ],
        );
        assert!(
            out.status.success(),
            "pg_ctl start: {}\n{}",
            text(&out),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// Stops the server at once (`-m immediate`: connections are cut as a crash would).
    pub fn stop(&self) {
        let out = self.run(
            "pg_ctl",
            &["-D", path(&self.data), "-m", "immediate", "-w", "stop"],
        );
        assert!(out.status.success(), "pg_ctl stop: {}", text(&out));
    }

    /// Starts a stopped server again on the same port, with the same options.
    pub fn restart(&self) {
        self.pg_ctl_start();
    }

    /// A `postgres://` URL to database `db` as `user`, over loopback TCP.
    pub fn url_as(&self, user: &str, db: &str) -> String {
        format!("postgres://{user}@127.0.0.1:{}/{db}", self.port)
    }

    /// One cluster for the whole test process, started on first use. A static is never
    /// dropped, so a watchdog process stops the cluster and removes its folder once this
    /// process has exited.
    pub fn shared() -> &'static Cluster {
        static SHARED: std::sync::OnceLock<Cluster> = std::sync::OnceLock::new();
        SHARED.get_or_init(|| {
            let cluster = Cluster::start();
            cluster.watch(std::process::id());
            cluster
        })
    }

    fn watch(&self, pid: u32) {
        // Paths go in as positional arguments, never into the script's text; the watchdog
        // has a process group of its own, so a ^C or a CI timeout that stops the tests does
        // not stop it before it has stopped the cluster.
        let (runner, pg_ctl): (&str, PathBuf) = if self.as_postgres {
            ("runuser", self.bin.join("pg_ctl"))
        } else {
            ("env", self.bin.join("pg_ctl"))
        };
        let script = r#"while kill -0 "$1" 2>/dev/null; do sleep 1; done
if [ "$2" = runuser ]; then runuser -u postgres -- "$3" -D "$4" -m immediate -w stop
else "$3" -D "$4" -m immediate -w stop; fi >/dev/null 2>&1
rm -rf -- "$5""#;
        use std::os::unix::process::CommandExt;
        // Never waited for: it must outlive this process (init reaps it).
        #[allow(clippy::zombie_processes)]
        Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("sh")
            .arg(pid.to_string())
            .arg(runner)
            .arg(&pg_ctl)
            .arg(&self.data)
            .arg(&self.socket)
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the shared cluster's watchdog");
    }

    /// A database of its own for each caller of the shared cluster: `team_<n>`, set up as
    /// [`Cluster::team_database`] does and migrated by its owner.
    pub fn fresh_team_database(&self) -> TeamDatabase {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let name = format!(
            "team_{}",
            N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        );
        let db = self.team_database(&name);
        ::vault::team::schema::migrate(&db.owner.parse().expect("the owner's URL"))
            .expect("the team store migrated");
        db
    }

    /// A `postgres://` URL to database `db` as the superuser, over loopback TCP.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Sets up database `db` as docs/TEAM.md tells a DBA to: an owner role that owns it and
    /// migrates, the desks' role with nothing but `CONNECT`, `CREATE` on `public` revoked.
    /// Returns the URLs of the two roles (trust authentication: the cluster is the test's own).
    pub fn team_database(&self, db: &str) -> TeamDatabase {
        // Roles are the cluster's, not a database's: two tests making theirs at once would
        // race between the check and the create.
        static ROLES: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _one_at_a_time = ROLES.lock().unwrap_or_else(|e| e.into_inner());
        let roles = "DO $$ BEGIN
                IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'boarding_desk_owner') THEN
                    CREATE ROLE boarding_desk_owner LOGIN;
                END IF;
                IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'boarding_desk_app') THEN
                    CREATE ROLE boarding_desk_app LOGIN;
                END IF;
            END $$;";
        self.psql("postgres", roles).expect("the team roles");
        self.psql(
            "postgres",
            &format!("CREATE DATABASE {db} OWNER boarding_desk_owner"),
        )
        .expect("the team database");
        self.psql(
            db,
            &format!(
                "REVOKE ALL ON DATABASE {db} FROM PUBLIC;
                 GRANT CONNECT ON DATABASE {db} TO boarding_desk_app;
                 REVOKE CREATE ON SCHEMA public FROM PUBLIC;"
            ),
        )
        .expect("the team database's grants");
        TeamDatabase {
            name: db.to_string(),
            owner: self.url_as("boarding_desk_owner", db),
            app: self.url_as("boarding_desk_app", db),
        }
    }

    /// Runs `sql` through `psql` against database `db`; returns its unaligned, tuples-only output.
    pub fn psql(&self, db: &str, sql: &str) -> Result<String, String> {
        let out = Command::new(self.bin.join("psql"))
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d"])
            .arg(self.url(db))
            .args(["-c", sql])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("psql: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(text(&out))
        }
    }

    /// `pg_dump` of database `db` (schema and data, plain SQL): what a DBA's backup, or anyone
    /// who reads the store, holds.
    pub fn dump(&self, db: &str) -> Vec<u8> {
        let out = Command::new(self.bin.join("pg_dump"))
            .args(["--no-owner", "--no-privileges", "-d"])
            .arg(self.url(db))
            .stdin(Stdio::null())
            .output()
            .expect("pg_dump runs: scripts/install-prereqs.sh installs postgresql");
        assert!(out.status.success(), "pg_dump: {}", text(&out));
        out.stdout
    }

    fn run(&self, tool: &str, args: &[&str]) -> Output {
        let program = self.bin.join(tool);
        let mut cmd = if self.as_postgres {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(&program);
            cmd
        } else {
            Command::new(&program)
        };
        cmd.args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "{} ({e}): scripts/install-prereqs.sh installs postgresql",
                    program.display()
                )
            })
    }
}

/// The two URLs of a team database (`Cluster::team_database`).
pub struct TeamDatabase {
    /// The database's name, for [`Cluster::psql`] and [`Cluster::dump`].
    pub name: String,
    /// The owner role's: migrations.
    pub owner: String,
    /// The desks' role's: everything else.
    pub app: String,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.run(
            "pg_ctl",
            &["-D", path(&self.data), "-m", "immediate", "-w", "stop"],
        );
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 temp path")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_throwaway_cluster_starts_on_loopback_answers_and_is_gone_when_dropped() {
        let cluster = Cluster::start();
        let version = cluster.psql("postgres", "SHOW server_version_num").unwrap();
        assert!(
            version.parse::<u32>().unwrap() >= 140_000,
            "PostgreSQL 14 or later: {version}"
        );
        cluster
            .psql("postgres", "CREATE DATABASE desk_team")
            .unwrap();
        assert_eq!(
            cluster
                .psql(
                    "desk_team",
                    "CREATE TABLE t (v text); INSERT INTO t VALUES ('x'); SELECT count(*) FROM t"
                )
                .unwrap(),
            "1"
        );
        assert!(cluster.psql("desk_team", "SELEC nonsense").is_err());
        let url = cluster.url("postgres");
        let data = cluster.data.clone();
        drop(cluster);
        assert!(!data.exists(), "the cluster's folder is removed");
        let port = url.rsplit(':').next().unwrap().split('/').next().unwrap();
        assert!(
            std::net::TcpStream::connect(format!("127.0.0.1:{port}")).is_err(),
            "nothing listens on its port any more"
        );
    }
}
