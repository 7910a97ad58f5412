//! The command line: the clap types. Their doc comments are the help text `desk --help` prints.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "desk",
    version,
    about = "Boarding Desk from the command line: the same use cases as the app window",
    after_help = "Exit codes: 0 ok, 1 user error, 2 internal error.\n\
                  The data folder is --data-dir, else $BOARDING_DESK_DATA_DIR, else the OS data dir."
)]
pub(crate) struct Cli {
    /// Folder holding the vault (default: $BOARDING_DESK_DATA_DIR, else the OS data dir)
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,

    /// Print machine-readable JSON instead of text (errors too, as {"error":{code,message}})
    #[arg(long, global = true)]
    pub(crate) json: bool,

    /// Who signs in for verbs that need a session (the password is prompted or read from stdin)
    #[arg(long, global = true, value_name = "USERNAME")]
    pub(crate) user: Option<String>,

    /// Authenticator code for the sign-in (prompted or read from stdin when absent)
    #[arg(long, global = true, value_name = "CODE")]
    pub(crate) code: Option<String>,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Show the version, the data folder and the vault's state
    Info,
    /// Create the vault and its first admin; prints the recovery key and the authenticator secret
    Init {
        /// The first admin's username
        #[arg(long)]
        username: String,
    },
    /// Manage users (admin)
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// The audit log (admin, auditor)
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Sign in once and keep the session in a background agent for the verbs that follow (no
    /// password or code per verb) until `desk lock` or the idle limit
    Unlock,
    /// Stop the session agent `desk unlock` started (its keys go with it)
    Lock,
    /// The agent process itself (started by `unlock`)
    #[command(hide = true)]
    SessionAgent,
    /// Re-encrypt the vault file under a new random key (admin)
    RotateKey,
    /// Replace the recovery key (admin); prints the new one once, the old one stops working
    RotateRecoveryKey {
        /// Split it among admins: `M-of-N` prints N shares of which any M give it back
        /// (recovery then takes M shares, one per line or separated by commas)
        #[arg(long, value_parser = split_spec)]
        split: Option<(u8, u8)>,
    },
    /// Bind sign-ins to this desk's OS keychain (Secret Service), or unbind them (admin; your
    /// password is asked again). Off by default; members are bound at their next sign-in
    Keychain {
        #[command(subcommand)]
        action: KeychainAction,
    },
    /// The team store, PostgreSQL shared by many desks (docs/TEAM.md): the DBA's steps that
    /// open no vault, creating a team, joining one, and the code a new desk joins with. The
    /// URL's password, when it has none, is $PGPASSWORD
    Team {
        #[command(subcommand)]
        action: TeamAction,
    },
    /// Give a user a new password with the recovery key (both read from a prompt or stdin)
    Recover {
        /// Whose password to reset
        #[arg(long)]
        username: String,
    },
    /// Write an encrypted archive of the vault (admin); it opens only with an admin's password
    /// or the recovery key
    Backup { file: PathBuf },
    /// List the archives in a folder (admin; by default the data folder's backups/), marking
    /// those taken before a key rotation and saying what still opens them
    Backups {
        #[arg(long = "in")]
        folder: Option<PathBuf>,
    },
    /// List the blocklist (admins, auditors): what was blocked, why, on which legal basis and
    /// until when — never a value
    Blocklist {
        /// Skip this many entries (pages of 200, newest first)
        #[arg(long, default_value_t = 0)]
        offset: u32,
    },
    /// Restore an archive into an empty data folder (checked whole before anything is written);
    /// authorised by --user's password or, with --recovery-key, the recovery key (prompted or stdin)
    Restore {
        file: PathBuf,
        /// The empty folder to restore into
        #[arg(long)]
        into: PathBuf,
        #[arg(long)]
        recovery_key: bool,
    },
    /// Import complete applications from a CSV or JSON file (format: docs/IMPORT.md);
    /// exits 1 when any row was rejected, after importing the good ones
    Import {
        /// The file (.csv, or .json in Stripe's Accounts/Persons shape)
        file: PathBuf,
        /// Skip (rather than import with a warning) an application whose EIN, SSN/ITIN or bank
        /// account is already in the vault or earlier in the file
        #[arg(long)]
        skip_duplicates: bool,
    },
    /// Applications: list and show (sensitive values masked)
    Application {
        #[command(subcommand)]
        action: ApplicationAction,
    },
    /// Demo data: realistic valid applications, the same for the same seed
    Demo {
        #[command(subcommand)]
        action: DemoAction,
    },
    /// Sanctions list versions: import OFAC's CSV files (admin), show what is loaded
    Lists {
        #[command(subcommand)]
        action: ListsAction,
    },
    /// Screen a name against the loaded sanctions lists, with the reasons for each hit
    Screen {
        name: String,
        /// Year (or full date, YYYY-MM-DD) of birth
        #[arg(long)]
        dob: Option<String>,
        /// Country (ISO code or name)
        #[arg(long)]
        country: Option<String>,
    },
    /// Screen every application still in play that was not screened against the loaded lists
    Rescreen,
    /// The review queue: list, show one with its score breakdown, take, decide
    Review {
        #[command(subcommand)]
        action: ReviewAction,
    },
    /// GDPR (admin): erasure requests under AML retention, legal holds, subject access exports
    Gdpr {
        #[command(subcommand)]
        action: GdprAction,
    },
    /// AML retention (admin): the period, and the run that erases records past it
    Retention {
        #[command(subcommand)]
        action: RetentionAction,
    },
    /// Risk rules and the screening threshold (admin)
    Rules {
        #[command(subcommand)]
        action: RulesAction,
    },
    /// The boarding outbox: status, retry, cancel, fix a refused field, drain it now
    Boarding {
        #[command(subcommand)]
        action: BoardingAction,
    },
    /// The payment platform connection: show, set (admin), test (admin)
    Platform {
        #[command(subcommand)]
        action: PlatformAction,
    },
    /// Boarded merchants and what the platform requires of them
    Merchants {
        #[command(subcommand)]
        action: MerchantsAction,
    },
    /// Print a line each time the queue, the merchants, the users, the settings or the lists
    /// change (another desk's take or decision, the boarding worker): topic names only. Signs
    /// in itself, even with a session agent running, and holds its session while it runs
    Watch {
        /// Stop after this many seconds (default: until interrupted or the idle lock)
        #[arg(long = "for", value_name = "SECONDS")]
        seconds: Option<u64>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum BoardingAction {
    /// Jobs (unfinished first) with step, attempts, next retry and last error
    Status {
        /// queued, retrying, needs_fix, done or cancelled
        #[arg(long)]
        state: Option<String>,
    },
    /// Send a waiting job now, or resume a cancelled or refused one unchanged
    Retry { job: String },
    /// Stop a job (the application is marked boarding failed)
    Cancel { job: String },
    /// Correct the field the platform refused (new value read from stdin) and send again
    Fix {
        job: String,
        #[arg(long)]
        field: String,
    },
    /// Send every due job now and wait until none is queued or retrying
    Drain {
        /// Give up waiting after this many seconds
        #[arg(long, default_value_t = 600)]
        timeout: u64,
        /// Seconds one request may take before it counts as lost (and is resent)
        #[arg(long, default_value_t = 20)]
        request_timeout: u64,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum PlatformAction {
    /// The platform URL, the masked key and the write rate in force
    Show,
    /// Point at a platform (admin); the secret key is read from stdin with --key-from-stdin
    Set {
        #[arg(long)]
        url: String,
        /// Writes per second (Stripe: 100 live, 25 test mode)
        #[arg(long, default_value_t = 25.0)]
        rate: f64,
        #[arg(long)]
        key_from_stdin: bool,
    },
    /// One authenticated request to the platform (admin)
    Test,
}

#[derive(Debug, Subcommand)]
pub(crate) enum MerchantsAction {
    /// Boarded merchants, open requirements first
    List,
    /// Pull one merchant's status from the platform now
    Sync { application_id: String },
    /// Restrict (hold payouts), suspend (no charges), reinstate or terminate (admin); the
    /// platform is updated through the outbox
    Act {
        application_id: String,
        /// restrict, suspend, reinstate or terminate
        action: String,
        /// A reason code (the command lists them when it is wrong)
        #[arg(long)]
        reason: String,
        #[arg(long)]
        note: String,
        /// With terminate: add the EIN, owners' SSNs and bank account to the blocklist, kept
        /// on this legal basis (fraud_prevention, aml_record_keeping, card_network_rules)
        #[arg(long, value_name = "BASIS")]
        blocklist: Option<String>,
    },
    /// Every boarded merchant (no identifiers) to stdout as CSV or JSON (admins, auditors)
    Export {
        #[arg(long, default_value = "csv")]
        format: String,
    },
    /// Set the monthly volume cap and maximum ticket (admin; blank for no limit)
    Limits {
        application_id: String,
        #[arg(long, default_value = "")]
        monthly_cap: String,
        #[arg(long, default_value = "")]
        max_ticket: String,
    },
    /// Edit a merchant's details from a JSON file holding the whole form (as `desk application
    /// show --json` prints it; masked values kept as printed keep the stored ones). Minor
    /// changes go to the platform; material ones wait for review (admin)
    Edit {
        application_id: String,
        #[arg(long)]
        file: PathBuf,
        #[arg(long)]
        note: String,
    },
    /// A merchant's edits and the one waiting for review, with what blocks it
    Changes { application_id: String },
    /// Accept the change waiting for review (not its author); the platform is updated
    Accept {
        application_id: String,
        #[arg(long)]
        note: String,
    },
    /// Reject the change waiting for review; the previous details are put back
    Reject {
        application_id: String,
        #[arg(long)]
        note: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum GdprAction {
    /// Ask to erase an application's data: recorded; refused with the reason (and the date,
    /// under retention) or done by destroying its keys
    Erase { application_id: String },
    /// Put an application on legal hold (--reason) or lift it (--lift)
    Hold {
        application_id: String,
        #[arg(long, required_unless_present = "lift")]
        reason: Option<String>,
        #[arg(long)]
        lift: bool,
    },
    /// Everything held about a subject, found by application id, EIN, SSN/ITIN or email:
    /// writes subject-….json and subject-….html (unmasked; 0600) into --out
    Export {
        /// application, ein, ssn or email
        #[arg(long)]
        by: String,
        value: String,
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeychainAction {
    /// Whether sign-ins are bound, how many members are, and whether this desk has a keychain
    Status,
    /// Bind: a secret kept in this desk's keychain is mixed into every member's key (yours at
    /// once, the others' at their next sign-in): a copied data folder plus a password opens
    /// nothing without this desk's unlocked keychain. The recovery key is never bound
    Bind,
    /// Unbind: sign-ins no longer need the keychain (yours at once, the others' at their next
    /// sign-in on this desk)
    Unbind,
}

#[derive(Debug, Subcommand)]
pub(crate) enum TeamAction {
    /// Bring the store's schema to this build, as the owner role (applies only what it lacks)
    Migrate {
        /// postgres://OWNER@HOST/DATABASE (TLS is required for a host not on this machine)
        #[arg(long, env = "BOARDING_DESK_TEAM_URL", value_name = "URL")]
        url: String,
    },
    /// Connect as a desk would: the store's version, TLS, and that the desks' role can change
    /// no schema
    Check {
        /// postgres://DESKS_ROLE@HOST/DATABASE
        #[arg(long, env = "BOARDING_DESK_TEAM_URL", value_name = "URL")]
        url: String,
    },
    /// Create a team on a migrated, empty store, this data folder its first desk, with its
    /// first admin (as `init` does for a local vault)
    Create {
        /// postgres://DESKS_ROLE@HOST/DATABASE
        #[arg(long, env = "BOARDING_DESK_TEAM_URL", value_name = "URL")]
        url: String,
        #[arg(long)]
        username: String,
    },
    /// Make this data folder a desk of a team, with the join code an admin's desk shows
    /// (`desk team code`); its members then sign in here
    Join {
        /// postgres://DESKS_ROLE@HOST/DATABASE
        #[arg(long, env = "BOARDING_DESK_TEAM_URL", value_name = "URL")]
        url: String,
        /// The join code (base32 groups; case, spaces and dashes do not matter)
        #[arg(long)]
        code: String,
    },
    /// The code a new desk joins this team with (admin)
    Code,
}

#[derive(Debug, Subcommand)]
pub(crate) enum RetentionAction {
    /// List (--dry-run) or erase every record past retention and not on hold
    Run {
        #[arg(long)]
        dry_run: bool,
    },
    /// Set the retention period in years (1–10; 5 by default)
    Years { years: u32 },
    /// Set how many days generated exports stay in the data folder's exports/ (1–365; 30 by
    /// default); older ones are deleted at sign-in and while the app is open
    ExportDays { days: u32 },
    /// Set how many years a new blocklist entry is kept (1–10; 5 by default); expired entries
    /// are deleted at sign-in
    BlocklistYears { years: u32 },
    /// Show the daily scheduled purge (the app runs it while the vault is open), or switch it
    /// `on` or `off` (admin)
    Schedule { state: Option<String> },
}

#[derive(Debug, Subcommand)]
pub(crate) enum RulesAction {
    /// Print the rule set in force (JSON: points per factor, limits, four-eyes score)
    Show,
    /// Propose a new rule set from a JSON file (checked: known factors, points 0–100, limits
    /// in range); another admin confirms it with `rules confirm risk_rules`
    Set { file: PathBuf },
    /// What a rule set in a JSON file would do to the queue (how many change band), unsaved
    Preview { file: PathBuf },
    /// The factors and what each means
    Factors,
    /// Propose a new sanctions hit threshold (0.70–0.99); another admin confirms it
    Threshold { value: f64 },
    /// Changes waiting for a second admin
    Pending,
    /// Confirm another admin's proposed change (risk_rules or screening_threshold)
    Confirm { key: String },
    /// Withdraw or reject a proposed change
    Withdraw { key: String },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ReviewAction {
    /// Riskiest first (or --oldest); filter by band, mine, with hits
    List {
        #[arg(long, value_parser = risk_band)]
        band: Option<api::domain::review::RiskBand>,
        #[arg(long)]
        mine: bool,
        #[arg(long)]
        with_hits: bool,
        #[arg(long)]
        oldest: bool,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Score breakdown, hits and decisions of one application
    Show { id: String },
    /// Take an application for review (assign to me; --take-over someone else's)
    Take {
        id: String,
        #[arg(long)]
        take_over: bool,
    },
    /// Decide: approve | decline | request_info, with reason codes and a note
    Decide {
        id: String,
        /// approve, decline or request_info
        decision: String,
        /// Reason code (repeat for several)
        #[arg(long = "reason", required = true)]
        reasons: Vec<String>,
        #[arg(long)]
        note: String,
        /// For request_info: a form field to fix (repeat for several)
        #[arg(long = "field")]
        fields: Vec<String>,
        /// For decline: add the EIN, SSNs and bank account to the blocklist, kept on this legal
        /// basis (fraud_prevention, aml_record_keeping, card_network_rules)
        #[arg(long, value_name = "BASIS")]
        blocklist: Option<String>,
        /// For a second approval: a false-positive disposition recorded after the first
        /// approval that you reviewed (repeat for several; `review hits` lists them)
        #[arg(long = "confirm-hit")]
        confirmed_hits: Vec<String>,
    },
    /// Add an internal note to an application (sealed; the audit log names only the note's id)
    Note {
        id: String,
        #[arg(long)]
        text: String,
    },
    /// An application's sanctions hits: the list entry each names, the score, the disposition
    Hits { id: String },
    /// Record whether a hit is the listed party (--true-match) or not (--false-positive)
    Disposition {
        id: String,
        hit: String,
        #[arg(
            long,
            conflicts_with = "false_positive",
            required_unless_present = "false_positive"
        )]
        true_match: bool,
        #[arg(long)]
        false_positive: bool,
        #[arg(long)]
        note: String,
    },
    /// Sanctions reports of every confirmed match (admins, auditors): JSON + HTML, 0600
    Report {
        /// Only this application's
        #[arg(long)]
        id: Option<String>,
        /// The folder to write both files into
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ListsAction {
    /// Import sdn.csv/alt.csv/add.csv/sdn_comments.csv and/or cons_*.csv from a folder
    Import { dir: PathBuf },
    /// List versions: source, entries, when, by whom, active
    Show,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ApplicationAction {
    /// Newest first; filter by status, MCC, or search words of the name or an exact EIN
    List {
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        mcc: Option<String>,
        /// Created on or after this day (YYYY-MM-DD, UTC)
        #[arg(long, value_name = "DATE")]
        created_from: Option<String>,
        /// Created on or before this day (YYYY-MM-DD, UTC)
        #[arg(long, value_name = "DATE")]
        created_to: Option<String>,
        /// The start of any word of the legal name or DBA ("acme wid"), or an EIN (12-3456789)
        #[arg(long)]
        search: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// One application, masked, with its history and documents
    Show { id: String },
}

#[derive(Debug, Subcommand)]
pub(crate) enum DemoAction {
    /// Store N demo applications in the vault (admin, underwriter)
    Seed {
        #[arg(long)]
        count: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Print N demo applications as an import CSV (no vault needed)
    Csv {
        #[arg(long)]
        count: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum UserAction {
    /// List users with role and status
    List,
    /// Add a user; prints a one-time password they must change at first sign-in
    Add {
        username: String,
        /// admin, lead (underwriter lead: may give second approvals), underwriter or auditor
        #[arg(long)]
        role: String,
    },
    /// Disable a user (they can no longer unlock the vault)
    Disable { username: String },
    /// Re-enable a user; prints a one-time password
    Enable { username: String },
    /// Issue a new one-time password
    ResetPassword { username: String },
    /// Clear the user's authenticator; they enrol again at next sign-in
    ResetTotp { username: String },
    /// Lift a sign-in lockout
    Unlock { username: String },
}

#[derive(Debug, Subcommand)]
pub(crate) enum AuditAction {
    /// Check the hash chain, every signature and the signed checkpoints end to end; exit 1 if
    /// it is broken
    Verify {
        /// Also check against this file of signed checkpoints (one kept beside a backup, or one
        /// `desk audit checkpoint` wrote)
        #[arg(long)]
        checkpoints: Option<PathBuf>,
    },
    /// Sign a checkpoint of the log as it stands now (admins, auditors) and add it to FILE
    /// (keep that file away from the data folder); printed when no FILE is given
    Checkpoint {
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// List the signed checkpoints the vault keeps, newest first
    Checkpoints,
    /// Show the newest entries
    List {
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Write the entries between two dates (inclusive, UTC) to stdout as CSV or JSON
    Export {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[arg(long, default_value = "csv")]
        format: String,
    },
}

/// `--split M-of-N`.
fn split_spec(text: &str) -> Result<(u8, u8), String> {
    let (m, n) = text
        .split_once("-of-")
        .ok_or_else(|| "must be M-of-N, e.g. 3-of-5".to_string())?;
    let parse = |t: &str| {
        t.trim()
            .parse::<u8>()
            .map_err(|_| "must be M-of-N, e.g. 3-of-5".to_string())
    };
    Ok((parse(m)?, parse(n)?))
}

/// `--band`: one of the risk bands, refused by clap otherwise.
fn risk_band(text: &str) -> Result<api::domain::review::RiskBand, String> {
    api::domain::review::RiskBand::parse(text).ok_or_else(|| "must be low, medium or high".into())
}
